//! What goes into the room state machine and what comes out of it.

use std::time::Duration;

use super::gate::Arrival;
use super::ids::{ChatText, DisplayName, ParticipantId, Role, TileView};
use super::keys::{KeyEpoch, PublicKey, WrappedKey};
use super::rounds::{RoundKind, RoundView};

/// One WebSocket connection, numbered by the server. A participant is
/// attached to at most one connection at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// How a room is set up when its session starts.
#[derive(Clone, Debug)]
pub struct RoomSettings {
    /// Members admitted at most at once (staff do not count).
    pub capacity: usize,
    /// How long an admitted member who dropped keeps their seat.
    pub reconnect_grace: Duration,
    /// The session's scheduled length (the facilitators' clock).
    pub length: Duration,
    /// The group's side-room line (`None`: the pages' default, `""`: none).
    pub stepped_out_notice: Option<String>,
}

/// Everything that can happen to a room. `by` is always the participant the
/// server authenticated for the connection the command came from.
#[derive(Clone, Debug)]
pub enum Command {
    /// A connection presents itself at the door: a member knocks, staff
    /// enter, or someone comes back with their resume key (see `gate.rs`).
    Enter(Arrival),
    /// The connection dropped (network, closed tab).
    ConnectionLost {
        /// Which connection.
        conn: ConnId,
    },
    /// Time passed: expire reconnect grace periods.
    Tick,
    /// Leave for good.
    Leave {
        /// Who.
        by: ParticipantId,
    },
    /// Admit a waiting member.
    Admit {
        /// The moderator.
        by: ParticipantId,
        /// The member.
        who: ParticipantId,
    },
    /// Refuse a waiting member (their link is blocked for this session).
    Deny {
        /// The moderator.
        by: ParticipantId,
        /// The member.
        who: ParticipantId,
    },
    /// Admit waiting members in arrival order, up to capacity.
    AdmitAll {
        /// The moderator.
        by: ParticipantId,
    },
    /// A short private message to a waiting member.
    MessageWaiting {
        /// The moderator.
        by: ParticipantId,
        /// The waiting member.
        who: ParticipantId,
        /// The message.
        text: ChatText,
    },
    /// Stop (or allow again) a member's audio/video at the SFU.
    Mute {
        /// The moderator.
        by: ParticipantId,
        /// The member.
        who: ParticipantId,
        /// Mute the microphone.
        audio: bool,
        /// Mute the camera.
        video: bool,
        /// Whether the member may unmute themselves.
        may_unmute: bool,
    },
    /// Remove a member; their link is blocked for the rest of the session.
    Remove {
        /// The moderator.
        by: ParticipantId,
        /// The member.
        who: ParticipantId,
    },
    /// Send an admitted member back to the waiting room.
    ReturnToWaiting {
        /// The moderator.
        by: ParticipantId,
        /// The member.
        who: ParticipantId,
    },
    /// Lock (no new knocks) or unlock.
    Lock {
        /// The moderator.
        by: ParticipantId,
        /// Locked or not.
        locked: bool,
    },
    /// End the session for everyone.
    End {
        /// The moderator.
        by: ParticipantId,
    },
    /// Hand facilitation to another staff member in the room.
    HandOver {
        /// The moderator.
        by: ParticipantId,
        /// The co-facilitator.
        to: ParticipantId,
    },
    /// Take facilitation while the facilitator is absent.
    TakeOver {
        /// The co-facilitator.
        by: ParticipantId,
    },
    /// Turn chat on or off for members.
    SetChat {
        /// The moderator.
        by: ParticipantId,
        /// On or off.
        enabled: bool,
    },
    /// The key holder's wrapped keys for a rotation it was asked for.
    DeliverKeys {
        /// The key holder.
        by: ParticipantId,
        /// Which rotation.
        epoch: KeyEpoch,
        /// One wrapped key per listener.
        wrapped: Vec<(ParticipantId, WrappedKey)>,
    },
    /// Own microphone/camera on or off.
    SelfMedia {
        /// Who.
        by: ParticipantId,
        /// Microphone on.
        audio: bool,
        /// Camera on.
        video: bool,
    },
    /// Own devices stopped (or work again).
    DeviceTrouble {
        /// Who.
        by: ParticipantId,
        /// The microphone stopped.
        mic: bool,
        /// The camera stopped.
        camera: bool,
    },
    /// A facilitator takes a member into the side room.
    SideRoomStart {
        /// The facilitator or co-facilitator.
        by: ParticipantId,
        /// The member.
        who: ParticipantId,
    },
    /// A facilitator ends the side room.
    SideRoomEnd {
        /// The facilitator or co-facilitator.
        by: ParticipantId,
    },
    /// The moderator opens a round.
    RoundStart {
        /// The moderator.
        by: ParticipantId,
        /// Check-in, check-out or round.
        kind: RoundKind,
    },
    /// The moderator moves the round on.
    RoundNext {
        /// The moderator.
        by: ParticipantId,
    },
    /// The person whose turn it is passes.
    RoundPass {
        /// Who.
        by: ParticipantId,
    },
    /// The moderator ends the round.
    RoundEnd {
        /// The moderator.
        by: ParticipantId,
    },
    /// A member says "I need a moment" (or withdraws it): to staff only.
    NeedMoment {
        /// Who.
        by: ParticipantId,
        /// Said or withdrawn.
        on: bool,
    },
    /// Step away from the screen, or come back.
    StepAway {
        /// Who.
        by: ParticipantId,
        /// Away or back.
        away: bool,
    },
    /// Raise or lower a hand.
    RaiseHand {
        /// Who.
        by: ParticipantId,
        /// Raised or lowered.
        raised: bool,
    },
    /// Ephemeral chat: to everyone, or privately (members only to staff).
    Chat {
        /// Sender.
        by: ParticipantId,
        /// Private recipient, or everyone.
        to: Option<ParticipantId>,
        /// The message.
        text: ChatText,
    },
    /// What the participant's page shows of its slots.
    View {
        /// Who.
        by: ParticipantId,
        /// Tiles on screen and their sizes.
        view: TileView,
    },
    /// The participant's SDP offer for the media plane.
    Offer {
        /// Who.
        by: ParticipantId,
        /// The SDP (forwarded to the SFU only; never logged).
        sdp: String,
    },
}

