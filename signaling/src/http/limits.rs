//! Rate limits per client address for the doors strangers can knock on:
//! facilitator login (password guessing) and member knocks (flooding the
//! waiting room). Token buckets, bounded in memory.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

/// Addresses tracked at most; the least recently seen is forgotten first.
const MAX_TRACKED: usize = 10_000;

/// A token bucket per address.
pub struct RateLimiter {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl RateLimiter {
    /// `burst` attempts at once, refilled at `per_minute`.
    pub fn new(burst: u32, per_minute: u32) -> Self {
        Self {
            burst: f64::from(burst),
            per_second: f64::from(per_minute) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `ip` may try now (and count the try).
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            let full = Duration::from_secs_f64(self.burst / self.per_second);
            buckets.retain(|_, (_, seen)| now.duration_since(*seen) < full);
            if buckets.len() >= MAX_TRACKED {
                if let Some(oldest) = buckets
                    .iter()
                    .min_by_key(|(_, (_, seen))| *seen)
                    .map(|(ip, _)| *ip)
                {
                    buckets.remove(&oldest);
                }
            }
        }
        let (tokens, seen) = buckets.entry(ip).or_insert((self.burst, now));
        let refill = now.duration_since(*seen).as_secs_f64() * self.per_second;
        *tokens = (*tokens + refill).min(self.burst);
        *seen = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The client's address, when the server was started with connect info
/// (requests built in tests have none, and are not limited).
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_is_allowed_then_the_rate() {
        let l = RateLimiter::new(3, 60);
        let ip: IpAddr = [192, 0, 2, 1].into();
        let other: IpAddr = [192, 0, 2, 2].into();
        let t = Instant::now();
        assert!((0..3).all(|_| l.allow(ip, t)));
        assert!(!l.allow(ip, t));
        assert!(l.allow(other, t), "limits are per address");
        assert!(
            l.allow(ip, t + Duration::from_secs(1)),
            "one per second refills"
        );
        assert!(!l.allow(ip, t + Duration::from_secs(1)));
    }
}
