//! A round goes through everyone in order: members first, then staff;
//! "Next" is the moderator's, passing is the speaker's own; people who
//! leave drop out; the round ends after the last turn.

use super::*;

fn round_seen_by(fx: &[Effect], who: ParticipantId) -> Option<Option<RoundView>> {
    notices_to(fx, who).into_iter().rev().find_map(|n| match n {
        Notice::Round(v) => Some(v.clone()),
        _ => None,
    })
}

#[test]
fn a_round_goes_through_everyone_in_order_and_members_may_pass() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let a = h.admitted_member(fac);
    let b = h.admitted_group_member(fac, 3);
    let (waiting, _) = h.enter(4, Seat::Group, Role::Member, "W");

    // Only the moderator opens it.
    let fx = h.run(Command::RoundStart {
        by: a,
        kind: RoundKind::CheckIn,
    });
    assert_eq!(
        notices_to(&fx, a),
        vec![&Notice::Refused(Refusal::NotAllowed)]
    );

    let fx = h.run(Command::RoundStart {
        by: fac,
        kind: RoundKind::CheckIn,
    });
    let view = round_seen_by(&fx, b)
        .flatten()
        .expect("everyone admitted sees it");
    assert_eq!(view.order, vec![(a, false), (b, false), (fac, false)]);
    assert_eq!(view.current, a);
    assert_eq!(
        round_seen_by(&fx, waiting),
        None,
        "the waiting room sees nothing"
    );

    // Not b's turn yet.
    let fx = h.run(Command::RoundPass { by: b });
    assert_eq!(
        notices_to(&fx, b),
        vec![&Notice::Refused(Refusal::NotAllowed)]
    );
    let fx = h.run(Command::RoundNext { by: fac });
    assert_eq!(round_seen_by(&fx, a).flatten().unwrap().current, b);
    let fx = h.run(Command::RoundPass { by: b });
    let view = round_seen_by(&fx, a).flatten().unwrap();
    assert_eq!(view.current, fac);
    assert_eq!(view.order[1], (b, true));
    // After the last turn the round is over.
    let fx = h.run(Command::RoundNext { by: fac });
    assert_eq!(round_seen_by(&fx, a), Some(None));
    assert!(h.run(Command::RoundNext { by: fac }).is_empty());
}

#[test]
fn someone_who_leaves_drops_out_of_the_round() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let a = h.admitted_member(fac);
    let b = h.admitted_group_member(fac, 3);
    h.run(Command::RoundStart {
        by: fac,
        kind: RoundKind::Round,
    });
    let fx = h.run(Command::Leave { by: a });
    let view = round_seen_by(&fx, b).flatten().unwrap();
    assert_eq!(view.order, vec![(b, false), (fac, false)]);
    assert_eq!(view.current, b, "the turn passes to the next one here");
    let fx = h.run(Command::RoundEnd { by: fac });
    assert_eq!(round_seen_by(&fx, b), Some(None));
}
