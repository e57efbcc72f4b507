//! The room state machine, driven directly: situations first, then property
//! tests over random command sequences.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;

fn settings(capacity: usize) -> RoomSettings {
    RoomSettings {
        capacity,
        reconnect_grace: Duration::from_secs(30),
    }
}

fn name(n: &str) -> DisplayName {
    DisplayName::parse(n).unwrap()
}

struct Harness {
    room: Room,
    now: Instant,
    next_id: u64,
}

impl Harness {
    fn new(capacity: usize) -> Self {
        Self {
            room: Room::new(settings(capacity)),
            now: Instant::now(),
            next_id: 0,
        }
    }
    fn run(&mut self, c: Command) -> Vec<Effect> {
        self.room.handle(self.now, c)
    }
    /// Arrive on `conn` holding the key "key-{conn}" (a fresh device).
    fn enter(
        &mut self,
        conn: u64,
        seat: Seat,
        role: Role,
        n: &str,
    ) -> (ParticipantId, Vec<Effect>) {
        self.enter_with_key(conn, seat, role, n, &format!("key-{conn}"))
    }
    fn enter_with_key(
        &mut self,
        conn: u64,
        seat: Seat,
        role: Role,
        n: &str,
        key: &str,
    ) -> (ParticipantId, Vec<Effect>) {
        self.next_id += 1;
        let id = ParticipantId(self.next_id);
        let fx = self.run(Command::Enter(Arrival {
            conn: ConnId(conn),
            id,
            seat,
            role,
            name: name(n),
            key: ResumeKey::new(key.to_owned()),
        }));
        let attached = fx.iter().find_map(|e| match e {
            Effect::Attach { who, .. } => Some(*who),
            _ => None,
        });
        (attached.unwrap_or(id), fx)
    }
    /// The facilitator, on connection 1.
    fn facilitator(&mut self) -> ParticipantId {
        self.enter(1, Seat::Staff(AccountId(1)), Role::Facilitator, "F")
            .0
    }
    /// Member "M" with personal link 1 on connection 2, admitted by `fac`.
    fn admitted_member(&mut self, fac: ParticipantId) -> ParticipantId {
        let (m, _) = self.enter(2, Seat::Personal(LinkId(1)), Role::Member, "M");
        self.run(Command::Admit { by: fac, who: m });
        m
    }
    /// As `admitted_member`, and connected to the media plane.
    fn member_with_media(&mut self, fac: ParticipantId) -> ParticipantId {
        let m = self.admitted_member(fac);
        self.run(Command::Offer {
            by: m,
            sdp: "v=0".into(),
        });
        m
    }
}

fn notices_to(fx: &[Effect], to: ParticipantId) -> Vec<&Notice> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Notify { to: t, notice } if *t == to => Some(notice),
            _ => None,
        })
        .collect()
}

#[test]
fn knocking_member_waits_and_sees_nothing_until_admitted() {
    let mut h = Harness::new(12);
    let (fac, _) = h.enter(1, Seat::Staff(AccountId(1)), Role::Facilitator, "Dr Ada");
    let (m1, _) = h.enter(2, Seat::Personal(LinkId(1)), Role::Member, "Sam");
    h.run(Command::Admit { by: fac, who: m1 });
    let (m2, fx) = h.enter(3, Seat::Group, Role::Member, "Kim");
    assert_eq!(notices_to(&fx, m2), vec![&Notice::Waiting]);
    // Staff see the knock, marked unknown, after the known one was admitted.
    let list = fx.iter().find_map(|e| match e {
        Effect::Notify {
            to,
            notice: Notice::WaitingList(l),
        } if *to == fac => Some(l.clone()),
        _ => None,
    });
    assert_eq!(
        list.unwrap()
            .iter()
            .map(|w| (w.id, w.known))
            .collect::<Vec<_>>(),
        vec![(m2, false)]
    );
    // Chat while m2 waits reaches only the admitted.
    let fx = h.run(Command::Chat {
        by: m1,
        to: None,
        text: ChatText::parse("hello").unwrap(),
    });
    assert!(notices_to(&fx, m2).is_empty());
    // An offer from a waiting member never reaches the media plane.
    let fx = h.run(Command::Offer {
        by: m2,
        sdp: "v=0".into(),
    });
    assert!(!fx.iter().any(|e| matches!(e, Effect::MediaAdd { .. })));
}