impl Command {
    /// What kind of command this is, for logs (never its contents: names,
    /// chat and SDP must not reach a log).
    pub fn kind(&self) -> &'static str {
        match self {
            Command::Enter(_) => "enter",
            Command::ConnectionLost { .. } => "connection_lost",
            Command::Tick => "tick",
            Command::Leave { .. } => "leave",
            Command::Admit { .. } => "admit",
            Command::Deny { .. } => "deny",
            Command::AdmitAll { .. } => "admit_all",
            Command::MessageWaiting { .. } => "message_waiting",
            Command::Mute { .. } => "mute",
            Command::Remove { .. } => "remove",
            Command::ReturnToWaiting { .. } => "return_to_waiting",
            Command::Lock { .. } => "lock",
            Command::End { .. } => "end",
            Command::HandOver { .. } => "hand_over",
            Command::TakeOver { .. } => "take_over",
            Command::SetChat { .. } => "set_chat",
            Command::SelfMedia { .. } => "self_media",
            Command::RaiseHand { .. } => "raise_hand",
            Command::DeviceTrouble { .. } => "device_trouble",
            Command::NeedMoment { .. } => "need_moment",
            Command::RoundStart { .. } => "round_start",
            Command::SideRoomStart { .. } => "side_room_start",
            Command::SideRoomEnd { .. } => "side_room_end",
            Command::RoundNext { .. } => "round_next",
            Command::RoundPass { .. } => "round_pass",
            Command::RoundEnd { .. } => "round_end",
            Command::StepAway { .. } => "step_away",
            Command::Chat { .. } => "chat",
            Command::Offer { .. } => "offer",
            Command::View { .. } => "view",
            Command::DeliverKeys { .. } => "deliver_keys",
        }
    }
}

