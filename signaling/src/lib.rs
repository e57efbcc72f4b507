//! Haven's control plane: who may be in a room and what they may do.
//!
//! * [`room`] is the pure state machine of one session.
//! * [`store`] keeps accounts, groups, links and the audit log in SQLite.
//! * [`auth`] hashes passwords and keeps login sessions.
//! * [`live`] runs open sessions: room actors that drive the media plane.
//! * [`http`] is the axum application: JSON API and the WebSocket.
//! * [`protocol`] is the wire format.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod auth;
pub mod http;
pub mod live;
pub mod protocol;
pub mod room;
pub mod store;
pub mod turn;