#[test]
fn late_facilitator_means_nobody_is_admitted() {
    let mut h = Harness::new(12);
    let (m, _) = h.enter(1, Seat::Personal(LinkId(1)), Role::Member, "Sam");
    h.now += Duration::from_secs(600);
    h.run(Command::Tick);
    assert!(!h.room.is_admitted(m));
    // A member cannot admit themselves.
    let fx = h.run(Command::Admit { by: m, who: m });
    assert_eq!(
        notices_to(&fx, m),
        vec![&Notice::Refused(Refusal::NotAllowed)]
    );
    let (fac, _) = h.enter(2, Seat::Staff(AccountId(1)), Role::Facilitator, "Dr Ada");
    h.run(Command::Admit { by: fac, who: m });
    assert!(h.room.is_admitted(m));
}

#[test]
fn capacity_is_never_exceeded_and_the_facilitator_is_told_why() {
    let mut h = Harness::new(2);
    let fac = h.facilitator();
    let ids: Vec<ParticipantId> = (0..4)
        .map(|i| {
            h.enter(10 + i, Seat::Personal(LinkId(i as i64)), Role::Member, "M")
                .0
        })
        .collect();
    let fx = h.run(Command::AdmitAll { by: fac });
    assert_eq!(h.room.admitted_members(), 2);
    assert!(notices_to(&fx, fac).contains(&&Notice::Refused(Refusal::Full { capacity: 2 })));
    assert!(!h.room.is_admitted(ids[2]) && !h.room.is_admitted(ids[3]));
}

#[test]
fn removed_link_is_refused_for_the_rest_of_the_session() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let (m, _) = h.enter(2, Seat::Personal(LinkId(5)), Role::Member, "M");
    h.run(Command::Admit { by: fac, who: m });
    let fx = h.run(Command::Remove { by: fac, who: m });
    assert!(fx.contains(&Effect::Close { conn: ConnId(2) }));
    let (_, fx) = h.enter(3, Seat::Personal(LinkId(5)), Role::Member, "M again");
    assert!(fx.contains(&Effect::Reply {
        conn: ConnId(3),
        notice: Notice::Refused(Refusal::Blocked)
    }));
    assert_eq!(h.room.admitted_members(), 0);
}

#[test]
fn dropped_member_rejoins_within_grace_with_their_key_and_without_knocking() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let m = h.admitted_member(fac);
    h.run(Command::ConnectionLost { conn: ConnId(2) });
    h.now += Duration::from_secs(10);
    h.run(Command::Tick);
    // The key handed out to connection 2 resumes the seat.
    let (again, fx) = h.enter_with_key(3, Seat::Personal(LinkId(1)), Role::Member, "M", "key-2");
    assert_eq!(again, m);
    assert!(notices_to(&fx, m).contains(&&Notice::Admitted { you: m }));
    // The same key from another network (a reload, Wi-Fi to mobile data)
    // takes over, and the old connection is closed.
    let (same, fx) = h.enter_with_key(4, Seat::Personal(LinkId(1)), Role::Member, "M", "key-2");
    assert_eq!(same, m);
    assert!(fx.contains(&Effect::Close { conn: ConnId(3) }));
    assert_eq!(h.room.admitted_members(), 1);
    // After the grace period a dropped member is gone.
    h.run(Command::ConnectionLost { conn: ConnId(4) });
    h.now += Duration::from_secs(31);
    h.run(Command::Tick);
    assert_eq!(h.room.admitted_members(), 0);
}

