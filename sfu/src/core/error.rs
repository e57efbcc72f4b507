//! Errors of the sans-IO core.

use crate::ids::{ParticipantId, RoomId};

/// Why the core refused a command. Packets never produce errors: bad packets
/// are counted and dropped, so that a stranger cannot make a command fail.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum CoreError {
    /// The participant is already in the room.
    #[error("{0} is already in the media plane")]
    DuplicateParticipant(ParticipantId),
    /// No such participant in the media plane.
    #[error("{0} is not in the media plane")]
    UnknownParticipant(ParticipantId),
    /// The participant is in a different room than the command names.
    #[error("{participant} is not in {room}")]
    WrongRoom {
        /// The room the command named.
        room: RoomId,
        /// The participant.
        participant: ParticipantId,
    },
    /// The room already holds its maximum number of participants.
    #[error("{0} is full")]
    RoomFull(RoomId),
    /// The SDP offer could not be parsed or negotiated. The text says what was
    /// wrong; it never quotes the SDP (which carries addresses).
    #[error("the SDP offer was refused: {0}")]
    BadOffer(String),
}
