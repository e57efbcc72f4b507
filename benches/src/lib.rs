//! Haven's instruments: the `loadgen` load generator (str0m participants
//! over real UDP against Haven or Janus) and, in `benches/`, criterion
//! benches of the SFU core. Figures live in `docs/performance.md`.
#![forbid(unsafe_code)]

pub mod janus;
pub mod media;
pub mod participant;
pub mod report;
pub mod signal;