/// The stolen-link attack: a second connection with Marigold's personal link
/// but not her key must knock, flagged, and learn nothing; Marigold keeps
/// her seat and her connection.
#[test]
fn personal_link_on_a_new_device_knocks_and_the_facilitator_decides() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let marigold = h.admitted_member(fac);
    for during_grace in [false, true] {
        if during_grace {
            h.run(Command::ConnectionLost { conn: ConnId(2) });
            h.now += Duration::from_secs(5);
        }
        let conn = if during_grace { 6 } else { 5 };
        let (intruder, fx) = h.enter(conn, Seat::Personal(LinkId(1)), Role::Member, "Intruder");
        assert_ne!(intruder, marigold);
        assert_eq!(notices_to(&fx, intruder), vec![&Notice::Waiting]);
        assert!(notices_to(&fx, marigold).is_empty(), "Marigold disturbed");
        assert!(!fx.contains(&Effect::Close { conn: ConnId(2) }));
        assert!(!h.room.is_admitted(intruder));
        let list = notices_to(&fx, fac)
            .into_iter()
            .find_map(|n| match n {
                Notice::WaitingList(l) => Some(l.clone()),
                _ => None,
            })
            .expect("staff see the knock");
        assert_eq!(list.len(), 1);
        assert_eq!((list[0].id, list[0].device_of), (intruder, Some(marigold)));
        // "Admit all" never lets a second device in.
        h.run(Command::AdmitAll { by: fac });
        assert!(!h.room.is_admitted(intruder) && h.room.is_admitted(marigold));
        // Denying the stranger does not lock Marigold's link.
        h.run(Command::Deny {
            by: fac,
            who: intruder,
        });
        assert!(h.room.is_admitted(marigold));
    }
    let (back, _) = h.enter_with_key(7, Seat::Personal(LinkId(1)), Role::Member, "M", "key-2");
    assert_eq!(back, marigold, "her own key still resumes her");
}

#[test]
fn admitting_a_new_device_replaces_the_old_one_and_keeps_a_forced_mute() {
    let mut h = Harness::new(1);
    let fac = h.facilitator();
    let old = h.member_with_media(fac);
    h.run(Command::Mute {
        by: fac,
        who: old,
        audio: true,
        video: false,
        may_unmute: false,
    });
    let (phone, _) = h.enter(3, Seat::Personal(LinkId(1)), Role::Member, "M on phone");
    // The room is full (capacity 1), but the new device takes the old seat.
    let fx = h.run(Command::Admit {
        by: fac,
        who: phone,
    });
    assert!(h.room.is_admitted(phone) && !h.room.is_admitted(old));
    assert!(notices_to(&fx, old).contains(&&Notice::Replaced));
    assert!(fx.contains(&Effect::Close { conn: ConnId(2) }));
    assert!(fx.contains(&Effect::MediaRemove { who: old }));
    assert!(notices_to(&fx, phone).contains(&&Notice::ForcedMute {
        audio: true,
        video: false,
        may_unmute: false
    }));
    assert_eq!(h.room.admitted_members(), 1);
}

/// Found by `fuzz_room_commands`: an admitted non-member holding the same
/// personal link as a knock made the capacity sum underflow (a panic).
#[test]
fn a_second_device_beside_a_staff_holder_of_the_link_does_not_panic_admission() {
    let mut h = Harness::new(0);
    let fac = h.facilitator();
    h.enter(2, Seat::Personal(LinkId(1)), Role::CoFacilitator, "odd");
    let (knock, _) = h.enter(3, Seat::Personal(LinkId(1)), Role::Member, "M");
    let fx = h.run(Command::Admit {
        by: fac,
        who: knock,
    });
    assert!(notices_to(&fx, fac).contains(&&Notice::Refused(Refusal::Full { capacity: 0 })));
}

#[test]
fn removing_a_member_turns_away_their_other_device_too() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let m = h.admitted_member(fac);
    let (second, _) = h.enter(3, Seat::Personal(LinkId(1)), Role::Member, "M");
    let fx = h.run(Command::Remove { by: fac, who: m });
    assert!(notices_to(&fx, second).contains(&&Notice::Denied));
    assert!(fx.contains(&Effect::Close { conn: ConnId(3) }));
    assert_eq!(h.room.waiting_count(), 0);
}

