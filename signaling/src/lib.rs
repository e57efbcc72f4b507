//! Haven's control plane: who may be in a room and what they may do.
//!
//! * [`room`] is the pure state machine of one session.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod room;