/// One admitted participant as the others see them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterEntry {
    /// Who.
    pub id: ParticipantId,
    /// Their name.
    pub name: DisplayName,
    /// Their role.
    pub role: Role,
    /// Whether they run the room now.
    pub moderator: bool,
    /// Microphone reaches the room.
    pub audio: bool,
    /// Camera reaches the room.
    pub video: bool,
    /// Muted by the facilitator.
    pub muted_by_facilitator: bool,
    /// Position in the queue of raised hands (1 = first), if raised.
    pub hand: Option<u32>,
    /// Connected now (false while reconnecting).
    pub connected: bool,
    /// Stepped away.
    pub away: bool,
}

/// One waiting member as staff see them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WaitingEntry {
    /// Who.
    pub id: ParticipantId,
    /// The name they chose.
    pub name: DisplayName,
    /// Came with a personal link.
    pub known: bool,
    /// Someone with the same personal link is already here (admitted or
    /// waiting): this is a second device, or someone else holding the link.
    /// Admitting it replaces that participant.
    pub device_of: Option<ParticipantId>,
}

/// Why a command was refused. Every refusal is said plainly to whoever asked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Your role may not do that.
    NotAllowed,
    /// The room holds its capacity of members.
    Full {
        /// The capacity.
        capacity: usize,
    },
    /// The room is locked: no new knocks.
    Locked,
    /// The session has ended.
    Ended,
    /// This link was removed or denied for this session.
    Blocked,
    /// No such participant (or not in the needed state).
    NoSuchParticipant,
    /// Chat is off.
    ChatOff,
    /// The facilitator muted you and did not allow unmuting.
    MutedByFacilitator,
    /// The facilitator is present; nothing to take over.
    FacilitatorPresent,
}

/// What a participant is told. A member who is not admitted only ever gets
/// `Waiting`, `Admitted`, `Denied`, `FacilitatorMessage`, `Removed`, `Replaced`,
/// `SessionEnded` or `Refused` (never `Full`): nothing about the room.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Notice {
    /// You are in the waiting room.
    Waiting,
    /// You are in.
    Admitted {
        /// Your participant id.
        you: ParticipantId,
    },
    /// The facilitator did not admit you.
    Denied,
    /// A private message from the facilitator while you wait.
    FacilitatorMessage {
        /// The message.
        text: ChatText,
    },
    /// Who is in the room (admitted participants only).
    Roster(Vec<RosterEntry>),
    /// Who is waiting, in arrival order (staff only).
    WaitingList(Vec<WaitingEntry>),
    /// Admitted participants whose microphone or camera stopped: (who,
    /// microphone, camera). Staff only.
    DeviceTrouble(Vec<(ParticipantId, bool, bool)>),
    /// Who is in the side room (the facilitator, the member), or nobody,
    /// with the group's wording for the others. Admitted participants
    /// (each page words it for its side).
    SideRoom {
        /// (facilitator, member), if any.
        pair: Option<(ParticipantId, ParticipantId)>,
        /// The group's line for the others (`None`: default, `""`: none).
        wording: Option<String>,
    },
    /// How long the session has run, and its scheduled length. Staff only.
    Clock {
        /// Since the session opened.
        elapsed: Duration,
        /// Scheduled length.
        length: Duration,
    },
    /// The round in progress, or none (any more). Admitted participants.
    Round(Option<RoundView>),
    /// Members who said "I need a moment", and since how long. Staff only.
    NeedMoment(Vec<(ParticipantId, Duration)>),
    /// A chat message.
    Chat {
        /// Sender.
        from: ParticipantId,
        /// Private (to you or from you) or to everyone.
        private: bool,
        /// The message.
        text: ChatText,
    },
    /// Chat was turned on or off.
    ChatPolicy {
        /// On or off.
        enabled: bool,
    },
    /// The room was locked or unlocked (staff only).
    Locked {
        /// Locked or not.
        locked: bool,
    },
    /// The facilitator changed your media permission.
    ForcedMute {
        /// Microphone muted.
        audio: bool,
        /// Camera muted.
        video: bool,
        /// You may unmute yourself.
        may_unmute: bool,
    },
    /// You were returned to the waiting room.
    ReturnedToWaiting,
    /// You were removed.
    Removed,
    /// The facilitator admitted you on another device; this one is closed.
    Replaced,
    /// The session ended.
    SessionEnded,
    /// The facilitator dropped (true) or is back (false).
    FacilitatorAway {
        /// Away or back.
        away: bool,
    },
    /// Make a new media key and wrap it for each of these listeners (the
    /// key holder only).
    RotateKey {
        /// The new key's number.
        epoch: KeyEpoch,
        /// Who may listen, with their pages' public keys.
        listeners: Vec<(ParticipantId, PublicKey)>,
    },
    /// A media key the holder wrapped for you (admitted participants only).
    MediaKey {
        /// The key's number.
        epoch: KeyEpoch,
        /// The holder.
        from: ParticipantId,
        /// The holder page's public key (to unwrap with).
        holder_key: PublicKey,
        /// The wrapped key.
        wrapped: WrappedKey,
    },
    /// Your command was refused.
    Refused(Refusal),
}

