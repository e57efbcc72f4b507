//! Typed identifiers shared by the media plane and whoever drives it.
//!
//! Every identifier is a pseudonymous number: safe to log, meaningless outside
//! Haven. Display names never reach the media plane at all.

use std::fmt;

/// The most people in one room: a facilitator, a co-facilitator and up to
/// twelve members. Each page offers one audio and one video receive slot per
/// possible other person, so an offer has at most `2 * MAX_ROOM_SIZE` m-lines.
pub const MAX_ROOM_SIZE: usize = 14;

/// A room: one running session of one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RoomId(pub u64);

/// One participant in one room (a facilitator or an admitted member).
///
/// The control plane allocates these; the media plane never invents them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantId(pub u64);

/// A fixed receive slot in a subscriber's peer connection: one audio and one
/// video m-line that carry one remote participant at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotIndex(pub u8);

impl fmt::Display for RoomId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "room-{}", self.0)
    }
}

impl fmt::Display for ParticipantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p-{}", self.0)
    }
}

impl fmt::Display for SlotIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "slot-{}", self.0)
    }
}

/// What a subscriber's page shows of its slots: each slot on screen with
/// its tile's width in device pixels. A slot not listed is not on screen
/// (another layout, or the page is hidden) and gets no video; a
/// participant that never reported a view gets the default rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TileView {
    /// (slot, tile width in device pixels).
    pub visible: Vec<(SlotIndex, u16)>,
}

impl TileView {
    /// The width slot `slot` is shown at, if on screen.
    pub fn width_of(&self, slot: SlotIndex) -> Option<u16> {
        self.visible
            .iter()
            .find(|(s, _)| *s == slot)
            .map(|(_, w)| *w)
    }
}

/// Which of a participant's media the room lets through the SFU.
///
/// This is how a facilitator's mute is enforced: packets that are not allowed
/// are dropped on arrival, whatever the participant's client does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishPermission {
    /// Whether the participant's microphone reaches the room.
    pub audio: bool,
    /// Whether the participant's camera reaches the room.
    pub video: bool,
}

impl PublishPermission {
    /// Audio and video both allowed (the default for an admitted participant).
    pub const ALL: Self = Self {
        audio: true,
        video: true,
    };
    /// Nothing reaches the room.
    pub const NONE: Self = Self {
        audio: false,
        video: false,
    };
}
