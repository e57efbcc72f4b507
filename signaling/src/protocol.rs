//! The wire protocol: one WebSocket per participant, JSON messages that are
//! serde-tagged enums (`{"type": "...", ...}`), version 1. Documented in
//! `docs/protocol.md`; every limit here is part of the contract.

use serde::{Deserialize, Serialize};

/// The protocol version a client must say in `hello`.
pub const PROTOCOL_VERSION: u32 = 1;
/// Largest WebSocket message accepted. A browser's offer with 13 receive
/// slots is 30–90 KB depending on how many codecs it lists.
pub const MAX_MESSAGE_BYTES: usize = 192 * 1024;
/// Largest SDP offer accepted.
pub const MAX_SDP_BYTES: usize = 160 * 1024;
/// Most m-lines in an offer: one audio and one video to send, and one of
/// each to receive from every other person a room can hold. More cost a
/// shared media worker for nothing and are refused.
pub const MAX_OFFER_M_LINES: usize = 2 * haven_sfu::MAX_ROOM_SIZE;
/// Seconds a new connection has to say `hello`.
pub const HELLO_TIMEOUT_SECS: u64 = 10;

/// How a connection identifies itself.
#[derive(Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Join {
    /// A facilitator or co-facilitator (authenticated by the session cookie).
    Staff {
        /// The group whose session to enter.
        group: i64,
        /// The name shown to the group.
        name: String,
    },
    /// A member with an invite link.
    Member {
        /// The token from the invite link.
        token: String,
        /// The name (a pseudonym is fine).
        name: String,
        /// The member accepted the group agreement.
        agreed: bool,
        /// The secret from an earlier `welcome`, to come back after a drop.
        #[serde(default)]
        resume: Option<String>,
    },
}

/// Messages from a client.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientMsg {
    /// First message on every connection.
    Hello {
        /// Must be [`PROTOCOL_VERSION`].
        v: u32,
        /// Who is connecting.
        join: Join,
        /// This page's end-to-end public key (P-256, uncompressed,
        /// base64url): only pages that send one are given media keys.
        #[serde(default)]
        public_key: Option<String>,
    },
    /// The SDP offer for the media connection (after `admitted`).
    Offer {
        /// SDP.
        sdp: String,
    },
    /// Admit a waiting member.
    Admit {
        /// Participant id.
        participant: u64,
    },
    /// Deny a waiting member.
    Deny {
        /// Participant id.
        participant: u64,
    },
    /// Admit everyone waiting, in order, up to capacity.
    AdmitAll,
    /// Private message to a waiting member.
    MessageWaiting {
        /// Participant id.
        participant: u64,
        /// Text.
        text: String,
    },
    /// Mute a member's audio and/or video at the server.
    Mute {
        /// Participant id.
        participant: u64,
        /// Mute audio.
        audio: bool,
        /// Mute video.
        video: bool,
        /// May the member unmute themselves.
        may_unmute: bool,
    },
    /// Remove a member for the rest of the session.
    Remove {
        /// Participant id.
        participant: u64,
    },
    /// Send a member back to the waiting room.
    ReturnToWaiting {
        /// Participant id.
        participant: u64,
    },
    /// Lock or unlock the room.
    Lock {
        /// Locked.
        locked: bool,
    },
    /// End the session for everyone.
    End,
    /// Hand facilitation to the co-facilitator.
    HandOver {
        /// Participant id.
        participant: u64,
    },
    /// Take facilitation while the facilitator is absent.
    TakeOver,
    /// Allow or stop chat.
    SetChat {
        /// Enabled.
        enabled: bool,
    },
    /// Own microphone and camera.
    Media {
        /// Microphone on.
        audio: bool,
        /// Camera on.
        video: bool,
    },
    /// Raise or lower a hand.
    RaiseHand {
        /// Raised.
        raised: bool,
    },
    /// Take a member into the side room (a facilitator or co-facilitator).
    SideRoomStart {
        /// The member.
        participant: u64,
    },
    /// End the side room (a facilitator or co-facilitator).
    SideRoomEnd,
    /// Open a round (the moderator).
    RoundStart {
        /// `check_in`, `check_out` or `round`.
        kind: RoundKindMsg,
    },
    /// Next person in the round (the moderator).
    RoundNext,
    /// Pass (the person whose turn it is).
    RoundPass,
    /// End the round early (the moderator).
    RoundEnd,
    /// Say (or withdraw) "I need a moment", privately to the facilitators.
    NeedMoment {
        /// Said or withdrawn.
        on: bool,
    },
    /// Step away from the screen (camera and microphone off), or come back.
    StepAway {
        /// Away or back.
        away: bool,
    },
    /// Own devices that stopped (unplugged, taken by another app) and have
    /// not been replaced; both false once they work again.
    DeviceTrouble {
        /// The microphone stopped.
        mic_stopped: bool,
        /// The camera stopped.
        camera_stopped: bool,
    },
    /// Chat to everyone (`to` absent) or privately.
    Chat {
        /// Recipient.
        #[serde(default)]
        to: Option<u64>,
        /// Text.
        text: String,
    },
    /// The tiles this page shows (sent again when that changes): each slot
    /// on screen with its tile's width in device pixels; slots not listed
    /// are off screen and get no video.
    View {
        /// Tiles on screen.
        tiles: Vec<TileShown>,
    },
    /// The key holder's answer to `rotate_key`: the new media key wrapped
    /// for each listener (opaque to the server, relayed as is).
    Keys {
        /// The `epoch` of the request.
        epoch: u32,
        /// One wrapped key per listener.
        wrapped: Vec<WrappedKeyItem>,
    },
    /// Leave the session.
    Leave,
}

