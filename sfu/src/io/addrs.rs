//! Which addresses the media port listens on and announces.

use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};

/// One media socket: where it is bound and what clients are told.
///
/// Behind NAT the two differ: bind `0.0.0.0:PORT`, announce `PUBLIC_IP:PORT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaAddr {
    /// Local address to bind.
    pub bind: SocketAddr,
    /// Address given to clients as a host candidate.
    pub announce: SocketAddr,
}

impl MediaAddr {
    /// Bind and announce the same address.
    pub fn same(addr: SocketAddr) -> Self {
        Self {
            bind: addr,
            announce: addr,
        }
    }
}

/// The defaults: with a public IP, bind all interfaces and announce only it;
/// otherwise loopback plus the machine's primary LAN address (if it has a
/// route anywhere), both on `port`.
pub fn default_media_addrs(port: u16, public_ip: Option<IpAddr>) -> Vec<MediaAddr> {
    if let Some(ip) = public_ip {
        return vec![MediaAddr {
            bind: SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port),
            announce: SocketAddr::new(ip, port),
        }];
    }
    let mut addrs = vec![MediaAddr::same(SocketAddr::new(
        IpAddr::V4(Ipv4Addr::LOCALHOST),
        port,
    ))];
    if let Some(lan) = primary_lan_ip() {
        addrs.push(MediaAddr::same(SocketAddr::new(lan, port)));
    }
    addrs
}

/// The source address the kernel would use for outbound traffic. Connecting
/// a UDP socket sends nothing; it only asks the routing table.
fn primary_lan_ip() -> Option<IpAddr> {
    let probe = UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0)).ok()?;
    probe.connect((Ipv4Addr::new(192, 0, 2, 1), 9)).ok()?;
    let ip = probe.local_addr().ok()?.ip();
    (!ip.is_loopback() && !ip.is_unspecified()).then_some(ip)
}
