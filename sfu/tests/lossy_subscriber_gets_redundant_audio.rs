//! A member whose downlink loses packets gets RED (each audio packet repeats
//! the previous frames) and so hears every frame; members on clean links get
//! plain Opus, byte for byte what they got before; and the protection ends
//! when the loss does.

mod common;
use std::time::Duration;

use common::{Conditions, World};

const FAR: u8 = 3;

fn room_with_far_member(w: &mut World, loss: f64) {
    for id in 1..=4 {
        w.join(id);
    }
    let far = w.client(FAR).addr;
    w.net.downlink_loss = vec![(far, loss)];
}

#[test]
fn a_lossy_member_hears_every_frame_and_the_others_get_plain_opus() {
    let mut w = World::new(11, Conditions::CLEAN);
    room_with_far_member(&mut w, 0.05);
    // Two receiver reports (about 5 s apart per stream) show the loss.
    w.run_for(Duration::from_secs(15));
    let from: Vec<(u8, u32)> = [1, 2, 4]
        .map(|p| (p, w.client(FAR).newest_audio(p)))
        .to_vec();
    let red_before: Vec<u64> = [1, 2, 4]
        .map(|p| w.client(FAR).from(p).red_packets)
        .to_vec();
    let clean_before: u64 = [1, 2]
        .iter()
        .map(|&s| w.client(s).from(4).audio_bytes)
        .sum();
    let lost_before = w.net.lost;
    w.run_for(Duration::from_secs(20));
    assert!(
        w.net.lost - lost_before > 200,
        "the downlink lost too little"
    );
    for ((publisher, after), red_before) in from.into_iter().zip(red_before) {
        let got = w.client(FAR).audio_completeness_after(publisher, after);
        assert!(
            got >= 0.995,
            "the far member heard {:.2}% of {publisher}'s frames",
            got * 100.0
        );
        // Protected for the whole window: 50 packets a second, less the
        // 5 % the link loses.
        let red = w.client(FAR).from(publisher).red_packets - red_before;
        assert!(red >= 880, "only {red} RED packets from {publisher}");
    }
    // Clean members: no RED at all, 50 plain 60-byte packets a second.
    for sub in [1, 2, 4] {
        for publisher in [1, 2, 3, 4] {
            if publisher != sub {
                assert_eq!(w.client(sub).from(publisher).red_packets, 0);
            }
        }
    }
    let clean_bytes: u64 = [1, 2]
        .iter()
        .map(|&s| w.client(s).from(4).audio_bytes)
        .sum::<u64>()
        - clean_before;
    assert_eq!(clean_bytes, 2 * 20 * 50 * 60, "clean members' audio bytes");
}

#[test]
fn protection_ends_when_the_loss_does() {
    let mut w = World::new(12, Conditions::CLEAN);
    room_with_far_member(&mut w, 0.05);
    w.run_for(Duration::from_secs(15));
    assert!(w.client(FAR).from(1).red_packets > 0, "never protected");
    w.net.downlink_loss.clear();
    // Held for a while (loss comes in bursts), then plain Opus again.
    w.run_for(Duration::from_secs(30));
    let red = w.client(FAR).from(1).red_packets;
    w.run_for(Duration::from_secs(10));
    assert_eq!(
        w.client(FAR).from(1).red_packets,
        red,
        "still protected 30 s after the loss ended"
    );
}

#[test]
fn without_protection_the_same_link_loses_frames() {
    let mut w = World::with_config(11, Conditions::CLEAN, |c| c.audio_protection = false);
    room_with_far_member(&mut w, 0.05);
    w.run_for(Duration::from_secs(10));
    let after = w.client(FAR).newest_audio(1);
    w.run_for(Duration::from_secs(20));
    let got = w.client(FAR).audio_completeness_after(1, after);
    assert!(got < 0.97, "heard {:.2}% without protection", got * 100.0);
    assert_eq!(w.client(FAR).from(1).red_packets, 0);
}

#[test]
fn a_member_whose_browser_cannot_take_red_gets_plain_opus_even_when_lossy() {
    let mut w = World::new(13, Conditions::CLEAN);
    for id in 1..=2 {
        w.join(id);
    }
    w.offers_red = false;
    w.join(FAR);
    let far = w.client(FAR).addr;
    w.net.downlink_loss = vec![(far, 0.05)];
    w.run_for(Duration::from_secs(20));
    assert!(w.client(FAR).from(1).audio_packets > 800);
    assert_eq!(w.client(FAR).from(1).red_packets, 0);
}

#[test]
fn a_publisher_sending_red_is_forwarded_as_plain_opus() {
    let mut w = World::new(14, Conditions::CLEAN);
    w.join(1);
    w.join(2);
    w.client_mut(1).publishes_red = true;
    w.run_for(Duration::from_secs(5));
    let from_red = w.client(2).from(1);
    assert!(
        from_red.audio_packets > 200,
        "the RED publisher was not heard"
    );
    assert_eq!(from_red.red_packets, 0);
    assert_eq!(from_red.audio_bytes, from_red.audio_packets * 60);
}
