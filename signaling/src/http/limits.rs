//! Rate limits per client address for the doors strangers can knock on:
//! facilitator login (password guessing) and member knocks (flooding the
//! waiting room). Token buckets, bounded in memory.
//!
//! Behind a reverse proxy every connection comes from the proxy, so one
//! stranger's attempts would use up everyone's allowance. Proxies the
//! operator names (`trusted_proxies`) may therefore say who the client is in
//! `X-Forwarded-For`; nobody else may. Client addresses serve the limits
//! only: they are never logged or stored.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use haven_sfu::MediaPlane;

use super::AppState;

/// Addresses tracked at most; the least recently seen is forgotten first.
const MAX_TRACKED: usize = 10_000;

/// A token bucket: `burst` at once, then `per_second`.
#[derive(Debug, Clone, Copy)]
pub struct Bucket {
    burst: f64,
    per_second: f64,
    tokens: f64,
    seen: Instant,
}

impl Bucket {
    /// A full bucket.
    pub fn new(burst: u32, per_second: f64, now: Instant) -> Self {
        Self {
            burst: f64::from(burst),
            per_second,
            tokens: f64::from(burst),
            seen: now,
        }
    }

    /// Whether one more may go now (and count it).
    pub fn take(&mut self, now: Instant) -> bool {
        let refill = now.saturating_duration_since(self.seen).as_secs_f64() * self.per_second;
        self.tokens = (self.tokens + refill).min(self.burst);
        self.seen = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Messages one WebSocket may send: a burst of 40, then 10 a second. Far
/// above what a person does (chat, hands, mutes, admissions), and low enough
/// that one client cannot flood everyone else's connection with chat or
/// roster updates.
pub fn message_budget(now: Instant) -> Bucket {
    Bucket::new(40, 10.0, now)
}

/// SDP offers one WebSocket may send: 3 at once, then one every 5 seconds.
/// A page offers once per admission or reconnect; each offer costs a media
/// worker a peer connection, so a client re-offering in a loop must not
/// take a shared worker's time from other rooms.
pub fn offer_budget(now: Instant) -> Bucket {
    Bucket::new(3, 0.2, now)
}

/// A token bucket per address.
pub struct RateLimiter {
    burst: u32,
    per_second: f64,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    /// `burst` attempts at once, refilled at `per_minute`.
    pub fn new(burst: u32, per_minute: u32) -> Self {
        Self {
            burst,
            per_second: f64::from(per_minute) / 60.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Whether `ip` may try now (and count the try).
    pub fn allow(&self, ip: IpAddr, now: Instant) -> bool {
        let ip = limit_key(ip);
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= MAX_TRACKED && !buckets.contains_key(&ip) {
            let full = Duration::from_secs_f64(f64::from(self.burst) / self.per_second);
            buckets.retain(|_, b| now.saturating_duration_since(b.seen) < full);
            if buckets.len() >= MAX_TRACKED {
                if let Some(oldest) = buckets
                    .iter()
                    .min_by_key(|(_, b)| b.seen)
                    .map(|(ip, _)| *ip)
                {
                    buckets.remove(&oldest);
                }
            }
        }
        buckets
            .entry(ip)
            .or_insert_with(|| Bucket::new(self.burst, self.per_second, now))
            .take(now)
    }
}

/// What a limit counts by. IPv4 addresses one by one; IPv6 by /64, because
/// one household, phone or server is given a whole /64 and could otherwise
/// try from 2^64 addresses; IPv4-mapped IPv6 as the IPv4 address it is.
pub fn limit_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !((1u128 << 64) - 1)).into()),
        },
    }
}

/// Failed logins per username: the first [`LoginBackoff::FREE`] cost
/// nothing; after that each failure makes the account wait, doubling from
/// one second up to a minute. Guessing from many addresses is slowed to
/// about one try a minute, while the real facilitator, who mistypes a few
/// times, is never locked out for longer than that minute. A success clears
/// it. Bounded in memory; unknown usernames are counted the same way (their
/// treatment must not reveal which exist).
pub struct LoginBackoff {
    entries: Mutex<HashMap<String, Failures>>,
}

#[derive(Clone, Copy)]
struct Failures {
    count: u32,
    until: Instant,
}

impl Default for LoginBackoff {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl LoginBackoff {
    /// Failures allowed before waiting starts.
    pub const FREE: u32 = 5;
    /// The longest wait.
    pub const MAX_WAIT: Duration = Duration::from_secs(60);

    fn key(username: &str) -> String {
        username.chars().take(64).collect::<String>().to_lowercase()
    }

    /// How long `username` must still wait before its next try, if at all.
    pub fn wait(&self, username: &str, now: Instant) -> Option<Duration> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        let f = entries.get(&Self::key(username))?;
        (f.until > now).then(|| f.until - now)
    }

    /// A failed try.
    pub fn failed(&self, username: &str, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_TRACKED {
            entries.retain(|_, f| f.until + Self::MAX_WAIT > now);
            if entries.len() >= MAX_TRACKED {
                return; // Under a flood: the per-address limits still hold.
            }
        }
        let f = entries.entry(Self::key(username)).or_insert(Failures {
            count: 0,
            until: now,
        });
        f.count += 1;
        if f.count > Self::FREE {
            let doublings = (f.count - Self::FREE - 1).min(6);
            let wait = Duration::from_secs(1 << doublings).min(Self::MAX_WAIT);
            f.until = now + wait;
        }
    }

