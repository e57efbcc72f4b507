//! Haven's media plane: a selective forwarding unit on str0m.
//!
//! * [`core`] is sans-IO: rooms, participants, forwarding, in simulated or
//!   real time alike.
//! * [`io`] is the thin tokio shell: one UDP port, worker threads that each
//!   own a share of the rooms, timers.
//! * [`MediaPlane`] is the narrow interface the control plane drives.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod core;
mod ids;
pub mod io;
mod plane;

pub use crate::core::MediaEvent;
pub use ids::{ParticipantId, PublishPermission, RoomId, SlotIndex, TileView, MAX_ROOM_SIZE};
pub use plane::{MediaError, MediaPlane};