#[test]
fn facilitator_drop_freezes_admissions_until_the_co_facilitator_takes_over() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let (co, _) = h.enter(2, Seat::Staff(AccountId(2)), Role::CoFacilitator, "C");
    let (m, _) = h.enter(3, Seat::Personal(LinkId(1)), Role::Member, "M");
    let fx = h.run(Command::Admit { by: co, who: m });
    assert_eq!(
        notices_to(&fx, co),
        vec![&Notice::Refused(Refusal::NotAllowed)]
    );
    let fx = h.run(Command::TakeOver { by: co });
    assert_eq!(
        notices_to(&fx, co),
        vec![&Notice::Refused(Refusal::FacilitatorPresent)]
    );
    let fx = h.run(Command::ConnectionLost { conn: ConnId(1) });
    assert!(notices_to(&fx, co).contains(&&Notice::FacilitatorAway { away: true }));
    // The dropped facilitator cannot admit; nobody is admitted by the drop.
    h.run(Command::Admit { by: fac, who: m });
    assert!(!h.room.is_admitted(m));
    h.run(Command::TakeOver { by: co });
    h.run(Command::Admit { by: co, who: m });
    assert!(h.room.is_admitted(m));
}

#[test]
fn facilitator_mute_reaches_the_sfu_and_may_forbid_unmuting() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let m = h.member_with_media(fac);
    let fx = h.run(Command::Mute {
        by: fac,
        who: m,
        audio: true,
        video: false,
        may_unmute: false,
    });
    assert!(fx.contains(&Effect::MediaPublish {
        who: m,
        audio: false,
        video: true
    }));
    let fx = h.run(Command::SelfMedia {
        by: m,
        audio: true,
        video: true,
    });
    assert_eq!(
        notices_to(&fx, m),
        vec![&Notice::Refused(Refusal::MutedByFacilitator)]
    );
    h.run(Command::Mute {
        by: fac,
        who: m,
        audio: true,
        video: false,
        may_unmute: true,
    });
    let fx = h.run(Command::SelfMedia {
        by: m,
        audio: true,
        video: true,
    });
    assert!(fx.contains(&Effect::MediaPublish {
        who: m,
        audio: true,
        video: true
    }));
}

#[test]
fn only_the_facilitator_or_whoever_moderates_may_end_the_session() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let (co, _) = h.enter(2, Seat::Staff(AccountId(2)), Role::CoFacilitator, "C");
    let fx = h.run(Command::End { by: co });
    assert_eq!(
        notices_to(&fx, co),
        vec![&Notice::Refused(Refusal::NotAllowed)]
    );
    assert!(!h.room.is_ended());
    assert!(!h.room.may_end(AccountId(2), false));
    h.run(Command::HandOver { by: fac, to: co });
    assert!(h.room.may_end(AccountId(2), false), "the moderator may");
    assert!(h.room.may_end(AccountId(1), true), "the owner still may");
    h.run(Command::End { by: fac });
    assert!(h.room.is_ended());
}

#[test]
fn a_stopped_microphone_is_shown_to_staff_only() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let m = h.admitted_member(fac);
    let (other, _) = h.enter(3, Seat::Group, Role::Member, "O");
    h.run(Command::Admit {
        by: fac,
        who: other,
    });
    let fx = h.run(Command::DeviceTrouble {
        by: m,
        mic: true,
        camera: false,
    });
    assert_eq!(
        notices_to(&fx, fac),
        vec![&Notice::DeviceTrouble(vec![(m, true, false)])]
    );
    assert!(notices_to(&fx, other).is_empty() && notices_to(&fx, m).is_empty());
    // Fixed: the list empties; the same report again says nothing new.
    let fx = h.run(Command::DeviceTrouble {
        by: m,
        mic: false,
        camera: false,
    });
    assert_eq!(notices_to(&fx, fac), vec![&Notice::DeviceTrouble(vec![])]);
    assert!(h
        .run(Command::DeviceTrouble {
            by: m,
            mic: false,
            camera: false
        })
        .is_empty());
}

