//! The SFU core's forwarding path in simulated time: one publisher, twelve
//! subscribers (a full group), real str0m peers, no sockets. Only the core's
//! work on the publisher's packets is timed: decrypting one packet and
//! encrypting it for twelve subscribers. Reports forwarded packets per
//! second on one core and allocations per forwarded packet.

#[path = "../../sfu/tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::alloc::System;
use std::time::{Duration, Instant};

use common::{Conditions, World};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use haven_sfu::core::{Input, Output};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

const SUBSCRIBERS: u8 = 12;

/// A room of 13: client 1 publishes, the others only listen.
fn room() -> World {
    let mut w = World::new(
        99,
        Conditions {
            delay: Duration::ZERO,
            ..Conditions::CLEAN
        },
    );
    w.slots = SUBSCRIBERS as usize;
    // One stream, so that every packet in is forwarded to all twelve (the
    // per-packet cost, comparable across versions; with simulcast most
    // packets of the unused layers go nowhere).
    w.simulcast = false;
    for id in 1..=SUBSCRIBERS + 1 {
        w.join(id);
        if id > 1 {
            w.client_mut(id).publishing = false;
        }
    }
    w.run_for(Duration::from_secs(1));
    w
}

/// What one measured run did.
struct Run {
    elapsed: Duration,
    forwarded: u64,
    allocations: usize,
}

/// Feed the publisher's next `packets` RTP datagrams to the core, timing
/// only the core. Everything else (subscribers' STUN, timers) runs untimed.
fn forward(w: &mut World, packets: u64) -> Run {
    let mut run = Run {
        elapsed: Duration::ZERO,
        forwarded: 0,
        allocations: 0,
    };
    let sfu_addr = common::sfu_addr();
    let before = w.sfu.counters().forward.packets_forwarded;
    let mut fed = 0;
    while fed < packets {
        w.now += Duration::from_millis(2);
        let now = w.now;
        let mut out = Vec::new();
        for c in w.clients.iter_mut() {
            if c.next_timeout <= now {
                c.timeout(now, &mut out);
            }
        }
        w.clients[0].send_media(now, &mut out);
        for (from, _, bytes) in out {
            let is_media =
                bytes.first().is_some_and(|b| (128..=191).contains(b)) && from == w.clients[0].addr;
            let region = Region::new(GLOBAL);
            let t0 = Instant::now();
            w.sfu.handle_input(
                now,
                Input::Receive {
                    source: from,
                    destination: sfu_addr,
                    contents: &bytes,
                },
            );
            let mut replies = Vec::new();
            let next = loop {
                match w.sfu.poll_output() {
                    Output::Timeout(t) => break t,
                    Output::Transmit(t) => replies.push(t),
                    _ => {}
                }
            };
            if is_media {
                run.elapsed += t0.elapsed();
                run.allocations += region.change().allocations;
                fed += 1;
            }
            // Deliver only connectivity checks back; media and RTCP are dropped.
            for t in replies {
                if t.contents.first().is_some_and(|b| *b < 4) {
                    if let Some(c) = w.clients.iter_mut().find(|c| c.addr == t.destination) {
                        let mut ignored = Vec::new();
                        c.receive(now, t.source, &t.contents, &mut ignored);
                    }
                }
            }
            if next <= now {
                w.sfu.handle_input(now, Input::Timeout);
                while !matches!(w.sfu.poll_output(), Output::Timeout(_)) {}
            }
        }
    }
    run.forwarded = w.sfu.counters().forward.packets_forwarded - before;
    run
}

fn bench(c: &mut Criterion) {
    let mut w = room();
    // One calibration run for the allocation figure (printed once).
    let cal = forward(&mut w, 2000);
    println!(
        "forwarding: {:.2} allocations per forwarded packet, {:.0} forwarded packets/s on one core ({} in, {} forwarded)",
        cal.allocations as f64 / cal.forwarded.max(1) as f64,
        cal.forwarded as f64 / cal.elapsed.as_secs_f64(),
        2000,
        cal.forwarded,
    );
    let mut group = c.benchmark_group("sfu_core");
    group.throughput(Throughput::Elements(u64::from(SUBSCRIBERS)));
    group.bench_function("publisher_packet_to_12_subscribers", |b| {
        b.iter_custom(|iters| forward(&mut w, iters).elapsed);
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(Duration::from_secs(5));
    targets = bench
}
criterion_main!(benches);
