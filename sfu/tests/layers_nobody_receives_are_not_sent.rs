//! A camera layer that no slot in the room wants is not worth encoding: the
//! SFU tells each publisher which of its layers anyone receives, and the
//! publisher's page encodes only those. When a page starts showing small
//! tiles, the small layer of those publishers comes back at once; the
//! layers other members receive never stop.

mod common;
use std::time::Duration;

use common::{Conditions, World};
use haven_sfu::core::MediaEvent;

const LOW: u8 = 0;
const HIGH: u8 = 2;

/// The layers `publisher` was last told to send.
fn told(w: &World, publisher: u8) -> Option<[bool; 3]> {
    w.events.iter().rev().find_map(|(_, e)| match e {
        MediaEvent::SendLayers {
            publisher: p,
            active,
            ..
        } if *p == World::pid(publisher) => Some(*active),
        _ => None,
    })
}

#[test]
fn layers_nobody_receives_stop_and_come_back_when_wanted() {
    let mut w = World::new(51, Conditions::CLEAN);
    for id in 1..=3 {
        w.join(id);
    }
    // Three people: every tile is large and gets the top layer; after a
    // few seconds nobody has wanted the others.
    w.run_for(Duration::from_secs(6));
    for p in 1..=3 {
        assert_eq!(told(&w, p), Some([false, false, true]), "publisher {p}");
        assert_eq!(w.client(p).sending, [false, false, true]);
    }
    for (sub, publisher) in [(1, 2), (2, 3), (3, 1)] {
        let got = w.received_during(Duration::from_secs(1), sub, publisher);
        assert_eq!(
            got.keys().copied().collect::<Vec<_>>(),
            vec![HIGH],
            "{sub} from {publisher}"
        );
    }

    // 1 turns into a phone: small tiles. 2's and 3's small layers are
    // asked back at once and reach 1 within half a second; nobody wants
    // 1's small layer, so it stays off.
    let asked = w.now;
    w.show(1, &[(2, 300), (3, 300)]);
    w.run_for(Duration::from_millis(500));
    for p in [2, 3] {
        assert_eq!(told(&w, p), Some([true, false, true]), "publisher {p}");
        let got = w.received_during(Duration::from_millis(500), 1, p);
        assert!(
            got.get(&LOW).is_some_and(|n| *n > 5),
            "1 sees {p}'s small layer: {got:?}"
        );
    }
    assert_eq!(told(&w, 1), Some([false, false, true]));
    let resumed_after: Vec<_> = w
        .events
        .iter()
        .filter(|(t, e)| *t >= asked && matches!(e, MediaEvent::SendLayers { .. }))
        .map(|(t, _)| *t - asked)
        .collect();
    assert!(
        resumed_after
            .iter()
            .all(|d| *d < Duration::from_millis(300)),
        "asked back at once: {resumed_after:?}"
    );
    // The others never lost a frame of the top layer.
    for (sub, publisher) in [(2, 3), (3, 2), (2, 1)] {
        let got = w.received_during(Duration::from_secs(1), sub, publisher);
        assert_eq!(got.keys().copied().collect::<Vec<_>>(), vec![HIGH]);
    }
    let c = w.sfu.counters().forward;
    assert!(
        c.sent_layer_changes >= 5,
        "counted: {}",
        c.sent_layer_changes
    );
}
