//! A member who joins while others are already talking sees their video start
//! on a keyframe within a fraction of a second, because the SFU asks each
//! publisher for one instead of waiting for the next periodic keyframe.

mod common;
use std::time::Duration;

use common::{Conditions, World};

#[test]
fn late_joiner_gets_keyframes_on_request_not_by_luck() {
    let mut w = World::new(7, Conditions::CLEAN);
    w.join(1);
    w.join(2);
    // Publishers send keyframes only when asked.
    for id in [1, 2] {
        w.client_mut(id).keyframe_interval = Duration::ZERO;
    }
    w.run_for(Duration::from_secs(5));
    let asked_before =
        w.client(1).keyframe_requests_received + w.client(2).keyframe_requests_received;

    let joined_at = w.now;
    w.join(3);
    w.run_for(Duration::from_secs(2));

    let late = w.client(3);
    for publisher in [1, 2] {
        let r = late.from(publisher);
        assert_eq!(
            r.first_video_was_keyframe,
            Some(true),
            "video from {publisher} started mid-frame"
        );
        let delay = r.first_video_at.expect("video arrived") - joined_at;
        assert!(
            delay < Duration::from_millis(500),
            "first keyframe from {publisher} after {delay:?}"
        );
        assert!(r.video_packets > 50);
    }
    let asked_after =
        w.client(1).keyframe_requests_received + w.client(2).keyframe_requests_received;
    assert!(
        asked_after > asked_before,
        "publishers were not asked for a keyframe"
    );
    // Throttled: one join does not make a publisher send a stream of keyframes.
    assert!(
        asked_after - asked_before <= 4,
        "{} keyframe requests for one join",
        asked_after - asked_before
    );
}
