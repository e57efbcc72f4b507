//! Fuzz target (property-based): arbitrary datagrams, and datagrams that
//! start like real STUN, DTLS, RTP and RTCP, from strangers and from a
//! member's ICE-verified address, into a room with two members. The core
//! must never panic, and the members' media must still flow afterwards.
//!
//! Bounded in CI; `scripts/fuzz` (or `HAVEN_FUZZ_CASES=N`) runs it longer.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Conditions, World};
use haven_sfu::core::classify;
use proptest::prelude::*;

fn cases(default: u32) -> u32 {
    std::env::var("HAVEN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A datagram: random bytes behind a first byte and header chosen to reach
/// each branch of the demultiplexer (STUN 0–3, DTLS 20–63, RTP/RTCP
/// 128–191) and both RTP and RTCP payload types.
fn datagram() -> impl Strategy<Value = Vec<u8>> {
    let first = prop_oneof![0u8..=3, 20u8..=63, 128u8..=191, any::<u8>()];
    let second = prop_oneof![Just(0x6f), Just(0x60), 200u8..=207, any::<u8>()];
    let stun_cookie = prop_oneof![Just(vec![0x21, 0x12, 0xA4, 0x42]), Just(vec![])];
    (
        first,
        second,
        stun_cookie,
        proptest::collection::vec(any::<u8>(), 0..1400),
    )
        .prop_map(|(a, b, cookie, rest)| {
            let mut d = vec![a, b];
            if a <= 3 && rest.len() > 2 {
                d.extend_from_slice(&rest[..2]);
                d.extend_from_slice(&cookie);
                d.extend_from_slice(&rest[2..]);
            } else {
                d.extend_from_slice(&rest);
            }
            d
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(32), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_datagrams_never_panic_the_core_nor_stop_the_media(
        input in proptest::collection::vec((0u8..3, datagram()), 1..120)
    ) {
        let mut w = World::new(5, Conditions::CLEAN);
        w.join(1);
        w.join(2);
        w.run_for(Duration::from_millis(500));
        let member: SocketAddr = "10.0.0.11:5000".parse().unwrap();
        let stranger: SocketAddr = "10.9.9.9:4444".parse().unwrap();
        let other_port: SocketAddr = "10.0.0.11:5001".parse().unwrap();
        for (from, bytes) in &input {
            let _ = classify(bytes);
            let from = [member, stranger, other_port][usize::from(*from)];
            w.inject(from, bytes);
            w.step();
        }
        let before = w.client(1).from(2).audio_packets;
        w.run_for(Duration::from_millis(600));
        prop_assert!(w.client(1).from(2).audio_packets > before, "media stopped after fuzzing");
    }
}
