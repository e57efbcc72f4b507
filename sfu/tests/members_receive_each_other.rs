//! Three members join one after another; each receives the others' audio and
//! video, identified by who published it, and never its own.

mod common;
use std::time::Duration;

use common::{Conditions, World, ROOM};
use haven_sfu::MediaEvent;

#[test]
fn members_receive_each_other_and_never_themselves() {
    let mut w = World::new(1, Conditions::CLEAN);
    w.join(1);
    w.join(2);
    w.join(3);
    w.run_for(Duration::from_secs(3));

    for c in &w.clients {
        assert!(
            !c.received.contains_key(&c.id),
            "client {} received its own media",
            c.id
        );
        for other in [1u8, 2, 3].into_iter().filter(|o| *o != c.id) {
            let r = c.from(other);
            assert!(
                r.audio_packets > 100,
                "{} got {} audio packets from {other}",
                c.id,
                r.audio_packets
            );
            assert!(
                r.video_packets > 100,
                "{} got {} video packets from {other}",
                c.id,
                r.video_packets
            );
            assert_eq!(
                r.first_video_was_keyframe,
                Some(true),
                "{} started {other}'s video mid-frame",
                c.id
            );
        }
    }

    // Each subscriber was told which slot carries whom: 2 publishers each.
    let assigned = |sub: u64| {
        w.events
            .iter()
            .filter(|(_, e)| matches!(e, MediaEvent::SlotAssigned { room, subscriber, publisher: Some(_), .. } if *room == ROOM && subscriber.0 == sub))
            .count()
    };
    assert_eq!((assigned(1), assigned(2), assigned(3)), (2, 2, 2));

    // Slot identity: every packet that arrived on a slot's m-lines came from
    // the publisher the slot was announced for, and from nobody else.
    for (_, e) in &w.events {
        let MediaEvent::SlotAssigned {
            subscriber,
            audio_mid,
            video_mid,
            publisher: Some(p),
            ..
        } = e
        else {
            continue;
        };
        let c = w.client(subscriber.0 as u8);
        for mid in [audio_mid, video_mid] {
            let owners = c.owners_by_mid.get(mid.as_str());
            assert_eq!(
                owners.map(|o| o.iter().copied().collect::<Vec<_>>()),
                Some(vec![p.0 as u8]),
                "client {} m-line {mid} announced for {p:?} carried {owners:?}",
                subscriber.0
            );
        }
    }
    let connected = w
        .events
        .iter()
        .filter(|(_, e)| matches!(e, MediaEvent::Connected { .. }))
        .count();
    assert_eq!(connected, 3);
}
