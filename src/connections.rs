//! Limits on open HTTP/WebSocket connections, so that nobody can use up the
//! process's open files and lock members out of their group.
//!
//! Seen before this existed: with systemd's default limit of 1,024 open
//! files, 1,100 half-sent requests from one address kept every file in use;
//! each new request timed out, no member could knock or reconnect. Now:
//! * a connection that has not sent its request headers within
//!   [`HEADER_TIMEOUT`] is closed (set on the HTTP builder in `main.rs`);
//! * one client address (an IPv6 /64 counts as one) holds at most
//!   `per_address` connections; more are closed at once;
//! * all together hold at most what the open-files limit leaves after a
//!   reserve for the database, media sockets and the runtime.
//!
//! Trusted proxies speak for many clients, so they count only in the total.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum_server::accept::Accept;
use haven_signaling::http::limits::limit_key;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// How long a connection may take to send its request headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// Open files kept for everything that is not an HTTP connection.
const RESERVE: u64 = 64;

/// Raise the soft open-files limit to the hard one (at most 65,536) and say
/// how many connections fit under it.
pub fn total_cap() -> usize {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    let soft = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) => {
            let wanted = hard.min(65_536).max(soft);
            if wanted > soft && setrlimit(Resource::RLIMIT_NOFILE, wanted, hard).is_ok() {
                wanted
            } else {
                soft
            }
        }
        Err(_) => 1024,
    };
    let cap = if soft > 2 * RESERVE {
        soft - RESERVE
    } else {
        soft / 2
    };
    usize::try_from(cap).unwrap_or(usize::MAX).max(1)
}

/// The counts, shared by every accepted connection.
pub struct Caps {
    total: usize,
    per_address: usize,
    exempt: Vec<IpAddr>,
    open: Mutex<Open>,
}

#[derive(Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl Caps {
    /// `total` connections at most, `per_address` from one client;
    /// `exempt` (trusted proxies) count only in the total.
    pub fn new(total: usize, per_address: usize, exempt: Vec<IpAddr>) -> Arc<Self> {
        Arc::new(Self {
            total,
            per_address,
            exempt,
            open: Mutex::default(),
        })
    }

    /// A place for one more connection from `peer`, if there is one.
    fn admit(self: &Arc<Self>, peer: IpAddr) -> Option<Slot> {
        let key = (!self.exempt.contains(&peer)).then(|| limit_key(peer));
        let mut open = self.open.lock().unwrap_or_else(|p| p.into_inner());
        if open.total >= self.total {
            return None;
        }
        if let Some(key) = key {
            let n = open.by_address.entry(key).or_default();
            if *n >= self.per_address {
                return None;
            }
            *n += 1;
        }
        open.total += 1;
        Some(Slot {
            caps: self.clone(),
            key,
        })
    }
}

/// One connection's place; given back when the connection closes.
struct Slot {
    caps: Arc<Caps>,
    key: Option<IpAddr>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut open = self.caps.open.lock().unwrap_or_else(|p| p.into_inner());
        open.total = open.total.saturating_sub(1);
        if let Some(key) = self.key {
            if let Some(n) = open.by_address.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    open.by_address.remove(&key);
                }
            }
        }
    }
}

/// An accepted connection holding its place (also after an upgrade to a
/// WebSocket, which takes the stream along).
pub struct Counted {
    stream: TcpStream,
    _slot: Slot,
}

impl AsyncRead for Counted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Accepts a connection only if it fits under the caps; closes it at once
/// otherwise (its file is freed immediately, nothing is read from it).
#[derive(Clone)]
pub struct CapAcceptor {
    caps: Arc<Caps>,
}

impl CapAcceptor {
    /// An acceptor counting against `caps`.
    pub fn new(caps: Arc<Caps>) -> Self {
        Self { caps }
    }
}

impl<S: Send + 'static> Accept<TcpStream, S> for CapAcceptor {
    type Stream = Counted;
    type Service = S;
    type Future = Pin<Box<dyn Future<Output = io::Result<(Counted, S)>> + Send>>;

    fn accept(&self, stream: TcpStream, service: S) -> Self::Future {
        let slot = stream
            .peer_addr()
            .ok()
            .and_then(|p| self.caps.admit(p.ip()));
        Box::pin(std::future::ready(match slot {
            Some(slot) => Ok((
                Counted {
                    stream,
                    _slot: slot,
                },
                service,
            )),
            None => Err(io::Error::other("connection cap reached")),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_address_cannot_take_every_place_and_places_come_back() {
        let proxy: IpAddr = [10, 0, 0, 1].into();
        let caps = Caps::new(5, 2, vec![proxy]);
        let a: IpAddr = [192, 0, 2, 1].into();
        let b: IpAddr = "2001:db8::1".parse().unwrap();
        let b_same_64: IpAddr = "2001:db8::2".parse().unwrap();
        let first = caps.admit(a).unwrap();
        let _second = caps.admit(a).unwrap();
        assert!(caps.admit(a).is_none(), "a third from one address");
        let _b1 = caps.admit(b).unwrap();
        let _b2 = caps.admit(b_same_64).unwrap();
        assert!(caps.admit(b).is_none(), "an IPv6 /64 is one address");
        let _p = caps.admit(proxy).unwrap();
        assert!(caps.admit(proxy).is_none(), "the total holds for proxies");
        drop(first);
        assert!(
            caps.admit(a).is_some(),
            "a closed connection frees its place"
        );
    }
}
