//! A member whose decoder keeps failing (a lossy link, an old laptop) asks
//! for keyframes all the time. Each publisher still gets at most about one
//! keyframe request a second from all its subscribers together: a keyframe
//! costs several delta frames, and the others' pictures must not suffer for
//! one member's link. The same room without the throttle shows the requests
//! do reach the SFU.

mod common;
use std::time::Duration;

use common::{Conditions, World};

/// Keyframe requests each publisher (2, 3, 4) received while member 1 asked
/// every 20 ms for 6 s, and the video packets member 3 received from 2.
fn nagging(repair_interval: Duration) -> (Vec<u64>, u64) {
    let mut w = World::with_config(5, Conditions::CLEAN, |c| {
        c.keyframe_repair_interval = repair_interval;
    });
    for id in 1..=4 {
        w.join(id);
    }
    w.run_for(Duration::from_secs(4));
    let before: Vec<u64> = (2..=4)
        .map(|p| w.client(p).keyframe_requests_received)
        .collect();
    let seen_before = w.client(3).from(2).video_packets;
    for _ in 0..300 {
        w.ask_for_keyframes(1);
        w.run_for(Duration::from_millis(20));
    }
    let asked = (2..=4)
        .zip(before)
        .map(|(p, b)| w.client(p).keyframe_requests_received - b)
        .collect();
    (asked, w.client(3).from(2).video_packets - seen_before)
}

#[test]
fn a_member_asking_for_keyframes_all_the_time_costs_each_publisher_one_a_second() {
    let (asked, others_video) = nagging(Duration::from_secs(1));
    println!("keyframe requests per publisher over 6 s: {asked:?}");
    for (p, n) in (2..=4).zip(&asked) {
        // Ten a second at most, and one more for a layer switch.
        assert!(*n <= 11, "publisher {p} was asked for {n} keyframes in 6 s");
        assert!(
            *n >= 3,
            "publisher {p} was asked for only {n}: the member was not heard"
        );
    }
    assert!(
        others_video > 300,
        "member 3 received {others_video} video packets of 2"
    );

    // With the repair throttle at the member's own pace (20 ms), every one of
    // its 300 requests reaches every publisher: the test can tell.
    let (unthrottled, _) = nagging(Duration::from_millis(20));
    println!("without the repair throttle: {unthrottled:?}");
    assert!(unthrottled.iter().all(|n| *n >= 150), "{unthrottled:?}");
}
