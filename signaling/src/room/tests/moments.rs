//! "I need a moment" reaches the facilitators and nobody else; stepping
//! away is on the roster for everyone in the room.

use super::*;

#[test]
fn need_a_moment_reaches_both_facilitators_and_no_member() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let (co, _) = h.enter(5, Seat::Staff(AccountId(2)), Role::CoFacilitator, "Co");
    let river = h.admitted_member(fac);
    let other = h.admitted_group_member(fac, 4);

    let fx = h.run(Command::NeedMoment {
        by: river,
        on: true,
    });
    for staff in [fac, co] {
        assert_eq!(
            notices_to(&fx, staff),
            vec![&Notice::NeedMoment(vec![(river, Duration::ZERO)])]
        );
    }
    assert!(notices_to(&fx, other).is_empty() && notices_to(&fx, river).is_empty());

    // A facilitator who reconnects learns it again, with the time since.
    h.now += Duration::from_secs(90);
    h.run(Command::ConnectionLost { conn: ConnId(5) });
    let (co_again, fx) = h.enter_with_key(
        6,
        Seat::Staff(AccountId(2)),
        Role::CoFacilitator,
        "Co",
        "key-5",
    );
    assert_eq!(co_again, co, "the same seat, resumed");
    assert!(
        notices_to(&fx, co).contains(&&Notice::NeedMoment(vec![(river, Duration::from_secs(90))]))
    );

    // Withdrawn: the list empties; saying it twice changes nothing.
    let fx = h.run(Command::NeedMoment {
        by: river,
        on: false,
    });
    assert_eq!(notices_to(&fx, fac), vec![&Notice::NeedMoment(vec![])]);
    assert!(h
        .run(Command::NeedMoment {
            by: river,
            on: false
        })
        .is_empty());
}

#[test]
fn staff_and_waiting_members_cannot_say_they_need_a_moment() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let (waiting, _) = h.enter(3, Seat::Group, Role::Member, "W");
    for by in [fac, waiting] {
        let fx = h.run(Command::NeedMoment { by, on: true });
        assert_eq!(
            notices_to(&fx, by),
            vec![&Notice::Refused(Refusal::NotAllowed)]
        );
        assert!(notices_to(&fx, fac)
            .iter()
            .all(|n| !matches!(n, Notice::NeedMoment(_))));
    }
}

#[test]
fn returning_to_the_waiting_room_clears_the_signal_and_stepping_away() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let m = h.admitted_member(fac);
    h.run(Command::NeedMoment { by: m, on: true });
    let fx = h.run(Command::StepAway { by: m, away: true });
    let away_in_roster = |fx: &[Effect]| {
        notices_to(fx, fac).iter().find_map(|n| match n {
            Notice::Roster(r) => r.iter().find(|e| e.id == m).map(|e| e.away),
            _ => None,
        })
    };
    assert_eq!(
        away_in_roster(&fx),
        Some(true),
        "everyone sees the empty chair"
    );
    let fx = h.run(Command::ReturnToWaiting { by: fac, who: m });
    assert!(notices_to(&fx, fac).contains(&&Notice::NeedMoment(vec![])));
    let fx = h.run(Command::Admit { by: fac, who: m });
    assert_eq!(away_in_roster(&fx), Some(false));
}

#[test]
fn the_session_clock_is_for_staff_only() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    h.now += Duration::from_secs(600);
    let (co, fx) = h.enter(5, Seat::Staff(AccountId(2)), Role::CoFacilitator, "Co");
    assert!(notices_to(&fx, co).contains(&&Notice::Clock {
        elapsed: Duration::from_secs(600),
        length: Duration::from_secs(90 * 60),
    }));
    // Members are never told (the property tests check every notice).
    let (m, _) = h.enter(2, Seat::Personal(LinkId(1)), Role::Member, "M");
    let fx = h.run(Command::Admit { by: fac, who: m });
    assert!(notices_to(&fx, m)
        .iter()
        .all(|n| !matches!(n, Notice::Clock { .. })));
}
