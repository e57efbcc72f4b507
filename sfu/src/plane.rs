//! The narrow interface the control plane drives the media plane through.
//!
//! Signaling decides *who may do what*; the media plane only carries packets.
//! In one process the calls travel over channels to the worker that owns the
//! room; the same commands could later travel between machines.

use std::future::Future;

use crate::core::CoreError;
use crate::ids::{ParticipantId, PublishPermission, RoomId, TileView};

/// Why a media-plane command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MediaError {
    /// The core refused the command.
    #[error(transparent)]
    Refused(#[from] CoreError),
    /// The media plane is shutting down.
    #[error("the media plane has stopped")]
    Stopped,
}

/// Commands from the control plane. Events come back on the channel returned
/// when the media plane starts ([`crate::io::MediaServer::start`]).
pub trait MediaPlane: Send + Sync + 'static {
    /// Admit a participant's peer connection: SDP offer in, SDP answer out.
    /// Call only for participants the control plane admitted.
    fn add_participant(
        &self,
        room: RoomId,
        participant: ParticipantId,
        offer: String,
    ) -> impl Future<Output = Result<String, MediaError>> + Send;

    /// Disconnect a participant and free everything it held.
    fn remove_participant(
        &self,
        room: RoomId,
        participant: ParticipantId,
    ) -> impl Future<Output = Result<(), MediaError>> + Send;

    /// Allow or stop a participant's audio/video reaching the room (mute).
    fn set_publish(
        &self,
        room: RoomId,
        participant: ParticipantId,
        permission: PublishPermission,
    ) -> impl Future<Output = Result<(), MediaError>> + Send;

    /// Whether `subscriber` receives `publisher` (default: yes).
    fn set_subscription(
        &self,
        room: RoomId,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        receive: bool,
    ) -> impl Future<Output = Result<(), MediaError>> + Send;

    /// What `subscriber`'s page shows of its slots (tiles on screen and
    /// their sizes), so each slot gets the video layer its tile can show.
    fn set_view(
        &self,
        room: RoomId,
        subscriber: ParticipantId,
        view: TileView,
    ) -> impl Future<Output = Result<(), MediaError>> + Send;
}
