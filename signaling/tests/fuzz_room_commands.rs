//! Fuzz target (property-based): the room state machine under arbitrary
//! command sequences from arbitrary senders: ids that exist and ids that do
//! not, any role on any door (also combinations the server never makes),
//! connections reused, time jumping. Nothing panics, capacity holds, and
//! no one is admitted except by a moderator's admission.
//!
//! Bounded in CI; `scripts/fuzz` (or `HAVEN_FUZZ_CASES=N`) runs it longer.
//! The room's own property test (`room/tests.rs`) checks the richer
//! invariants over realistic sessions.

use std::time::{Duration, Instant};

use haven_signaling::room::{
    AccountId, Arrival, AuditAction, ChatText, Command, ConnId, DisplayName, Effect, KeyEpoch,
    LinkId, ParticipantId, PublicKey, ResumeKey, Role, Room, RoomSettings, Seat, WrappedKey,
};
use proptest::prelude::*;

fn cases(default: u32) -> u32 {
    std::env::var("HAVEN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn id() -> impl Strategy<Value = ParticipantId> {
    (0u64..8).prop_map(ParticipantId)
}

fn role() -> impl Strategy<Value = Role> {
    prop_oneof![
        Just(Role::Facilitator),
        Just(Role::CoFacilitator),
        Just(Role::Member)
    ]
}

fn seat() -> impl Strategy<Value = Seat> {
    prop_oneof![
        (0i64..3).prop_map(|a| Seat::Staff(AccountId(a))),
        (0i64..3).prop_map(|l| Seat::Personal(LinkId(l))),
        Just(Seat::Group),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    let text = || Just(ChatText::parse("hi").unwrap());
    prop_oneof![
        4 => (0u64..6, id(), seat(), role(), 0u8..3).prop_map(|(c, id, seat, role, k)| {
            Command::Enter(Arrival {
                conn: ConnId(c),
                id,
                seat,
                role,
                name: DisplayName::parse("Someone").unwrap(),
                key: ResumeKey::new(format!("key-{k}")),
                public_key: PublicKey::parse(&format!("B{k:0>86}")),
            })
        }),
        2 => (0u64..6).prop_map(|c| Command::ConnectionLost { conn: ConnId(c) }),
        1 => Just(Command::Tick),
        1 => id().prop_map(|by| Command::Leave { by }),
        3 => (id(), id()).prop_map(|(by, who)| Command::Admit { by, who }),
        1 => id().prop_map(|by| Command::AdmitAll { by }),
        1 => (id(), id()).prop_map(|(by, who)| Command::Deny { by, who }),
        1 => (id(), id(), text()).prop_map(|(by, who, text)| Command::MessageWaiting { by, who, text }),
        1 => (id(), id(), any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(by, who, audio, video, may_unmute)| Command::Mute { by, who, audio, video, may_unmute }),
        1 => (id(), id()).prop_map(|(by, who)| Command::Remove { by, who }),
        1 => (id(), id()).prop_map(|(by, who)| Command::ReturnToWaiting { by, who }),
        1 => (id(), any::<bool>()).prop_map(|(by, locked)| Command::Lock { by, locked }),
        1 => id().prop_map(|by| Command::End { by }),
        1 => (id(), id()).prop_map(|(by, to)| Command::HandOver { by, to }),
        1 => id().prop_map(|by| Command::TakeOver { by }),
        1 => (id(), any::<bool>()).prop_map(|(by, enabled)| Command::SetChat { by, enabled }),
        1 => (id(), any::<bool>(), any::<bool>()).prop_map(|(by, audio, video)| Command::SelfMedia { by, audio, video }),
        1 => (id(), any::<bool>()).prop_map(|(by, raised)| Command::RaiseHand { by, raised }),
        1 => (id(), any::<bool>(), any::<bool>()).prop_map(|(by, mic, camera)| Command::DeviceTrouble { by, mic, camera }),
        1 => (id(), proptest::option::of(id()), text()).prop_map(|(by, to, text)| Command::Chat { by, to, text }),
        2 => (id(), ".{0,20}").prop_map(|(by, sdp)| Command::Offer { by, sdp }),
        2 => (id(), 0u32..4, proptest::collection::vec(id(), 0..4)).prop_map(|(by, epoch, to)| Command::DeliverKeys {
            by,
            epoch: KeyEpoch(epoch),
            wrapped: to.into_iter().map(|t| (t, WrappedKey::parse("AAAA").unwrap())).collect(),
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1000), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_commands_from_arbitrary_senders_never_panic_the_room(
        steps in proptest::collection::vec((command(), 0u64..90), 1..60),
        capacity in 0usize..4,
    ) {
        let mut now = Instant::now();
        let mut room = Room::new(RoomSettings { capacity, reconnect_grace: Duration::from_secs(30), length: Duration::from_secs(5400), stepped_out_notice: None });
        for (command, secs) in steps {
            now += Duration::from_secs(secs);
            let admission = matches!(command, Command::Admit { .. } | Command::AdmitAll { .. });
            let fx = room.handle(now, command);
            prop_assert!(room.admitted_members() <= capacity);
            for e in &fx {
                if let Effect::Audit { action: AuditAction::Admitted, .. } = e {
                    prop_assert!(admission, "admitted without an admission command");
                }
            }
        }
    }
}
