//! Helpers for Haven's end-to-end tests: an independent WebRTC client
//! (webrtc-rs) that publishes a real Opus tone and a video stream and
//! identifies the tones it receives.
#![forbid(unsafe_code)]

pub mod tone;
pub mod webrtc_client;
