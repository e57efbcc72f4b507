//! Media keys: the holder is asked for a new key whenever who may listen
//! changes, and wrapped keys reach only those it was asked for.

use super::*;

fn rotations(fx: &[Effect]) -> Vec<(ParticipantId, KeyEpoch, Vec<ParticipantId>)> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Notify {
                to,
                notice: Notice::RotateKey { epoch, listeners },
            } => Some((*to, *epoch, listeners.iter().map(|(id, _)| *id).collect())),
            _ => None,
        })
        .collect()
}

fn wrapped() -> WrappedKey {
    WrappedKey::parse("c2VjcmV0").unwrap()
}

fn deliver(
    h: &mut Harness,
    by: ParticipantId,
    epoch: KeyEpoch,
    to: &[ParticipantId],
) -> Vec<Effect> {
    h.run(Command::DeliverKeys {
        by,
        epoch,
        wrapped: to.iter().map(|t| (*t, wrapped())).collect(),
    })
}

fn keys_received(fx: &[Effect]) -> Vec<ParticipantId> {
    fx.iter()
        .filter_map(|e| match e {
            Effect::Notify {
                to,
                notice: Notice::MediaKey { .. },
            } => Some(*to),
            _ => None,
        })
        .collect()
}

#[test]
fn the_facilitator_is_asked_for_a_key_on_arrival_and_on_every_admission() {
    let mut h = Harness::new(12);
    let (fac, fx) = h.enter(1, Seat::Staff(AccountId(1)), Role::Facilitator, "F");
    assert_eq!(rotations(&fx), vec![(fac, KeyEpoch(1), vec![])]);
    let (m, fx) = h.enter(2, Seat::Personal(LinkId(1)), Role::Member, "M");
    assert!(rotations(&fx).is_empty(), "a knock changes nobody's key");
    let fx = h.run(Command::Admit { by: fac, who: m });
    assert_eq!(rotations(&fx), vec![(fac, KeyEpoch(2), vec![m])]);
}

#[test]
fn a_removed_member_is_left_out_of_the_next_key_and_never_given_it() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let m = h.admitted_member(fac);
    let o = h.admitted_group_member(fac, 3);
    let fx = h.run(Command::Remove { by: fac, who: m });
    let [(holder, epoch, listeners)] = rotations(&fx).try_into().expect("one rotation");
    assert_eq!((holder, listeners), (fac, vec![o]));
    // Even if the holder's page wrapped the key for the removed member too.
    let fx = deliver(&mut h, fac, epoch, &[o, m]);
    assert_eq!(keys_received(&fx), vec![o]);
}

#[test]
fn returning_a_member_to_the_waiting_room_rotates_and_the_waiting_get_no_key() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let m = h.admitted_member(fac);
    let fx = h.run(Command::ReturnToWaiting { by: fac, who: m });
    let [(_, epoch, listeners)] = rotations(&fx).try_into().expect("one rotation");
    assert!(listeners.is_empty());
    assert!(keys_received(&deliver(&mut h, fac, epoch, &[m])).is_empty());
}

#[test]
fn only_the_holder_delivers_and_only_for_the_latest_request() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let m = h.admitted_member(fac);
    let o = h.admitted_group_member(fac, 3);
    let fx = deliver(&mut h, m, KeyEpoch(3), &[o]);
    assert_eq!(
        notices_to(&fx, m),
        vec![&Notice::Refused(Refusal::NotAllowed)]
    );
    // Epoch 3 was asked when o came in; an answer to epoch 2 is stale.
    assert!(keys_received(&deliver(&mut h, fac, KeyEpoch(2), &[m, o])).is_empty());
    assert_eq!(
        keys_received(&deliver(&mut h, fac, KeyEpoch(3), &[m, o])),
        vec![m, o]
    );
}

#[test]
fn a_page_without_a_public_key_is_never_given_a_key() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let (m, _) = h.enter(2, Seat::Group, Role::Member, "M");
    // Re-enter the member without a key: the same key-less page.
    let fx = h.run(Command::Enter(Arrival {
        conn: ConnId(9),
        id: ParticipantId(99),
        seat: Seat::Group,
        role: Role::Member,
        name: name("N"),
        key: ResumeKey::new("nokey".into()),
        public_key: None,
    }));
    let n = fx
        .iter()
        .find_map(|e| match e {
            Effect::Attach { who, .. } => Some(*who),
            _ => None,
        })
        .unwrap();
    h.run(Command::Admit { by: fac, who: m });
    let fx = h.run(Command::Admit { by: fac, who: n });
    // Admitting it changes nobody who can be given a key.
    assert!(rotations(&fx).is_empty());
    let epoch = KeyEpoch(2);
    assert_eq!(
        keys_received(&deliver(&mut h, fac, epoch, &[m, n])),
        vec![m]
    );
}

#[test]
fn a_co_facilitator_taking_over_becomes_the_holder() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let m = h.admitted_member(fac);
    let (co, _) = h.enter(5, Seat::Staff(AccountId(2)), Role::CoFacilitator, "C");
    h.run(Command::Leave { by: fac });
    let fx = h.run(Command::TakeOver { by: co });
    let [(holder, _, listeners)] = rotations(&fx).try_into().expect("one rotation");
    assert_eq!((holder, listeners), (co, vec![m]));
}

#[test]
fn a_dropped_connection_is_left_out_and_its_return_brings_a_new_key() {
    let mut h = Harness::new(12);
    let fac = h.facilitator();
    let m = h.admitted_member(fac);
    let fx = h.run(Command::ConnectionLost { conn: ConnId(2) });
    assert_eq!(
        rotations(&fx).len(),
        1,
        "the dropped page gets no later key"
    );
    let (back, fx) = h.enter(7, Seat::Personal(LinkId(1)), Role::Member, "M");
    // A wrong resume key knocks instead; with the right one it resumes.
    assert_ne!(back, m);
    assert!(rotations(&fx).is_empty());
    let (back, fx) = h.enter_with_key(8, Seat::Personal(LinkId(1)), Role::Member, "M", "key-2");
    assert_eq!(back, m);
    assert_eq!(rotations(&fx).first().map(|r| r.2.clone()), Some(vec![m]));
}