#[test]
fn return_to_waiting_stops_media_and_hides_the_room_again() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let m = h.member_with_media(fac);
    let fx = h.run(Command::ReturnToWaiting { by: fac, who: m });
    assert!(fx.contains(&Effect::MediaRemove { who: m }));
    assert_eq!(
        notices_to(&fx, m),
        vec![&Notice::ReturnedToWaiting, &Notice::Waiting]
    );
    assert!(!h.room.is_admitted(m));
}

#[test]
fn ending_the_session_closes_everyone_and_refuses_newcomers() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let (m, _) = h.enter(2, Seat::Personal(LinkId(1)), Role::Member, "M");
    let fx = h.run(Command::End { by: fac });
    assert!(notices_to(&fx, m).contains(&&Notice::SessionEnded));
    assert!(
        fx.contains(&Effect::Close { conn: ConnId(1) })
            && fx.contains(&Effect::Close { conn: ConnId(2) })
    );
    let (_, fx) = h.enter(3, Seat::Personal(LinkId(2)), Role::Member, "N");
    assert!(fx.contains(&Effect::Reply {
        conn: ConnId(3),
        notice: Notice::Refused(Refusal::Ended)
    }));
}

#[test]
fn hands_are_shown_in_the_order_raised() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let a = h.enter(2, Seat::Personal(LinkId(1)), Role::Member, "A").0;
    let b = h.enter(3, Seat::Personal(LinkId(2)), Role::Member, "B").0;
    h.run(Command::AdmitAll { by: fac });
    h.run(Command::RaiseHand {
        by: b,
        raised: true,
    });
    let fx = h.run(Command::RaiseHand {
        by: a,
        raised: true,
    });
    let Some(Notice::Roster(roster)) = notices_to(&fx, fac).into_iter().last() else {
        panic!("no roster")
    };
    let hand = |id| roster.iter().find(|r| r.id == id).unwrap().hand;
    assert_eq!((hand(b), hand(a)), (Some(1), Some(2)));
}

// ---- property tests ---------------------------------------------------------

#[derive(Clone, Debug)]
enum Step {
    Enter {
        conn: u64,
        seat: u8,
        key: u8,
    },
    Lost {
        conn: u64,
    },
    Wait {
        secs: u64,
    },
    Leave {
        who: u8,
    },
    Admit {
        by: u8,
        who: u8,
    },
    AdmitAll {
        by: u8,
    },
    Deny {
        by: u8,
        who: u8,
    },
    Remove {
        by: u8,
        who: u8,
    },
    Return {
        by: u8,
        who: u8,
    },
    Lock {
        by: u8,
        locked: bool,
    },
    Mute {
        by: u8,
        who: u8,
    },
    Chat {
        by: u8,
        to: Option<u8>,
    },
    TakeOver {
        by: u8,
    },
    HandOver {
        by: u8,
        to: u8,
    },
    Offer {
        by: u8,
    },
    End {
        by: u8,
    },
    Trouble {
        by: u8,
        mic: bool,
    },
    /// Own microphone/camera on or off.
    SelfMedia {
        by: u8,
        audio: bool,
        video: bool,
    },
    /// The moderator lifts a forced mute.
    Unmute {
        by: u8,
        who: u8,
    },
    /// A participant's connection drops and comes back at once with its
    /// resume key, then sends a new offer (as a page does).
    Reconnect {
        who: u8,
    },
}

