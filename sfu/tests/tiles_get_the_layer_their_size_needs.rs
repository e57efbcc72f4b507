//! A page says which tiles it shows and how large; each slot then gets the
//! layer its tile can show (a small tile the small layer, a tile off screen
//! no video at all), and a tile that comes back on screen gets video at
//! once. Other subscribers are not affected.

mod common;
use std::collections::BTreeMap;
use std::time::Duration;

use common::{Conditions, World};
use haven_sfu::core::MediaEvent;

const LOW: u8 = 0;
const MID: u8 = 1;
const HIGH: u8 = 2;

#[test]
fn each_tile_gets_the_layer_its_size_needs_and_hidden_tiles_none() {
    let mut w = World::new(41, Conditions::CLEAN);
    for id in 1..=4 {
        w.join(id);
    }
    w.run_for(Duration::from_secs(2));
    // A phone: 2's tile small, 3's larger, 4's off screen.
    w.show(1, &[(2, 300), (3, 700)]);
    // Downgrades are at once; each switch waits for a keyframe.
    w.run_for(Duration::from_secs(2));
    let layers = |m: &BTreeMap<u8, u64>| m.keys().copied().collect::<Vec<_>>();
    assert_eq!(
        layers(&w.received_during(Duration::from_secs(1), 1, 2)),
        vec![LOW]
    );
    assert_eq!(
        layers(&w.received_during(Duration::from_secs(1), 1, 3)),
        vec![MID]
    );
    assert_eq!(
        w.received_during(Duration::from_secs(1), 1, 4),
        BTreeMap::new(),
        "no video for a tile off screen"
    );
    assert!(
        !w.events
            .iter()
            .any(|(_, e)| matches!(e, MediaEvent::VideoPaused { paused: true, .. })),
        "a hidden tile is not 'video paused to keep voices clear'"
    );
    // The others still get everyone in full.
    for (sub, publisher) in [(2, 4), (3, 4), (2, 1)] {
        assert_eq!(
            layers(&w.received_during(Duration::from_secs(1), sub, publisher)),
            vec![HIGH]
        );
    }

    // The metrics count it: two switches down on 1's page, video forwarded
    // in every layer, and in all within what was forwarded.
    let c = w.sfu.counters().forward;
    assert!(
        c.layer_switches >= 2,
        "switches counted: {}",
        c.layer_switches
    );
    assert!(
        c.video_forwarded_by_layer.iter().all(|n| *n > 0)
            && c.video_forwarded_by_layer.iter().sum::<u64>() < c.packets_forwarded,
        "video by layer {:?} of {}",
        c.video_forwarded_by_layer,
        c.packets_forwarded
    );

    // 4's tile comes on screen: its video is there within half a second,
    // starting on a keyframe.
    w.show(1, &[(2, 300), (3, 700), (4, 300)]);
    let back = w.received_during(Duration::from_millis(500), 1, 4);
    assert_eq!(layers(&back), vec![LOW], "video back at once: {back:?}");
}
