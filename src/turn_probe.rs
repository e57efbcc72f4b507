//! A one-shot TURN probe for `haven doctor`: an Allocate request with the
//! time-limited credentials Haven hands to members (RFC 8656 over UDP, long-term
//! credentials of RFC 8489), to learn whether the clinic's TURN server is
//! reachable and accepts Haven's secret. Only the few attributes it needs.

use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::time::Duration;

use aws_lc_rs::hmac;

const MAGIC: u32 = 0x2112_A442;
const ALLOCATE: u16 = 0x0003;
const ALLOCATE_OK: u16 = 0x0103;
const ALLOCATE_ERROR: u16 = 0x0113;
const USERNAME: u16 = 0x0006;
const MESSAGE_INTEGRITY: u16 = 0x0008;
const ERROR_CODE: u16 = 0x0009;
const REALM: u16 = 0x0014;
const NONCE: u16 = 0x0015;
const REQUESTED_TRANSPORT: u16 = 0x0019;

/// What the TURN server said.
#[derive(Debug, PartialEq, Eq)]
pub enum TurnAnswer {
    /// It allocated a relay for Haven's credentials.
    Allocated,
    /// It refused them (the shared secret differs, or the clock is off).
    Refused(u16),
    /// No answer within the timeout.
    Silent,
    /// Something that is not a TURN answer.
    Garbled,
}

/// The host and port of a `turn:` URL for UDP, if it is one.
pub fn udp_target(url: &str) -> Option<String> {
    let rest = url.strip_prefix("turn:")?;
    let (hostport, query) = rest.split_once('?').unwrap_or((rest, ""));
    if !query.is_empty() && !query.contains("transport=udp") {
        return None;
    }
    Some(if hostport.contains(':') && !hostport.ends_with(']') {
        hostport.to_owned()
    } else {
        format!("{hostport}:3478")
    })
}

fn attribute(msg: &mut Vec<u8>, kind: u16, value: &[u8]) {
    msg.extend_from_slice(&kind.to_be_bytes());
    msg.extend_from_slice(&(value.len() as u16).to_be_bytes());
    msg.extend_from_slice(value);
    while !msg.len().is_multiple_of(4) {
        msg.push(0);
    }
}

fn header(kind: u16, id: &[u8; 12]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(256);
    msg.extend_from_slice(&kind.to_be_bytes());
    msg.extend_from_slice(&[0, 0]);
    msg.extend_from_slice(&MAGIC.to_be_bytes());
    msg.extend_from_slice(id);
    msg
}

fn set_length(msg: &mut [u8], length: usize) {
    msg[2..4].copy_from_slice(&(length as u16).to_be_bytes());
}

/// A STUN message: its type and its (attribute type, value) pairs.
type Message = (u16, Vec<(u16, Vec<u8>)>);

/// The attributes of an answer to transaction `id`.
fn parse(answer: &[u8], id: &[u8; 12]) -> Option<Message> {
    if answer.len() < 20 || answer[4..8] != MAGIC.to_be_bytes() || &answer[8..20] != id {
        return None;
    }
    let kind = u16::from_be_bytes([answer[0], answer[1]]);
    let mut attrs = Vec::new();
    let mut at = 20;
    while at + 4 <= answer.len() {
        let t = u16::from_be_bytes([answer[at], answer[at + 1]]);
        let len = usize::from(u16::from_be_bytes([answer[at + 2], answer[at + 3]]));
        let value = answer.get(at + 4..at + 4 + len)?.to_vec();
        attrs.push((t, value));
        at += 4 + len.div_ceil(4) * 4;
    }
    Some((kind, attrs))
}

fn exchange(socket: &UdpSocket, msg: &[u8], id: &[u8; 12]) -> Option<Message> {
    for _ in 0..3 {
        socket.send(msg).ok()?;
        let mut buf = [0u8; 1500];
        if let Ok(n) = socket.recv(&mut buf) {
            return parse(&buf[..n], id);
        }
    }
    None
}

fn value(attrs: &[(u16, Vec<u8>)], kind: u16) -> Option<&[u8]> {
    attrs
        .iter()
        .find(|(t, _)| *t == kind)
        .map(|(_, v)| v.as_slice())
}