fn step() -> impl Strategy<Value = Step> {
    let who = 0u8..12;
    prop_oneof![
        6 => (0u64..10, 0u8..8, 0u8..3).prop_map(|(conn, seat, key)| Step::Enter { conn, seat, key }),
        2 => (0u64..10).prop_map(|conn| Step::Lost { conn }),
        1 => (0u64..60).prop_map(|secs| Step::Wait { secs }),
        1 => who.clone().prop_map(|who| Step::Leave { who }),
        5 => (who.clone(), who.clone()).prop_map(|(by, who)| Step::Admit { by, who }),
        2 => who.clone().prop_map(|by| Step::AdmitAll { by }),
        2 => (who.clone(), who.clone()).prop_map(|(by, who)| Step::Deny { by, who }),
        2 => (who.clone(), who.clone()).prop_map(|(by, who)| Step::Remove { by, who }),
        2 => (who.clone(), who.clone()).prop_map(|(by, who)| Step::Return { by, who }),
        1 => (who.clone(), any::<bool>()).prop_map(|(by, locked)| Step::Lock { by, locked }),
        1 => (who.clone(), who.clone()).prop_map(|(by, who)| Step::Mute { by, who }),
        2 => (who.clone(), proptest::option::of(who.clone())).prop_map(|(by, to)| Step::Chat { by, to }),
        1 => who.clone().prop_map(|by| Step::TakeOver { by }),
        1 => (who.clone(), who.clone()).prop_map(|(by, to)| Step::HandOver { by, to }),
        2 => who.clone().prop_map(|by| Step::Offer { by }),
        1 => (who.clone(), any::<bool>()).prop_map(|(by, mic)| Step::Trouble { by, mic }),
        2 => (who.clone(), any::<bool>(), any::<bool>()).prop_map(|(by, audio, video)| Step::SelfMedia { by, audio, video }),
        1 => (who.clone(), who.clone()).prop_map(|(by, who)| Step::Unmute { by, who }),
        2 => who.clone().prop_map(|who| Step::Reconnect { who }),
        1 => who.prop_map(|by| Step::End { by }),
    ]
}

/// Seats 0 and 1 are the facilitator and co-facilitator; 2–4 personal links;
/// 5–7 group-link members. Each arrival holds one of three keys per seat, so
/// resumes, second devices and strangers with a link all happen.
fn seat(n: u8) -> (Seat, Role) {
    match n {
        0 => (Seat::Staff(AccountId(1)), Role::Facilitator),
        1 => (Seat::Staff(AccountId(2)), Role::CoFacilitator),
        2..=4 => (Seat::Personal(LinkId(n as i64)), Role::Member),
        _ => (Seat::Group, Role::Member),
    }
}

/// What a member who is not admitted may ever be told.
fn allowed_for_outsider(n: &Notice) -> bool {
    matches!(
        n,
        Notice::Waiting
            | Notice::Admitted { .. }
            | Notice::Denied
            | Notice::FacilitatorMessage { .. }
            | Notice::ReturnedToWaiting
            | Notice::Removed
            | Notice::Replaced
            | Notice::SessionEnded
    ) || matches!(n, Notice::Refused(r) if !matches!(r, Refusal::Full { .. }))
}

