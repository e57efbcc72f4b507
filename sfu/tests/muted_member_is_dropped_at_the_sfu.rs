//! A facilitator's mute is enforced by the SFU: the muted member's audio stops
//! reaching everyone else even though its client keeps sending, and resumes
//! when allowed again. Video is independent.

mod common;
use std::time::Duration;

use common::{Conditions, World, ROOM};
use haven_sfu::PublishPermission;

#[test]
fn muted_audio_is_dropped_and_resumes_when_allowed() {
    let mut w = World::new(3, Conditions::CLEAN);
    w.join(1);
    w.join(2);
    w.join(3);
    w.run_for(Duration::from_secs(2));

    let mute = PublishPermission {
        audio: false,
        video: true,
    };
    let now = w.now;
    w.sfu.set_publish(now, ROOM, World::pid(2), mute).unwrap();
    w.drain_sfu();
    w.run_for(Duration::from_millis(200)); // packets already in flight land
    let audio_at_mute: Vec<u64> = [1u8, 3]
        .iter()
        .map(|s| w.client(*s).from(2).audio_packets)
        .collect();
    let video_at_mute: Vec<u64> = [1u8, 3]
        .iter()
        .map(|s| w.client(*s).from(2).video_packets)
        .collect();
    w.run_for(Duration::from_secs(2));
    for (i, s) in [1u8, 3].iter().enumerate() {
        let r = w.client(*s).from(2);
        assert_eq!(
            r.audio_packets, audio_at_mute[i],
            "{s} still hears the muted member"
        );
        assert!(
            r.video_packets > video_at_mute[i] + 50,
            "{s} lost the muted member's video"
        );
        // The muted member's own client still sends, and others still flow.
        assert!(
            w.client(*s)
                .from(if *s == 1 { 3 } else { 1 })
                .last_audio_at
                .unwrap()
                > w.now - Duration::from_millis(100)
        );
    }
    assert!(w.sfu.counters().forward.dropped_not_permitted > 80);

    let now = w.now;
    w.sfu
        .set_publish(now, ROOM, World::pid(2), PublishPermission::ALL)
        .unwrap();
    w.drain_sfu();
    w.run_for(Duration::from_secs(1));
    for (i, s) in [1u8, 3].iter().enumerate() {
        let r = w.client(*s).from(2);
        assert!(
            r.audio_packets > audio_at_mute[i] + 40,
            "{s} does not hear the member after unmute"
        );
    }
}