/// One wrapped media key in `keys`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WrappedKeyItem {
    /// The listener.
    pub participant: u64,
    /// The wrapped key (base64url).
    pub key: String,
}

/// One listener in `rotate_key`.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct KeyListener {
    /// Participant id.
    pub participant: u64,
    /// Their page's public key.
    pub public_key: String,
}

/// One tile on a page's screen.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TileShown {
    /// The slot (from `slot`).
    pub slot: u8,
    /// Width in device pixels.
    pub width: u32,
}

/// A TURN server as `RTCPeerConnection` takes it (`iceServers`).
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct IceServer {
    /// `turn:` / `turns:` URLs.
    pub urls: Vec<String>,
    /// Time-limited username (see `crate::turn`).
    pub username: String,
    /// Its password.
    pub credential: String,
}

/// One admitted participant, as sent to the room.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct RosterItem {
    /// Participant id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// `facilitator`, `co_facilitator` or `member`.
    pub role: String,
    /// Runs the room now.
    pub moderator: bool,
    /// Microphone reaches the room.
    pub audio: bool,
    /// Camera reaches the room.
    pub video: bool,
    /// Muted by the facilitator.
    pub muted_by_facilitator: bool,
    /// Position among raised hands.
    pub hand: Option<u32>,
    /// Connected (false while reconnecting).
    pub connected: bool,
    /// Stepped away (camera and microphone off for now).
    pub away: bool,
}

/// One waiting member, as sent to staff.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct WaitingItem {
    /// Participant id.
    pub id: u64,
    /// Display name.
    pub name: String,
    /// Came by a personal link.
    pub known: bool,
    /// The participant already here on the same personal link, if any: this
    /// knock is a second device (or someone else holding the link).
    #[serde(default)]
    pub device_of: Option<u64>,
}

/// One participant whose devices stopped, as sent to staff.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct DeviceTroubleItem {
    /// Participant id.
    pub id: u64,
    /// The microphone stopped.
    pub mic_stopped: bool,
    /// The camera stopped.
    pub camera_stopped: bool,
}

/// The kind of a round.
#[derive(Debug, Serialize, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum RoundKindMsg {
    /// Check-in.
    CheckIn,
    /// Check-out.
    CheckOut,
    /// Any round.
    Round,
}

/// One person in a round's order.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct RoundItem {
    /// Participant id.
    pub id: u64,
    /// They passed.
    pub passed: bool,
}

/// A member who said "I need a moment", as sent to staff.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
pub struct NeedMomentItem {
    /// Participant id.
    pub id: u64,
    /// Seconds since they said it.
    pub since_seconds: u64,
}