    /// A successful login: the count starts again.
    pub fn succeeded(&self, username: &str) {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.remove(&Self::key(username));
    }
}

/// The client's address, when the server was started with connect info
/// (requests built in tests have none, and are not limited).
pub struct ClientIp(pub Option<IpAddr>);

impl<M: MediaPlane> FromRequestParts<std::sync::Arc<AppState<M>>> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &std::sync::Arc<AppState<M>>,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        Ok(ClientIp(peer.map(|peer| {
            client_address(peer, &parts.headers, &state.settings.trusted_proxies)
        })))
    }
}

/// Who a request is from: the connection's peer, unless the peer is a
/// trusted proxy; then the nearest address in `X-Forwarded-For` that is not
/// itself a trusted proxy (proxies append, so entries further left are
/// whatever the client chose to send). A missing or malformed header leaves
/// the proxy's address: limits then apply to all together, which is safe.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let mut entries: Vec<&str> = Vec::new();
    for value in headers.get_all("x-forwarded-for") {
        let Ok(value) = value.to_str() else {
            return peer;
        };
        entries.extend(value.split(','));
    }
    for entry in entries.iter().rev() {
        let Some(ip) = parse_forwarded(entry.trim()) else {
            return peer;
        };
        if !trusted.contains(&ip) {
            return ip;
        }
    }
    peer
}

/// An `X-Forwarded-For` entry: an address, possibly with a port
/// (`192.0.2.1:5000`, `[2001:db8::1]:5000`).
fn parse_forwarded(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|s| s.ip()))
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

    #[test]
    fn ipv6_is_limited_per_64_and_mapped_ipv4_as_ipv4() {
        let l = RateLimiter::new(2, 60);
        let t = Instant::now();
        let a: IpAddr = "2001:db8:1:2::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:ffff:ffff:ffff:fffe".parse().unwrap();
        let elsewhere: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert!(l.allow(a, t) && l.allow(b, t));
        assert!(
            !l.allow(a, t),
            "another address in the same /64 is the same client"
        );
        assert!(l.allow(elsewhere, t), "another /64 is another client");
        let mapped: IpAddr = "::ffff:192.0.2.9".parse().unwrap();
        assert_eq!(limit_key(mapped), IpAddr::from([192, 0, 2, 9]));
    }

    #[test]
    fn failed_logins_slow_a_username_down_but_never_for_long() {
        let b = LoginBackoff::default();
        let t = Instant::now();
        for _ in 0..LoginBackoff::FREE {
            b.failed("ada", t);
        }
        assert_eq!(b.wait("ada", t), None, "a few mistakes cost nothing");
        b.failed("ada", t);
        assert_eq!(b.wait("Ada", t), Some(Duration::from_secs(1)));
        for _ in 0..20 {
            b.failed("ada", t);
        }
        assert_eq!(b.wait("ada", t), Some(LoginBackoff::MAX_WAIT));
        assert_eq!(b.wait("ada", t + LoginBackoff::MAX_WAIT), None);
        assert_eq!(b.wait("bea", t), None, "per username");
        b.succeeded("ada");
        assert_eq!(b.wait("ada", t), None);
    }

    fn forwarded(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_a_trusted_proxy_may_name_the_client() {
        let proxy: IpAddr = [127, 0, 0, 1].into();
        let client: IpAddr = [198, 51, 100, 7].into();
        let trusted = [proxy];
        let h = forwarded(&["198.51.100.7"]);
        assert_eq!(client_address(proxy, &h, &trusted), client);
        // A stranger's own header is ignored.
        let stranger: IpAddr = [203, 0, 113, 9].into();
        assert_eq!(client_address(stranger, &h, &trusted), stranger);
        // Without trusted proxies the header means nothing.
        assert_eq!(client_address(proxy, &h, &[]), proxy);
    }

    #[test]
    fn a_spoofed_entry_on_the_left_does_not_help_the_client() {
        let proxy: IpAddr = [10, 0, 0, 2].into();
        let inner: IpAddr = [10, 0, 0, 3].into();
        let trusted = [proxy, inner];
        // The client sent "1.2.3.4"; our proxies appended the real address.
        let h = forwarded(&["1.2.3.4, 198.51.100.7", "10.0.0.3"]);
        assert_eq!(
            client_address(proxy, &h, &trusted),
            IpAddr::from([198, 51, 100, 7])
        );
        let v6 = forwarded(&["[2001:db8::7]:4711"]);
        assert_eq!(
            client_address(proxy, &v6, &trusted),
            "2001:db8::7".parse::<IpAddr>().unwrap()
        );
    }

    #[test]
    fn a_missing_or_malformed_header_leaves_the_proxy_address() {
        let proxy: IpAddr = [127, 0, 0, 1].into();
        let trusted = [proxy];
        for h in [
            HeaderMap::new(),
            forwarded(&["not an address"]),
            forwarded(&["198.51.100.7, garbage"]),
            forwarded(&[""]),
        ] {
            assert_eq!(client_address(proxy, &h, &trusted), proxy);
        }
    }
}
