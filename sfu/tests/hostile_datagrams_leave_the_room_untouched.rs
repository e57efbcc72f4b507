//! Random bytes, truncated SRTP/SRTCP, STUN with wrong credentials, and
//! packets from addresses that never passed ICE: the core neither panics nor
//! lets any of it disturb the members' media.

mod common;
use std::net::SocketAddr;
use std::time::Duration;

use common::net::Rng;
use common::{Conditions, World};

fn stun_request(username: &str) -> Vec<u8> {
    let mut attr = vec![0x00, 0x06];
    attr.extend_from_slice(&(username.len() as u16).to_be_bytes());
    attr.extend_from_slice(username.as_bytes());
    while attr.len() % 4 != 0 {
        attr.push(0);
    }
    // A bogus MESSAGE-INTEGRITY (0x0008, 20 bytes).
    attr.extend_from_slice(&[0x00, 0x08, 0x00, 0x14]);
    attr.extend_from_slice(&[0xEE; 20]);
    let mut msg = vec![0x00, 0x01];
    msg.extend_from_slice(&(attr.len() as u16).to_be_bytes());
    msg.extend_from_slice(&[0x21, 0x12, 0xA4, 0x42]);
    msg.extend_from_slice(&[9; 12]);
    msg.extend_from_slice(&attr);
    msg
}

#[test]
fn hostile_input_is_dropped_and_media_keeps_flowing() {
    let mut w = World::new(13, Conditions::CLEAN);
    w.join(1);
    w.join(2);
    w.run_for(Duration::from_secs(1));
    let member_addr: SocketAddr = "10.0.0.11:5000".parse().unwrap();
    let stranger: SocketAddr = "10.9.9.9:4444".parse().unwrap();
    let before = (
        w.client(1).from(2).audio_packets,
        w.client(2).from(1).video_packets,
    );
    let mut rng = Rng::new(99);

    for round in 0..200 {
        // Random garbage of random length, from a stranger and from a member.
        let len = rng.below(1500) as usize;
        let garbage: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        w.inject(stranger, &garbage);
        w.inject(member_addr, &garbage);
        // Truncated SRTP and SRTCP from the member's verified address.
        let cut = rng.below(40) as usize;
        let mut rtp = vec![0x80, 0x6f, 0x12, 0x34, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef];
        rtp.extend((0..cut).map(|_| rng.next_u64() as u8));
        w.inject(
            member_addr,
            &rtp[..rng.below(rtp.len() as u64 + 1) as usize],
        );
        let rtcp = [0x81, 200, 0, 6, 0xde, 0xad, 0xbe, 0xef, 1, 2];
        w.inject(
            member_addr,
            &rtcp[..rng.below(rtcp.len() as u64 + 1) as usize],
        );
        // STUN naming a real participant's ufrag but with wrong credentials.
        let ufrag = format!("{}:x{round}", real_ufrag(&w));
        w.inject(stranger, &stun_request(&ufrag));
        w.inject(stranger, &stun_request("nobody:here"));
        // Media-looking packets from an address that never passed ICE.
        w.inject(
            stranger,
            &[0x80, 0x60, 0, round as u8, 0, 0, 0, 0, 0, 0, 0, 2, 1, 2, 3],
        );
        w.step();
    }
    w.run_for(Duration::from_secs(1));

    let c = w.sfu.counters();
    assert!(
        c.dropped_unrouted >= 600,
        "stranger's datagrams were not dropped: {c:?}"
    );
    assert!(
        c.rejected_by_peer > 0,
        "malformed datagrams from a member reached no check: {c:?}"
    );
    // The stranger never became a route.
    assert_eq!(w.sfu.footprint().addr_routes, 2);
    let after = (
        w.client(1).from(2).audio_packets,
        w.client(2).from(1).video_packets,
    );
    assert!(after.0 > before.0 + 50, "audio stalled under attack");
    assert!(after.1 > before.1 + 50, "video stalled under attack");
    assert!(w.clients.iter().all(|c| c.connected));
}

/// The SFU's ufrag for client 1, read from the ICE credentials in its answer
/// (here: from the client's view of the remote credentials).
fn real_ufrag(w: &World) -> String {
    w.client(1)
        .remote_ufrag
        .clone()
        .expect("client learnt the SFU's ufrag from the answer")
}
