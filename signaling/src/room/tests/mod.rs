//! The room state machine, driven directly: situations here, property tests
//! over random command sequences in `properties.rs`.

use std::time::{Duration, Instant};

use super::*;

mod keys;
mod moments;
mod properties;
mod rounds;
mod side_room;

fn settings(capacity: usize) -> RoomSettings {
    RoomSettings {
        capacity,
        reconnect_grace: Duration::from_secs(30),
        length: Duration::from_secs(90 * 60),
        stepped_out_notice: None,
    }
}

/// The public key of the page on connection `conn` (each connection is a
/// page with its own key pair).
fn public_key(conn: u64) -> PublicKey {
    PublicKey::parse(&format!("B{conn:0>86}")).expect("the shape of a key")
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
            public_key: Some(public_key(conn)),
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
    /// A member "O" by the group link on connection `conn`, admitted by `fac`.
    fn admitted_group_member(&mut self, fac: ParticipantId, conn: u64) -> ParticipantId {
        let (o, _) = self.enter(conn, Seat::Group, Role::Member, "O");
        self.run(Command::Admit { by: fac, who: o });
        o
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
    let other = h.admitted_group_member(fac, 3);
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

/// A restart: the room is rebuilt from its snapshot; members come back
/// with their resume keys (no knock), the waiting stay waiting in order,
/// locks and mutes hold, names come back with the pages, and a link
/// without its key still only knocks.
#[test]
fn a_restored_room_takes_everyone_back_where_they_were() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let m = h.admitted_member(fac);
    let (w1, _) = h.enter_with_key(3, Seat::Group, Role::Member, "W1", "key-w1");
    let (w2, _) = h.enter_with_key(4, Seat::Group, Role::Member, "W2", "key-w2");
    h.run(Command::Mute {
        by: fac,
        who: m,
        audio: true,
        video: false,
        may_unmute: false,
    });
    h.run(Command::Lock {
        by: fac,
        locked: true,
    });
    let snapshot = h.room.snapshot();

    let later = h.now + Duration::from_secs(5);
    let mut r = Harness {
        room: Room::restore(settings(12), snapshot.clone(), h.now, later),
        now: later,
        next_id: 100,
    };
    assert_eq!(r.room.snapshot(), snapshot, "the restored room is the room");
    assert!(r.room.is_admitted(m) && !r.room.is_connected(m));
    // The member comes back with the key from `welcome`: admitted, no knock,
    // still muted, under the name the page says.
    let (back, fx) = r.enter_with_key(12, Seat::Personal(LinkId(1)), Role::Member, "Sam", "key-2");
    assert_eq!(back, m);
    assert_eq!(
        notices_to(&fx, m).first(),
        Some(&&Notice::Admitted { you: m })
    );
    assert!(fx.iter().any(
        |e| matches!(e, Effect::Notify { notice: Notice::Roster(list), .. }
        if list.iter().any(|p| p.id == m && p.name.as_str() == "Sam" && p.muted_by_facilitator))
    ));
    // The second waiting member comes back first: still second in line.
    r.enter_with_key(14, Seat::Group, Role::Member, "W2", "key-w2");
    r.enter_with_key(13, Seat::Group, Role::Member, "W1", "key-w1");
    let (f, fx) = r.enter(11, Seat::Staff(AccountId(1)), Role::Facilitator, "F");
    assert_eq!(f, fac);
    let waiting = fx.iter().rev().find_map(|e| match e {
        Effect::Notify {
            to,
            notice: Notice::WaitingList(l),
        } if *to == fac => Some(l.iter().map(|w| w.id).collect::<Vec<_>>()),
        _ => None,
    });
    assert_eq!(waiting, Some(vec![w1, w2]));
    // Locked still: a new knock is refused; a link without its key knocks
    // no more than before (here: refused, the room is locked).
    let (_, fx) = r.enter_with_key(
        15,
        Seat::Personal(LinkId(1)),
        Role::Member,
        "X",
        "another-key",
    );
    assert!(fx.iter().any(|e| matches!(
        e,
        Effect::Reply {
            notice: Notice::Refused(Refusal::Locked),
            ..
        }
    )));
    // Whoever does not come back within the grace is gone.
    r.now += Duration::from_secs(31);
    r.run(Command::Tick);
    assert!(r.room.is_admitted(m));
}
