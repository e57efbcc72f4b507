//! Classifying datagrams that arrive on the shared media port (RFC 7983) and
//! finding the ICE username in STUN requests, without trusting a single byte.
//!
//! One UDP port serves every participant, so the core must route each
//! datagram before str0m sees it: STUN by the local ICE ufrag in its USERNAME,
//! everything else by the ICE-verified source address.

/// What a datagram on the media port claims to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatagramKind {
    /// STUN (ICE connectivity checks).
    Stun,
    /// DTLS (handshake, alerts).
    Dtls,
    /// SRTP or SRTCP.
    Rtp,
    /// Nothing a WebRTC peer sends; dropped.
    Unknown,
}

/// Classify by the first byte, as RFC 7983 prescribes.
pub fn classify(datagram: &[u8]) -> DatagramKind {
    match datagram.first() {
        Some(0..=3) => DatagramKind::Stun,
        Some(20..=63) => DatagramKind::Dtls,
        Some(128..=191) => DatagramKind::Rtp,
        _ => DatagramKind::Unknown,
    }
}

const STUN_HEADER_LEN: usize = 20;
const STUN_MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xA4, 0x42];
const ATTR_USERNAME: u16 = 0x0006;
/// RFC 8489 limits USERNAME to 513 bytes.
const MAX_USERNAME_LEN: usize = 513;

/// The local ufrag (the part before `:`) of a STUN message's USERNAME, if the
/// datagram is a well-formed STUN message that carries one.
///
/// This only routes: str0m verifies MESSAGE-INTEGRITY with the participant's
/// password afterwards, so a forged username reaches at most the participant
/// it names and is rejected there.
pub fn stun_local_ufrag(datagram: &[u8]) -> Option<&str> {
    if datagram.len() < STUN_HEADER_LEN || datagram[4..8] != STUN_MAGIC_COOKIE {
        return None;
    }
    let body_len = u16::from_be_bytes([datagram[2], datagram[3]]) as usize;
    let body = datagram.get(STUN_HEADER_LEN..STUN_HEADER_LEN.checked_add(body_len)?)?;
    let mut rest = body;
    while rest.len() >= 4 {
        let attr_type = u16::from_be_bytes([rest[0], rest[1]]);
        let attr_len = u16::from_be_bytes([rest[2], rest[3]]) as usize;
        let value = rest.get(4..4 + attr_len)?;
        if attr_type == ATTR_USERNAME {
            if attr_len > MAX_USERNAME_LEN {
                return None;
            }
            let username = std::str::from_utf8(value).ok()?;
            return username.split(':').next().filter(|u| !u.is_empty());
        }
        // Attributes are padded to 4 bytes.
        let padded = (4 + attr_len + 3) & !3;
        rest = rest.get(padded..)?;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stun_with_username(username: &[u8]) -> Vec<u8> {
        let mut attr = vec![0x00, 0x06];
        attr.extend_from_slice(&(username.len() as u16).to_be_bytes());
        attr.extend_from_slice(username);
        while attr.len() % 4 != 0 {
            attr.push(0);
        }
        let mut msg = vec![0x00, 0x01];
        msg.extend_from_slice(&(attr.len() as u16).to_be_bytes());
        msg.extend_from_slice(&STUN_MAGIC_COOKIE);
        msg.extend_from_slice(&[7; 12]);
        msg.extend_from_slice(&attr);
        msg
    }

    #[test]
    fn finds_local_ufrag_in_binding_request() {
        let msg = stun_with_username(b"serverufrag:clientufrag");
        assert_eq!(classify(&msg), DatagramKind::Stun);
        assert_eq!(stun_local_ufrag(&msg), Some("serverufrag"));
    }

    #[test]
    fn truncated_or_lying_lengths_are_rejected_without_panic() {
        let msg = stun_with_username(b"abc:def");
        for cut in 0..msg.len() {
            // Any prefix either parses to the same ufrag or to nothing.
            let got = stun_local_ufrag(&msg[..cut]);
            assert!(got.is_none() || got == Some("abc"));
        }
        let mut lying = msg.clone();
        lying[2] = 0xff;
        assert_eq!(stun_local_ufrag(&lying), None);
        let mut lying_attr = msg;
        lying_attr[22] = 0xff;
        assert_eq!(stun_local_ufrag(&lying_attr), None);
    }

    #[test]
    fn classifies_by_first_byte() {
        assert_eq!(classify(&[]), DatagramKind::Unknown);
        assert_eq!(classify(&[22]), DatagramKind::Dtls);
        assert_eq!(classify(&[0x80]), DatagramKind::Rtp);
        assert_eq!(classify(&[64]), DatagramKind::Unknown);
        assert_eq!(classify(&[255]), DatagramKind::Unknown);
    }
}
