//! Haven benchmarks: see benches/ (criterion) and src/bin/loadgen.rs.
#![forbid(unsafe_code)]
