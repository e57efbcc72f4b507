//! Leaving (or being removed) frees everything the participant held: its
//! routes, its slots at everyone else, its speaker state, and the room when
//! the last one leaves. The others keep their media.

mod common;
use std::time::Duration;

use common::{Conditions, World, ROOM};
use haven_sfu::core::Footprint;
use haven_sfu::MediaEvent;

#[test]
fn leaving_frees_every_trace_and_others_keep_talking() {
    let mut w = World::new(11, Conditions::CLEAN);
    for id in 1..=3 {
        w.join(id);
    }
    w.client_mut(2).level = 20;
    w.run_for(Duration::from_secs(2));
    let full = w.sfu.footprint();
    assert_eq!(
        (
            full.participants,
            full.ufrag_routes,
            full.addr_routes,
            full.occupied_slots
        ),
        (3, 3, 3, 6)
    );

    let t = w.now;
    w.leave(2);
    let after = w.sfu.footprint();
    assert_eq!(
        (
            after.participants,
            after.ufrag_routes,
            after.addr_routes,
            after.occupied_slots
        ),
        (2, 2, 2, 2)
    );
    assert_eq!(w.sfu.subscribers_of(ROOM, World::pid(2)), 0);
    // Both remaining members were told their slot for 2 is empty.
    let emptied = w
        .events_since(t)
        .filter(|e| {
            matches!(
                e,
                MediaEvent::SlotAssigned {
                    publisher: None,
                    ..
                }
            )
        })
        .count();
    assert_eq!(emptied, 2);
    // What the departed member's closed connection might still report is
    // let go (counted), never passed to the control plane as news of it.
    assert!(w.events_since(t).all(|e| !matches!(
        e,
        MediaEvent::Connected { participant, .. } | MediaEvent::Disconnected { participant, .. }
            if *participant == World::pid(2)
    )));

    // Datagrams from the departed member's address go nowhere now.
    let dropped = w.sfu.counters().dropped_unrouted;
    let gone_addr = "10.0.0.12:5000".parse().unwrap();
    w.inject(gone_addr, &[0x80, 0x60, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
    assert_eq!(w.sfu.counters().dropped_unrouted, dropped + 1);

    let before = (
        w.client(1).from(3).audio_packets,
        w.client(3).from(1).audio_packets,
    );
    w.run_for(Duration::from_secs(1));
    assert!(w.client(1).from(3).audio_packets > before.0 + 40);
    assert!(w.client(3).from(1).audio_packets > before.1 + 40);

    w.leave(1);
    w.leave(3);
    w.run_for(Duration::from_millis(500));
    assert_eq!(w.sfu.footprint(), Footprint::default());
    assert!(w.sfu.participants_in(ROOM).is_empty());
}