/// What the server must do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// This connection now speaks for this participant.
    Attach {
        /// The connection.
        conn: ConnId,
        /// The participant.
        who: ParticipantId,
    },
    /// Tell the participant (through its attached connection, if any).
    Notify {
        /// Recipient.
        to: ParticipantId,
        /// What.
        notice: Notice,
    },
    /// Tell a connection that has no participant (a refused knock).
    Reply {
        /// The connection.
        conn: ConnId,
        /// What.
        notice: Notice,
    },
    /// Close this connection (after what was sent to it).
    Close {
        /// The connection.
        conn: ConnId,
    },
    /// Give this participant's offer to the media plane.
    MediaAdd {
        /// Who.
        who: ParticipantId,
        /// The SDP offer.
        sdp: String,
    },
    /// Take the participant out of the media plane.
    MediaRemove {
        /// Who.
        who: ParticipantId,
    },
    /// What of the participant's media the SFU lets through.
    MediaPublish {
        /// Who.
        who: ParticipantId,
        /// Microphone.
        audio: bool,
        /// Camera.
        video: bool,
    },
    /// Whether `subscriber` receives `publisher` (the side room).
    MediaRoute {
        /// Who would receive.
        subscriber: ParticipantId,
        /// Whose media.
        publisher: ParticipantId,
        /// Receive or not.
        receive: bool,
    },
    /// Which video layers fit the participant's tiles.
    MediaView {
        /// Who.
        who: ParticipantId,
        /// Tiles on screen and their sizes.
        view: TileView,
    },
    /// Record in the audit log (pseudonymous ids only).
    Audit {
        /// What happened.
        action: AuditAction,
        /// Who did it (the moderator), if anyone.
        actor: Option<ParticipantId>,
        /// To whom.
        subject: ParticipantId,
    },
    /// The session is over: the server may forget the room.
    RoomClosed,
}

/// Audited actions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuditAction {
    /// A member was admitted.
    Admitted,
    /// A member was denied.
    Denied,
    /// A member was removed.
    Removed,
    /// A member was returned to the waiting room.
    ReturnedToWaiting,
    /// A member's audio and/or video was muted (or allowed again).
    Muted,
    /// Facilitation changed hands.
    HandedOver,
    /// The session ended.
    SessionEnded,
}

impl AuditAction {
    /// The word stored in the audit log.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Admitted => "admitted",
            AuditAction::Denied => "denied",
            AuditAction::Removed => "removed",
            AuditAction::ReturnedToWaiting => "returned_to_waiting",
            AuditAction::Muted => "muted",
            AuditAction::HandedOver => "handed_over",
            AuditAction::SessionEnded => "session_ended",
        }
    }
}
