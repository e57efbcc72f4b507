//! A seeded network emulator in simulated time: loss, delay and jitter
//! (jitter larger than the packet spacing reorders packets).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Conditions on every link.
#[derive(Clone, Copy, Debug)]
pub struct Conditions {
    /// Probability of losing a datagram, 0.0..=1.0.
    pub loss: f64,
    /// Fixed one-way delay.
    pub delay: Duration,
    /// Extra random delay, uniform in 0..jitter.
    pub jitter: Duration,
}

impl Conditions {
    pub const CLEAN: Self = Self {
        loss: 0.0,
        delay: Duration::from_millis(10),
        jitter: Duration::ZERO,
    };
}

/// A small deterministic PRNG (xorshift64*), so a seed replays a run exactly.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform in 0.0..1.0.
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

pub struct InFlight {
    pub at: Instant,
    pub from: SocketAddr,
    pub to: SocketAddr,
    pub bytes: Vec<u8>,
}

pub struct Net {
    pub conditions: Conditions,
    /// Extra random loss on datagrams *to* these addresses (a member's
    /// lossy downlink), on top of `conditions`.
    pub downlink_loss: Vec<(SocketAddr, f64)>,
    /// A bottleneck on datagrams *to* these addresses: bit/s, and the
    /// queue it holds before dropping (like `tc tbf` with a latency limit).
    pub downlink_rate: Vec<(SocketAddr, u64)>,
    /// When each bottleneck's queue is next free.
    bottleneck_free: std::collections::HashMap<SocketAddr, Instant>,
    pub rng: Rng,
    queue: BinaryHeap<Reverse<(Instant, u64)>>,
    packets: std::collections::HashMap<u64, InFlight>,
    counter: u64,
    pub sent: u64,
    pub lost: u64,
}

impl Net {
    pub fn new(seed: u64, conditions: Conditions) -> Self {
        Self {
            conditions,
            downlink_loss: Vec::new(),
            downlink_rate: Vec::new(),
            bottleneck_free: Default::default(),
            rng: Rng::new(seed),
            queue: BinaryHeap::new(),
            packets: Default::default(),
            counter: 0,
            sent: 0,
            lost: 0,
        }
    }

    pub fn send(&mut self, now: Instant, from: SocketAddr, to: SocketAddr, bytes: Vec<u8>) {
        self.sent += 1;
        let extra = self
            .downlink_loss
            .iter()
            .find(|(a, _)| *a == to)
            .map_or(0.0, |(_, l)| *l);
        if self.rng.unit() < self.conditions.loss || (extra > 0.0 && self.rng.unit() < extra) {
            self.lost += 1;
            return;
        }
        let jitter_us = self.conditions.jitter.as_micros() as u64;
        let extra = Duration::from_micros(if jitter_us > 0 {
            self.rng.below(jitter_us)
        } else {
            0
        });
        let mut at = now + self.conditions.delay + extra;
        if let Some(&(_, bps)) = self.downlink_rate.iter().find(|(a, _)| *a == to) {
            // Serialise behind what is queued; drop beyond 200 ms of queue.
            let free = self
                .bottleneck_free
                .get(&to)
                .copied()
                .unwrap_or(now)
                .max(now);
            if free.saturating_duration_since(now) > Duration::from_millis(200) {
                self.lost += 1;
                return;
            }
            let wire =
                Duration::from_nanos((bytes.len() as u64 + 28) * 8 * 1_000_000_000 / bps.max(1));
            let done = free + wire;
            self.bottleneck_free.insert(to, done);
            at = done + self.conditions.delay + extra;
        }
        self.counter += 1;
        self.queue.push(Reverse((at, self.counter)));
        self.packets.insert(
            self.counter,
            InFlight {
                at,
                from,
                to,
                bytes,
            },
        );
    }

    pub fn next_time(&self) -> Option<Instant> {
        self.queue.peek().map(|Reverse((t, _))| *t)
    }

    pub fn pop_due(&mut self, now: Instant) -> Option<InFlight> {
        match self.queue.peek() {
            Some(Reverse((t, _))) if *t <= now => {
                let Reverse((_, id)) = self.queue.pop().expect("peeked");
                self.packets.remove(&id)
            }
            _ => None,
        }
    }
}
