//! The SFU names the active speaker from RFC 6464 audio levels, at most about
//! four times a second, and follows the conversation from one voice to another.

mod common;
use std::time::Duration;

use common::{Conditions, World};
use haven_sfu::MediaEvent;

fn speakers_since(w: &World, since: std::time::Instant) -> Vec<Option<u64>> {
    w.events_since(since)
        .filter_map(|e| match e {
            MediaEvent::ActiveSpeaker { participant, .. } => Some(participant.map(|p| p.0)),
            _ => None,
        })
        .collect()
}

#[test]
fn active_speaker_moves_from_one_voice_to_the_next() {
    let mut w = World::new(5, Conditions::CLEAN);
    for id in 1..=3 {
        w.join(id);
    }
    w.run_for(Duration::from_secs(1));
    assert!(
        speakers_since(&w, w.now - Duration::from_secs(1))
            .iter()
            .all(|s| s.is_none()),
        "silence named a speaker"
    );

    let t0 = w.now;
    w.client_mut(2).level = 20;
    w.run_for(Duration::from_secs(2));
    assert_eq!(speakers_since(&w, t0), vec![Some(2)]);

    let t1 = w.now;
    w.client_mut(2).level = 127;
    w.client_mut(3).level = 25;
    w.run_for(Duration::from_secs(2));
    assert_eq!(speakers_since(&w, t1), vec![Some(3)]);

    let t2 = w.now;
    w.client_mut(3).level = 127;
    w.run_for(Duration::from_secs(1));
    assert_eq!(speakers_since(&w, t2), vec![None]);
}
