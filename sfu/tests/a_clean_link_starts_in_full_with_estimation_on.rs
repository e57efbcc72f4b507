//! With bandwidth estimation on, members on clean links see each other in
//! full from the first seconds: the estimate is not talked down at the
//! start by what the voices alone would need before any video has arrived
//! (it fell from 3 to 0.3 Mbit/s within 0.6 s, and every join began with
//! seconds of small or paused video).

mod common;
use std::time::Duration;

use common::{Conditions, World};

const HIGH: u8 = 2;

#[test]
fn members_on_clean_links_get_the_top_layer_and_keep_a_high_estimate() {
    let mut w = World::with_config(41, Conditions::CLEAN, |c| c.bandwidth_estimation = true);
    for id in 1..=3 {
        w.join(id);
    }
    w.run_for(Duration::from_secs(2));
    for sub in 1..=3u8 {
        for publisher in (1..=3u8).filter(|p| *p != sub) {
            let got = w.received_during(Duration::from_millis(500), sub, publisher);
            assert_eq!(
                got.keys().copied().collect::<Vec<_>>(),
                vec![HIGH],
                "{sub} from {publisher} in the third second: {got:?}"
            );
        }
    }
    // No estimate at or under 1 Mbit/s on the way.
    let estimates = w.sfu.counters().forward.downlink_estimates;
    assert_eq!(
        estimates.counts[..4].iter().sum::<u64>(),
        0,
        "estimates by bucket (100, 250, 500, 1000 kbit/s …): {estimates:?}"
    );
}