/// The seed of this run: `PROPTEST_RNG_SEED` if set (to replay a failure),
/// random otherwise. Printed, so a failing run says how to replay it (the
/// test harness shows a test's output only when it fails).
fn seed() -> u64 {
    static SEED: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *SEED.get_or_init(|| {
        let seed = std::env::var("PROPTEST_RNG_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(rand::random);
        eprintln!("room property test: seed {seed}; replay with PROPTEST_RNG_SEED={seed}");
        seed
    })
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1500,
        rng_seed: proptest::test_runner::RngSeed::Fixed(seed()),
        ..ProptestConfig::default()
    })]

    #[test]
    fn room_invariants_hold_over_random_sessions(steps in proptest::collection::vec(step(), 1..80)) {
        let capacity = 3;
        let mut h = Harness::new(capacity);
        let mut seat_of: HashMap<ParticipantId, Seat> = HashMap::new();
        let mut ids: Vec<ParticipantId> = Vec::new();
        let mut key_of: HashMap<ParticipantId, String> = HashMap::new();
        let mut conn_of: HashMap<ParticipantId, u64> = HashMap::new();
        let mut next_conn = 100u64;
        // What the media plane was told to carry, and who is force-muted.
        let mut carried: HashSet<ParticipantId> = HashSet::new();
        let mut forced: HashSet<ParticipantId> = HashSet::new();
        let mut barred_keys: HashSet<String> = HashSet::new();
        let mut barred_links: HashSet<Seat> = HashSet::new();
        let pick = |ids: &Vec<ParticipantId>, n: u8| ids.get(n as usize % ids.len().max(1)).copied().unwrap_or(ParticipantId(999));

        for s in steps {
            let admitted_before: HashSet<ParticipantId> = ids.iter().copied().filter(|id| h.room.is_admitted(*id)).collect();
            let is_admission = matches!(s, Step::Admit { .. } | Step::AdmitAll { .. });
            let fx = match s {
                Step::Enter { conn, seat: n, key } => {
                    let (seat, role) = seat(n);
                    let key = format!("s{n}-k{key}");
                    let (id, fx) = h.enter_with_key(conn, seat.clone(), role, "Someone", &key);
                    if fx.iter().any(|e| matches!(e, Effect::Attach { .. })) {
                        if let Some(known) = seat_of.get(&id) {
                            // A resume: the same door, and for members the same key.
                            prop_assert_eq!(known, &seat);
                            if role == Role::Member {
                                prop_assert_eq!(&key_of[&id], &key, "a link without its key took over {:?}", id);
                            }
                        } else {
                            prop_assert!(!barred_keys.contains(&key), "a barred key was let back in");
                            prop_assert!(!barred_links.contains(&seat), "a removed link was let back in");
                            ids.push(id);
                            seat_of.insert(id, seat);
                            key_of.insert(id, key);
                        }
                        conn_of.insert(id, conn);
                    }
                    fx
                }
                Step::Lost { conn } => h.run(Command::ConnectionLost { conn: ConnId(conn) }),
                Step::Wait { secs } => { h.now += Duration::from_secs(secs); h.run(Command::Tick) }
                Step::Leave { who } => h.run(Command::Leave { by: pick(&ids, who) }),
                Step::Admit { by, who } => h.run(Command::Admit { by: pick(&ids, by), who: pick(&ids, who) }),
                Step::AdmitAll { by } => h.run(Command::AdmitAll { by: pick(&ids, by) }),
                Step::Deny { by, who } => h.run(Command::Deny { by: pick(&ids, by), who: pick(&ids, who) }),
                Step::Remove { by, who } => h.run(Command::Remove { by: pick(&ids, by), who: pick(&ids, who) }),
                Step::Return { by, who } => h.run(Command::ReturnToWaiting { by: pick(&ids, by), who: pick(&ids, who) }),
                Step::Lock { by, locked } => h.run(Command::Lock { by: pick(&ids, by), locked }),
                Step::Mute { by, who } => h.run(Command::Mute { by: pick(&ids, by), who: pick(&ids, who), audio: true, video: false, may_unmute: false }),
                Step::Chat { by, to } => h.run(Command::Chat { by: pick(&ids, by), to: to.map(|t| pick(&ids, t)), text: ChatText::parse("hi").unwrap() }),
                Step::TakeOver { by } => h.run(Command::TakeOver { by: pick(&ids, by) }),
                Step::HandOver { by, to } => h.run(Command::HandOver { by: pick(&ids, by), to: pick(&ids, to) }),
                Step::Offer { by } => h.run(Command::Offer { by: pick(&ids, by), sdp: "v=0".into() }),
                Step::End { by } => h.run(Command::End { by: pick(&ids, by) }),
                Step::Trouble { by, mic } => h.run(Command::DeviceTrouble { by: pick(&ids, by), mic, camera: false }),
                Step::SelfMedia { by, audio, video } => h.run(Command::SelfMedia { by: pick(&ids, by), audio, video }),
                Step::Unmute { by, who } => h.run(Command::Mute { by: pick(&ids, by), who: pick(&ids, who), audio: false, video: false, may_unmute: true }),
                Step::Reconnect { who } => {
                    let who = pick(&ids, who);
                    let mut fx = Vec::new();
                    if let (Some(conn), Some(seat)) = (conn_of.get(&who).copied(), seat_of.get(&who).cloned()) {
                        fx.extend(h.run(Command::ConnectionLost { conn: ConnId(conn) }));
                        next_conn += 1;
                        let role = match seat { Seat::Staff(AccountId(1)) => Role::Facilitator, Seat::Staff(_) => Role::CoFacilitator, _ => Role::Member };
                        let key = key_of[&who].clone();
                        let (back, more) = h.enter_with_key(next_conn, seat.clone(), role, "Someone", &key);
                        let attached = more.iter().any(|e| matches!(e, Effect::Attach { .. }));
                        fx.extend(more);
                        if attached && !seat_of.contains_key(&back) {
                            // Gone meanwhile (left, removed): a new arrival.
                            ids.push(back);
                            seat_of.insert(back, seat);
                            key_of.insert(back, key);
                        }
                        if attached {
                            conn_of.insert(back, next_conn);
                            fx.extend(h.run(Command::Offer { by: back, sdp: "v=0".into() }));
                        }
                    }
                    fx
                }
            };

            // The media plane carries only admitted participants, and a
            // forced mute is lifted only by a moderator's command.
            let lifting = matches!(s, Step::Unmute { .. });
            for e in &fx {
                match e {
                    Effect::MediaAdd { who, .. } => { carried.insert(*who); }
                    Effect::MediaRemove { who } => { carried.remove(who); }
                    Effect::Audit { action: AuditAction::Muted, subject, .. } => {
                        if lifting { forced.remove(subject); } else { forced.insert(*subject); }
                    }
                    Effect::MediaPublish { who, audio: true, .. } => {
                        prop_assert!(!forced.contains(who), "{:?} unmuted at the SFU while force-muted, by {:?}", who, s);
                    }
                    _ => {}
                }
            }
            for who in &carried {
                prop_assert!(h.room.is_admitted(*who), "the media plane carries {:?}, who is not admitted", who);
            }
            // Never more members admitted than capacity.
            prop_assert!(h.room.admitted_members() <= capacity);
            // One admitted participant per personal link, however many devices.
            for link in 2..=4 {
                let on_link = ids.iter().filter(|id| h.room.is_admitted(**id) && seat_of[*id] == Seat::Personal(LinkId(link))).count();
                prop_assert!(on_link <= 1, "two admitted on link {}", link);
            }
            for e in &fx {
                match e {
                    Effect::Audit { action: AuditAction::Denied | AuditAction::Removed, subject, .. } => {
                        barred_keys.insert(key_of[subject].clone());
                        let seat = &seat_of[subject];
                        if admitted_before.contains(subject) && matches!(seat, Seat::Personal(_)) {
                            barred_links.insert(seat.clone());
                        }
                    }
                    Effect::Audit { action: AuditAction::Admitted, subject, .. } => {
                        prop_assert!(is_admission, "admitted without a facilitator's command");
                        prop_assert!(!barred_keys.contains(&key_of[subject]), "a removed or denied key was admitted");
                        prop_assert!(!barred_links.contains(&seat_of[subject]), "a removed link was admitted");
                    }
                    // Nobody who is not admitted is told about the room.
                    Effect::Notify { to, notice } if !h.room.is_admitted(*to) => {
                        prop_assert!(allowed_for_outsider(notice), "outsider {to:?} told {notice:?}");
                    }
                    Effect::Notify { to, notice: Notice::WaitingList(_) | Notice::DeviceTrouble(_) } => {
                        prop_assert!(seat_of.get(to).is_some_and(|s| matches!(s, Seat::Staff(_))), "staff-only notice sent to a member");
                    }
                    Effect::MediaAdd { who, .. } => prop_assert!(h.room.is_admitted(*who), "media for someone not admitted"),
                    _ => {}
                }
            }
            // Only an admission command makes new members admitted.
            for id in ids.iter().filter(|id| h.room.is_admitted(**id) && !admitted_before.contains(id)) {
                let staff = matches!(seat_of[id], Seat::Staff(_));
                prop_assert!(staff || is_admission, "{id:?} admitted by {s:?}");
            }
        }
    }
}
