//! Under 5% loss with jitter (and so reordering) on every link, NACK and
//! retransmission make video arrive nearly complete, while audio (which is
//! not retransmitted) shows the raw loss.

mod common;
use std::time::Duration;

use common::{Conditions, World};

#[test]
fn nack_recovers_video_lost_on_both_legs() {
    let lossy = Conditions {
        loss: 0.05,
        delay: Duration::from_millis(20),
        jitter: Duration::from_millis(15),
    };
    // Audio protection (RED) would repair audio too; this test is about
    // video, and shows audio's raw loss.
    let mut w = World::with_config(42, Conditions::CLEAN, |c| c.audio_protection = false);
    // One stream per publisher: this is about repair, not layer choice.
    // (With simulcast, a layer switch while both legs lose 5 % and reorder
    // sometimes leaves a run of the new layer unrepaired: see docs/media.md.)
    w.simulcast = false;
    w.join(1);
    w.join(2);
    w.net.conditions = lossy;
    w.run_for(Duration::from_secs(10));
    w.net.conditions = Conditions::CLEAN;
    w.run_for(Duration::from_secs(1));

    assert!(
        w.net.lost > 100,
        "the emulator lost only {} datagrams",
        w.net.lost
    );
    for (sub, publisher) in [(1u8, 2u8), (2, 1)] {
        let c = w.client(sub);
        let video = c.video_completeness(publisher);
        let audio_seqs = &c.from(publisher).audio_seqs;
        let audio = audio_seqs.len() as f64
            / (audio_seqs.last().unwrap() - audio_seqs.first().unwrap() + 1) as f64;
        assert!(
            video > 0.995,
            "{sub} received {:.2}% of {publisher}'s video",
            video * 100.0
        );
        // Two lossy legs: about 9.75% of audio lost, unrepaired.
        assert!(
            audio < 0.96,
            "audio should show the raw loss, got {:.2}%",
            audio * 100.0
        );
    }
}
