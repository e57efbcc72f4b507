//! Haven's confidentiality guard.
//!
//! What is said in a group must stay in the group. Haven has no recording
//! feature to switch off; this crate makes sure that nothing *could* record:
//!
//! * [`lock_down`] runs once at start-up, after the database and sockets are
//!   open and before any thread starts: no core dumps (a crash must not
//!   write memory, which holds media and chat, to disk), and a Landlock
//!   ruleset under which the process cannot create or write files anywhere
//!   but its data directory.
//! * [`redact`] keeps display names, addresses, SDP, tokens and chat out of
//!   the logs.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod lockdown;
pub mod redact;

pub use lockdown::{lock_down, probe_write, LandlockState, Lockdown, LockdownError, Probe};