fn error_code(attrs: &[(u16, Vec<u8>)]) -> u16 {
    value(attrs, ERROR_CODE)
        .filter(|v| v.len() >= 4)
        .map_or(0, |v| u16::from(v[2] & 0x07) * 100 + u16::from(v[3]))
}

/// Ask the TURN server at `target` for a relay with `username`/`password`.
pub fn allocate(target: &str, username: &str, password: &str, timeout: Duration) -> TurnAnswer {
    let Some(addr): Option<SocketAddr> = target.to_socket_addrs().ok().and_then(|mut a| a.next())
    else {
        return TurnAnswer::Silent;
    };
    let bind: SocketAddr = if addr.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        ([0u16; 8], 0).into()
    };
    let Ok(socket) = UdpSocket::bind(bind) else {
        return TurnAnswer::Silent;
    };
    if socket.connect(addr).is_err() || socket.set_read_timeout(Some(timeout)).is_err() {
        return TurnAnswer::Silent;
    }
    let transport = [17u8, 0, 0, 0];
    // First without credentials: the server answers 401 with its realm and nonce.
    let id: [u8; 12] = rand::random();
    let mut first = header(ALLOCATE, &id);
    attribute(&mut first, REQUESTED_TRANSPORT, &transport);
    let len = first.len() - 20;
    set_length(&mut first, len);
    let Some((kind, attrs)) = exchange(&socket, &first, &id) else {
        return TurnAnswer::Silent;
    };
    if kind == ALLOCATE_OK {
        return TurnAnswer::Allocated; // a server without authentication
    }
    let (Some(realm), Some(nonce)) = (value(&attrs, REALM), value(&attrs, NONCE)) else {
        return TurnAnswer::Garbled;
    };
    // Then with them: MESSAGE-INTEGRITY keyed with MD5(username:realm:password).
    let id: [u8; 12] = rand::random();
    let mut second = header(ALLOCATE, &id);
    attribute(&mut second, REQUESTED_TRANSPORT, &transport);
    attribute(&mut second, USERNAME, username.as_bytes());
    attribute(&mut second, REALM, realm);
    attribute(&mut second, NONCE, nonce);
    let with_integrity = second.len() - 20 + 24;
    set_length(&mut second, with_integrity);
    let mut long_term = Vec::new();
    long_term.extend_from_slice(username.as_bytes());
    long_term.push(b':');
    long_term.extend_from_slice(realm);
    long_term.push(b':');
    long_term.extend_from_slice(password.as_bytes());
    let key = md5::compute(&long_term);
    let tag = hmac::sign(
        &hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &key.0),
        &second,
    );
    attribute(&mut second, MESSAGE_INTEGRITY, tag.as_ref());
    match exchange(&socket, &second, &id) {
        None => TurnAnswer::Silent,
        Some((ALLOCATE_OK, _)) => TurnAnswer::Allocated,
        Some((ALLOCATE_ERROR, attrs)) => TurnAnswer::Refused(error_code(&attrs)),
        Some(_) => TurnAnswer::Garbled,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn turn_urls_for_udp_name_their_host_and_port() {
        assert_eq!(
            udp_target("turn:turn.example:3478?transport=udp").as_deref(),
            Some("turn.example:3478")
        );
        assert_eq!(
            udp_target("turn:turn.example").as_deref(),
            Some("turn.example:3478")
        );
        assert_eq!(udp_target("turns:turn.example:443?transport=tcp"), None);
        assert_eq!(udp_target("turn:turn.example:443?transport=tcp"), None);
    }

    #[test]
    fn an_answer_to_another_transaction_is_not_taken() {
        let id = [7u8; 12];
        let mut msg = header(ALLOCATE_OK, &[8u8; 12]);
        set_length(&mut msg, 0);
        assert!(parse(&msg, &id).is_none());
        let mut ok = header(ALLOCATE_ERROR, &id);
        attribute(&mut ok, ERROR_CODE, &[0, 0, 4, 1]);
        let len = ok.len() - 20;
        set_length(&mut ok, len);
        let (kind, attrs) = parse(&ok, &id).unwrap();
        assert_eq!((kind, error_code(&attrs)), (ALLOCATE_ERROR, 401));
        // Truncated attributes are refused, not read past the end.
        assert!(parse(&ok[..ok.len() - 2], &id).is_none());
    }
}
