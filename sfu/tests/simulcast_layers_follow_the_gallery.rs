//! Publishers send simulcast (q, h, f) and each subscriber receives one
//! layer per tile: in a small group the full layer of everyone; in a bigger
//! one the lowest, except the last speaker's full one; a publisher
//! without simulcast reaches everyone as it is. A subscriber's stream moves
//! to another layer only on that layer's keyframe.

mod common;
use std::time::Duration;

use common::{Conditions, World};

const LOW: u8 = 0;
const MID: u8 = 1;
const HIGH: u8 = 2;

/// The layers `sub` received from `publisher` over the next `d`.
fn layers_during(w: &mut World, d: Duration, sub: u8, publisher: u8) -> Vec<u8> {
    let before = w.client(sub).from(publisher).video_layers.clone();
    w.run_for(d);
    let after = &w.client(sub).from(publisher).video_layers;
    after
        .iter()
        .filter(|(l, n)| before.get(l).copied().unwrap_or(0) < **n)
        .map(|(l, _)| *l)
        .collect()
}

fn assert_received(w: &World, sub: u8, publisher: u8, layer: u8) {
    assert_eq!(
        w.client(sub).from(publisher).last_video_layer,
        Some(layer),
        "{sub} receives layer {:?} of {publisher}",
        w.client(sub).from(publisher).last_video_layer
    );
}

#[test]
fn a_small_group_gets_everyone_in_full() {
    let mut w = World::new(21, Conditions::CLEAN);
    for id in 1..=3 {
        w.join(id);
    }
    w.run_for(Duration::from_secs(2));
    for sub in 1..=3u8 {
        for publisher in (1..=3u8).filter(|p| *p != sub) {
            assert_eq!(
                layers_during(&mut w, Duration::from_secs(1), sub, publisher),
                vec![HIGH]
            );
        }
    }
}

#[test]
fn a_bigger_group_gets_small_layers_and_the_speaker_in_full() {
    let mut w = World::new(22, Conditions::CLEAN);
    w.slots = 6;
    for id in 1..=6 {
        w.join(id);
    }
    w.run_for(Duration::from_secs(2));
    for publisher in 2..=6 {
        assert_eq!(
            layers_during(&mut w, Duration::from_secs(1), 1, publisher),
            vec![LOW]
        );
    }
    // 4 starts speaking: its tile goes up, a step at a time (each upgrade
    // waits 2 s, then for the new layer's keyframe).
    w.client_mut(4).level = 20;
    w.run_for(Duration::from_secs(6));
    assert_received(&w, 1, 4, HIGH);
    assert_eq!(
        layers_during(&mut w, Duration::from_secs(1), 1, 4),
        vec![HIGH]
    );
    assert_received(&w, 1, 5, LOW);
    // The switch began with a keyframe of the new layer.
    let from4 = w.client(1).from(4);
    assert_eq!(from4.first_video_was_keyframe, Some(true));
    assert_eq!(from4.layer_switches, vec![(MID, true), (HIGH, true)]);
}

#[test]
fn a_publisher_without_simulcast_reaches_everyone() {
    let mut w = World::new(23, Conditions::CLEAN);
    w.join(1);
    w.join_with(2, false);
    w.join(3);
    w.run_for(Duration::from_secs(2));
    for sub in [1, 3] {
        assert_eq!(
            layers_during(&mut w, Duration::from_secs(1), sub, 2),
            vec![LOW],
            "the single stream is its own lowest layer"
        );
        assert!(w.client(sub).video_completeness(2) > 0.99);
    }
    assert_received(&w, 2, 1, HIGH);
}
