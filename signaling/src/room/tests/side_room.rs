//! The side room: the facilitator and one member hear and see only each
//! other; the group (with the co-facilitator) neither hears nor sees them,
//! chat does not cross, and everything is routed again when it ends.

use super::*;

fn routes(fx: &[Effect]) -> Vec<(ParticipantId, ParticipantId, bool)> {
    let mut r: Vec<_> = fx
        .iter()
        .filter_map(|e| match e {
            Effect::MediaRoute {
                subscriber,
                publisher,
                receive,
            } => Some((*subscriber, *publisher, *receive)),
            _ => None,
        })
        .collect();
    r.sort();
    r
}

fn in_media(h: &mut Harness, who: ParticipantId) {
    h.run(Command::Offer {
        by: who,
        sdp: "v=0".into(),
    });
}

#[test]
fn the_side_room_separates_media_and_chat_until_it_ends() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let (co, _) = h.enter(5, Seat::Staff(AccountId(2)), Role::CoFacilitator, "Co");
    let river = h.admitted_member(fac);
    let sam = h.admitted_group_member(fac, 3);
    for who in [fac, co, river, sam] {
        in_media(&mut h, who);
    }

    // A member cannot start one; the co-facilitator may.
    let fx = h.run(Command::SideRoomStart {
        by: sam,
        who: river,
    });
    assert_eq!(
        notices_to(&fx, sam),
        vec![&Notice::Refused(Refusal::NotAllowed)]
    );

    let fx = h.run(Command::SideRoomStart {
        by: fac,
        who: river,
    });
    let mut apart = Vec::new();
    for inside in [fac, river] {
        for outside in [co, sam] {
            apart.push((inside, outside, false));
            apart.push((outside, inside, false));
        }
    }
    apart.sort();
    assert_eq!(
        routes(&fx),
        apart,
        "every route across the wall stops, nothing else"
    );
    for who in [fac, co, river, sam] {
        assert!(notices_to(&fx, who).contains(&&Notice::SideRoom {
            pair: Some((fac, river)),
            wording: None
        }));
    }
    assert!(!h.room.hears(sam, river) && h.room.hears(sam, co) && h.room.hears(river, fac));

    // Chat stays on its side; a private word across is refused.
    let fx = h.run(Command::Chat {
        by: sam,
        to: None,
        text: ChatText::parse("hello").unwrap(),
    });
    assert!(notices_to(&fx, co)
        .iter()
        .any(|n| matches!(n, Notice::Chat { .. })));
    assert!(notices_to(&fx, river).is_empty() && notices_to(&fx, fac).is_empty());
    let fx = h.run(Command::Chat {
        by: sam,
        to: Some(fac),
        text: ChatText::parse("psst").unwrap(),
    });
    assert_eq!(notices_to(&fx, fac), Vec::<&Notice>::new());
    assert!(matches!(notices_to(&fx, sam)[..], [Notice::Refused(_)]));

    // Only one at a time.
    let fx = h.run(Command::SideRoomStart { by: co, who: sam });
    assert_eq!(
        notices_to(&fx, co),
        vec![&Notice::Refused(Refusal::NotAllowed)]
    );

    // The co-facilitator ends it: every route comes back.
    let fx = h.run(Command::SideRoomEnd { by: co });
    let back: Vec<_> = apart.iter().map(|(a, b, _)| (*a, *b, true)).collect();
    assert_eq!(routes(&fx), back);
    assert!(notices_to(&fx, sam).contains(&&Notice::SideRoom {
        pair: None,
        wording: None
    }));
}

#[test]
fn someone_joining_media_during_a_side_room_is_kept_apart_too() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let river = h.admitted_member(fac);
    let sam = h.admitted_group_member(fac, 3);
    for who in [fac, river] {
        in_media(&mut h, who);
    }
    h.run(Command::SideRoomStart {
        by: fac,
        who: river,
    });
    let fx = h.run(Command::Offer {
        by: sam,
        sdp: "v=0".into(),
    });
    assert_eq!(
        routes(&fx),
        vec![
            (fac, sam, false),
            (river, sam, false),
            (sam, fac, false),
            (sam, river, false)
        ]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
}

#[test]
fn the_side_room_ends_when_the_member_leaves_or_is_sent_back() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let river = h.admitted_member(fac);
    let sam = h.admitted_group_member(fac, 3);
    h.run(Command::SideRoomStart {
        by: fac,
        who: river,
    });
    let fx = h.run(Command::ReturnToWaiting {
        by: fac,
        who: river,
    });
    assert!(notices_to(&fx, sam).contains(&&Notice::SideRoom {
        pair: None,
        wording: None
    }));
    assert!(h.room.hears(sam, fac));
    h.run(Command::Admit {
        by: fac,
        who: river,
    });
    h.run(Command::SideRoomStart {
        by: fac,
        who: river,
    });
    let fx = h.run(Command::Leave { by: river });
    assert!(notices_to(&fx, sam).contains(&&Notice::SideRoom {
        pair: None,
        wording: None
    }));
}

#[test]
fn the_group_sees_the_wording_its_facilitator_chose() {
    let mut h = Harness::new(12);
    h.room = Room::new(RoomSettings {
        stepped_out_notice: Some(String::new()),
        ..settings(12)
    });
    let fac = h.facilitator();
    let river = h.admitted_member(fac);
    let sam = h.admitted_group_member(fac, 3);
    let fx = h.run(Command::SideRoomStart {
        by: fac,
        who: river,
    });
    assert!(notices_to(&fx, sam).contains(&&Notice::SideRoom {
        pair: Some((fac, river)),
        wording: Some(String::new()),
    }));
}
