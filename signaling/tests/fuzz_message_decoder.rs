//! Fuzz target (property-based): whatever a client sends as a WebSocket
//! text message (arbitrary text, or arbitrary JSON built from the protocol's
//! own words) decodes to a message or a plain error, and a decoded message
//! becomes a room command or a plain error; nothing panics.
//!
//! Bounded in CI; `scripts/fuzz` (or `HAVEN_FUZZ_CASES=N`) runs it longer.

use haven_signaling::live::wire::command_for;
use haven_signaling::protocol::{decode, ServerMsg};
use haven_signaling::room::ParticipantId;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn cases(default: u32) -> u32 {
    std::env::var("HAVEN_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const WORDS: &[&str] = &[
    "type",
    "hello",
    "v",
    "join",
    "kind",
    "member",
    "staff",
    "token",
    "name",
    "agreed",
    "resume",
    "group",
    "offer",
    "sdp",
    "admit",
    "deny",
    "admit_all",
    "participant",
    "message_waiting",
    "text",
    "mute",
    "audio",
    "video",
    "may_unmute",
    "remove",
    "return_to_waiting",
    "lock",
    "locked",
    "end",
    "hand_over",
    "take_over",
    "set_chat",
    "enabled",
    "media",
    "raise_hand",
    "raised",
    "chat",
    "to",
    "leave",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(WORDS).prop_map(str::to_owned),
        1 => ".{0,12}",
    ]
}

fn json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        word().prop_map(Value::String),
        ".{0,64}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 64, 8, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..8).prop_map(Value::Array),
            proptest::collection::vec((word(), inner), 0..8)
                .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

fn decode_and_command(text: &str) {
    match decode(text) {
        Ok(msg) => {
            let _ = command_for(ParticipantId(1), msg);
        }
        Err(ServerMsg::Error { code, message }) => {
            assert_eq!(code, "bad_message");
            assert!(!message.is_empty());
        }
        Err(other) => panic!("unexpected {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(2000), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_the_decoder(text in ".{0,300}") {
        decode_and_command(&text);
    }

    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        decode_and_command(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn arbitrary_json_in_the_protocols_words_never_panics(v in json(), ty in proptest::sample::select(WORDS)) {
        decode_and_command(&v.to_string());
        // The same with a known message type on top, to get past the tag.
        if let Value::Object(mut m) = v {
            m.insert("type".into(), Value::String(ty.to_owned()));
            decode_and_command(&Value::Object(m).to_string());
        }
    }
}