/// Messages to a client.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMsg {
    /// `hello` accepted. `resume` is the secret to come back with.
    Welcome {
        /// Protocol version.
        v: u32,
        /// The secret that resumes this participant after a drop, without
        /// knocking (members). A link alone never does.
        resume: Option<String>,
    },
    /// You are in the waiting room; nobody can see or hear you.
    Waiting,
    /// You are in the room.
    Admitted {
        /// Your participant id.
        you: u64,
        /// TURN servers with credentials for this participant's media
        /// connection (empty when the clinic runs none). Never sent before
        /// admission.
        #[serde(default)]
        ice_servers: Vec<IceServer>,
    },
    /// Not admitted.
    Denied,
    /// Private message from the facilitator.
    FacilitatorMessage {
        /// Text.
        text: String,
    },
    /// Everyone admitted.
    Roster {
        /// Participants.
        participants: Vec<RosterItem>,
    },
    /// Everyone waiting, in arrival order (staff only).
    WaitingList {
        /// Waiting members.
        waiting: Vec<WaitingItem>,
    },
    /// A chat message (never stored).
    Chat {
        /// Sender.
        from: u64,
        /// Private.
        private: bool,
        /// Text.
        text: String,
    },
    /// Chat on or off.
    ChatPolicy {
        /// Enabled.
        enabled: bool,
    },
    /// Room lock state (staff).
    Locked {
        /// Locked.
        locked: bool,
    },
    /// The facilitator changed your permission to publish.
    ForcedMute {
        /// Audio muted.
        audio: bool,
        /// Video muted.
        video: bool,
        /// You may unmute.
        may_unmute: bool,
    },
    /// Back to the waiting room.
    ReturnedToWaiting,
    /// You were removed.
    Removed,
    /// You were admitted on another device; this connection is closed.
    Replaced,
    /// The session ended.
    SessionEnded,
    /// The server is restarting: reconnect at once (with a little jitter);
    /// the session and everyone's place in it are kept.
    Restarting,
    /// The facilitator is away (true) or back (false).
    FacilitatorAway {
        /// Away.
        away: bool,
    },
    /// Whose devices stopped (staff only; nobody else is told).
    DeviceTrouble {
        /// Participants with a stopped microphone or camera.
        participants: Vec<DeviceTroubleItem>,
    },
    /// Who is in the side room; both absent when there is none. A page
    /// in it says "you are in a side room with …", the others "… stepped
    /// out with …".
    SideRoom {
        /// The facilitator in it.
        #[serde(skip_serializing_if = "Option::is_none")]
        host: Option<u64>,
        /// The member in it.
        #[serde(skip_serializing_if = "Option::is_none")]
        member: Option<u64>,
        /// The group's line for the others, with `{member}` and
        /// `{facilitator}` (absent: the page's default; `""`: no line).
        #[serde(skip_serializing_if = "Option::is_none")]
        notice: Option<String>,
    },
    /// The session clock (staff only): the page counts on from it and gives
    /// the facilitators alone a gentle notice 10 and 5 minutes before the end.
    SessionClock {
        /// Seconds since the session opened.
        elapsed_seconds: u64,
        /// Scheduled length in minutes.
        length_minutes: u64,
    },
    /// The round in progress (`active: false` when there is none).
    Round {
        /// A round is in progress.
        active: bool,
        /// Its kind.
        #[serde(skip_serializing_if = "Option::is_none")]
        kind: Option<RoundKindMsg>,
        /// Who speaks, in order.
        order: Vec<RoundItem>,
        /// Whose turn it is.
        #[serde(skip_serializing_if = "Option::is_none")]
        current: Option<u64>,
    },
    /// Members who said "I need a moment" (staff only, never members).
    NeedMoment {
        /// Who, and since when.
        participants: Vec<NeedMomentItem>,
    },
    /// The SFU's SDP answer.
    Answer {
        /// SDP.
        sdp: String,
    },
    /// Which participant a receive slot carries.
    Slot {
        /// Slot number.
        slot: u8,
        /// Audio m-line.
        audio_mid: String,
        /// Video m-line.
        video_mid: String,
        /// Participant id, or none.
        participant: Option<u64>,
    },
    /// Who speaks now.
    ActiveSpeaker {
        /// Participant id, or nobody.
        participant: Option<u64>,
    },
    /// This page's connection carries only audio for now (video comes back
    /// by itself when bandwidth returns). Sent to that participant only.
    VideoPaused {
        /// Paused (true) or back (false).
        paused: bool,
    },
    /// Which of this page's camera layers anyone receives: it encodes only
    /// those (smallest first: `q`, `h`, `f`). Sent to the publisher only.
    SendLayers {
        /// Per layer: encode it or not.
        active: [bool; 3],
    },
    /// Make a new media key and wrap it for each listener, answering with
    /// `keys` (the key holder only).
    RotateKey {
        /// The new key's number (its key id in frames is `epoch % 256`).
        epoch: u32,
        /// Everyone else who may listen now.
        listeners: Vec<KeyListener>,
    },
    /// A media key the holder wrapped for this page.
    MediaKey {
        /// The key's number.
        epoch: u32,
        /// The holder.
        from: u64,
        /// The holder page's public key.
        public_key: String,
        /// The wrapped key.
        key: String,
    },
    /// A command was refused by the room.
    Refused {
        /// Machine-readable reason.
        reason: String,
        /// Plain-language explanation.
        message: String,
    },
    /// A protocol error (bad message, bad token, ...).
    Error {
        /// Machine-readable code.
        code: String,
        /// Plain-language explanation.
        message: String,
    },
}

/// Decode one text message from a client. Errors name the field or variant
/// that is wrong (serde's words), never echo the values sent.
pub fn decode(text: &str) -> Result<ClientMsg, ServerMsg> {
    serde_json::from_str::<ClientMsg>(text).map_err(|e| {
        let what = if e.is_syntax() || e.is_eof() {
            "not valid JSON"
        } else {
            "not a known message"
        };
        ServerMsg::error(
            "bad_message",
            format!(
                "That message is {what}: {}",
                e.to_string().split(" at line").next().unwrap_or("")
            ),
        )
    })
}

impl ServerMsg {
    /// A protocol error.
    pub fn error(code: &str, message: impl Into<String>) -> Self {
        ServerMsg::Error {
            code: code.to_owned(),
            message: message.into(),
        }
    }
}
