//! Property tests of the room: random sessions (arrivals with and without
//! their keys, moderation, mutes, reconnects, time passing) and the
//! invariants that must hold after every step.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use proptest::prelude::*;

use super::*;

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
    /// A page says what it shows.
    View {
        by: u8,
    },
    /// A side room: started by `by` with `who`, or ended by `by`.
    Side {
        by: u8,
        who: u8,
        end: bool,
    },
    /// A round: opened, moved on, or passed (by whoever `by` is).
    Round {
        by: u8,
        what: u8,
    },
    /// "I need a moment", or withdrawn.
    Moment {
        by: u8,
        on: bool,
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
    /// `by` answers the last key request it was sent, wrapping the key for
    /// everybody it knows of (as a tampered page could).
    Keys {
        by: u8,
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
        1 => who.clone().prop_map(|by| Step::View { by }),
        1 => (who.clone(), any::<bool>()).prop_map(|(by, on)| Step::Moment { by, on }),
        2 => (who.clone(), 0u8..4).prop_map(|(by, what)| Step::Round { by, what }),
        2 => (who.clone(), who.clone(), any::<bool>()).prop_map(|(by, who, end)| Step::Side { by, who, end }),
        2 => (who.clone(), any::<bool>(), any::<bool>()).prop_map(|(by, audio, video)| Step::SelfMedia { by, audio, video }),
        1 => (who.clone(), who.clone()).prop_map(|(by, who)| Step::Unmute { by, who }),
        2 => who.clone().prop_map(|who| Step::Reconnect { who }),
        3 => who.clone().prop_map(|by| Step::Keys { by }),
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

/// A key request as the test remembers it: holder, the holder's
/// connection, epoch, and each listener with its connection.
type KeyRequest = (ParticipantId, u64, KeyEpoch, Vec<(ParticipantId, u64)>);

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
        // (subscriber, publisher) pairs the media plane was told not to route.
        let mut unrouted: HashSet<(ParticipantId, ParticipantId)> = HashSet::new();
        let mut forced: HashSet<ParticipantId> = HashSet::new();
        let mut barred_keys: HashSet<String> = HashSet::new();
        let mut barred_links: HashSet<Seat> = HashSet::new();
        // The last key request: its holder, epoch and listeners (with the
        // connection whose page's key was listed).
        let mut asked: Option<KeyRequest> = None;
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
                Step::Side { by, who, end } => {
                    let by = pick(&ids, by);
                    h.run(if end { Command::SideRoomEnd { by } } else { Command::SideRoomStart { by, who: pick(&ids, who) } })
                }
                Step::Round { by, what } => {
                    let by = pick(&ids, by);
                    h.run(match what {
                        0 => Command::RoundStart { by, kind: RoundKind::Round },
                        1 => Command::RoundNext { by },
                        2 => Command::RoundPass { by },
                        _ => Command::RoundEnd { by },
                    })
                }
                Step::Moment { by, on } => h.run(Command::NeedMoment { by: pick(&ids, by), on }),
                Step::View { by } => h.run(Command::View { by: pick(&ids, by), view: TileView::default() }),
                Step::SelfMedia { by, audio, video } => h.run(Command::SelfMedia { by: pick(&ids, by), audio, video }),
                Step::Unmute { by, who } => h.run(Command::Mute { by: pick(&ids, by), who: pick(&ids, who), audio: false, video: false, may_unmute: true }),
                Step::Keys { by } => {
                    let by = pick(&ids, by);
                    let epoch = asked.as_ref().map_or(KeyEpoch(0), |a| a.2);
                    h.run(Command::DeliverKeys { by, epoch, wrapped: ids.iter().map(|id| (*id, WrappedKey::parse("AAAA").unwrap())).collect() })
                }
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
            // (The room audits a mute after telling the media plane, so a
            // command's audits count before its media effects are judged.)
            let lifting = matches!(s, Step::Unmute { .. });
            for e in &fx {
                match e {
                    Effect::MediaAdd { who, .. } => { carried.insert(*who); }
                    Effect::MediaRemove { who } => {
                        carried.remove(who);
                        // The media plane forgets its choices about them.
                        unrouted.retain(|(a, b)| a != who && b != who);
                    }
                    Effect::MediaRoute { subscriber, publisher, receive } => {
                        prop_assert!(carried.contains(subscriber) && carried.contains(publisher), "a route for someone not in the media plane");
                        if *receive { unrouted.remove(&(*subscriber, *publisher)); } else { unrouted.insert((*subscriber, *publisher)); }
                    }
                    Effect::Audit { action: AuditAction::Muted, subject, .. } => {
                        if lifting { forced.remove(subject); } else { forced.insert(*subject); }
                    }
                    _ => {}
                }
            }
            for e in &fx {
                if let Effect::MediaPublish { who, audio: true, .. } = e {
                    prop_assert!(!forced.contains(who), "{:?} unmuted at the SFU while force-muted, by {:?}", who, s);
                }
            }
            // The side room's wall: no media route between the two sides,
            // every route within one.
            for a in &carried {
                for b in carried.iter().filter(|b| *b != a) {
                    prop_assert_eq!(h.room.hears(*a, *b), !unrouted.contains(&(*a, *b)), "route {:?} <- {:?} after {:?}", a, b, s);
                }
            }
            // No chat across it either.
            for e in &fx {
                if let Effect::Notify { to, notice: Notice::Chat { from, .. } } = e {
                    prop_assert!(h.room.hears(*from, *to), "chat from {:?} crossed to {:?}", from, to);
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
                    Effect::Notify { to, notice: Notice::WaitingList(_) | Notice::DeviceTrouble(_) | Notice::NeedMoment(_) | Notice::Clock { .. } } => {
                        prop_assert!(seat_of.get(to).is_some_and(|s| matches!(s, Seat::Staff(_))), "staff-only notice sent to a member");
                    }
                    Effect::MediaAdd { who, .. } => prop_assert!(h.room.is_admitted(*who), "media for someone not admitted"),
                    Effect::MediaView { who, .. } => prop_assert!(carried.contains(who), "a view for someone not in the media plane"),
                    _ => {}
                }
            }
            // Keys. Whenever who may listen changes (admitted, connected, a
            // page key — here each connection's), the moderator is asked,
            // if present, and only then; listeners are admitted; a wrapped
            // key reaches only a listener of the latest request.
            if !h.room.is_ended() {
                let holder = h.room.moderator().filter(|m| h.room.is_admitted(*m) && h.room.is_connected(*m));
                let now = holder.map(|holder| {
                    let listeners: Vec<(ParticipantId, u64)> = ids.iter().copied()
                        .filter(|id| *id != holder && h.room.is_admitted(*id) && h.room.is_connected(*id))
                        .map(|id| (id, conn_of[&id])).collect();
                    (holder, conn_of[&holder], listeners)
                });
                let requests: Vec<_> = fx.iter().filter_map(|e| match e {
                    Effect::Notify { to, notice: Notice::RotateKey { epoch, listeners } } => Some((*to, *epoch, listeners.clone())),
                    _ => None,
                }).collect();
                let changed = match (&now, &asked) {
                    (Some((h0, c0, l0)), Some((h1, c1, _, l1))) => (h0, c0, l0) != (h1, c1, l1),
                    (Some(_), None) => true,
                    (None, _) => false,
                };
                // (A reconnect is several commands: a request for each change.)
                let several = matches!(s, Step::Reconnect { .. });
                prop_assert!(changed != requests.is_empty() && (several || requests.len() <= 1), "key requests {:?} after {:?}", requests, s);
                for (to, _, listed) in &requests {
                    prop_assert!(listed.iter().all(|(id, _)| h.room.is_admitted(*id) || several), "a waiting member is listed");
                    prop_assert!(seat_of.get(to).is_some_and(|s| matches!(s, Seat::Staff(_))), "a key request to a member");
                }
                if let (Some((holder, conn, listeners)), Some((to, epoch, listed))) = (now, requests.last()) {
                    prop_assert_eq!(*to, holder);
                    let listed: Vec<ParticipantId> = listed.iter().map(|(id, key)| {
                        assert_eq!(key, &public_key(conn_of[id]), "a listener's key is its page's");
                        *id
                    }).collect();
                    prop_assert_eq!(&listed, &listeners.iter().map(|l| l.0).collect::<Vec<_>>());
                    asked = Some((holder, conn, *epoch, listeners));
                }
                for e in &fx {
                    if let Effect::Notify { to, notice: Notice::MediaKey { from, .. } } = e {
                        let a = asked.as_ref().expect("a key only after a request");
                        prop_assert_eq!(*from, a.0);
                        prop_assert!(h.room.is_admitted(*to) && a.3.iter().any(|l| l.0 == *to), "{:?} got a key it was not asked for", to);
                    }
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
