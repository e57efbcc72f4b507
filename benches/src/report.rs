//! What the load generator measured, and how it is summarised.

use std::collections::HashMap;
use std::time::Duration;

/// Latency histogram: 10 µs buckets up to 200 ms, then one overflow bucket.
#[derive(Clone)]
pub struct Latency {
    buckets: Vec<u64>,
}

const BUCKET_US: u64 = 10;
const BUCKETS: usize = 20_000;

impl Default for Latency {
    fn default() -> Self {
        Self {
            buckets: vec![0; BUCKETS + 1],
        }
    }
}

impl Latency {
    pub fn record(&mut self, d: Duration) {
        let i = (d.as_micros() as u64 / BUCKET_US) as usize;
        self.buckets[i.min(BUCKETS)] += 1;
    }

    pub fn merge(&mut self, o: &Latency) {
        for (a, b) in self.buckets.iter_mut().zip(&o.buckets) {
            *a += b;
        }
    }

    pub fn count(&self) -> u64 {
        self.buckets.iter().sum()
    }

    /// The `q` quantile (0..1), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let total = self.count();
        if total == 0 {
            return f64::NAN;
        }
        let target = (q * total as f64).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, n) in self.buckets.iter().enumerate() {
            seen += n;
            if seen >= target {
                return (i as u64 * BUCKET_US + BUCKET_US / 2) as f64 / 1000.0;
            }
        }
        f64::INFINITY
    }
}

/// One received stream: sequence range and count give the loss.
#[derive(Clone, Copy, Default)]
pub struct StreamRx {
    pub first: u64,
    pub max: u64,
    pub received: u64,
    pub video: bool,
}

impl StreamRx {
    pub fn expected(&self) -> u64 {
        self.max - self.first + 1
    }
}

/// Everything one participant measured.
#[derive(Default, Clone)]
pub struct ParticipantStats {
    pub streams: HashMap<(usize, u32), StreamRx>,
    pub latency: Latency,
    pub sent_packets: u64,
    pub first_audio: Option<Duration>,
    pub first_video: Option<Duration>,
    pub connected: bool,
}

/// The run's summary.
#[derive(Default)]
pub struct Summary {
    pub participants: usize,
    pub connected: usize,
    pub received: u64,
    pub expected: u64,
    pub sent: u64,
    pub latency: Latency,
    pub join_audio: Vec<f64>,
    pub join_video: Vec<f64>,
}

impl Summary {
    pub fn add(&mut self, p: &ParticipantStats) {
        self.participants += 1;
        self.connected += usize::from(p.connected);
        for s in p.streams.values() {
            self.received += s.received;
            self.expected += s.expected();
        }
        self.sent += p.sent_packets;
        self.latency.merge(&p.latency);
        if let Some(d) = p.first_audio {
            self.join_audio.push(d.as_secs_f64() * 1000.0);
        }
        if let Some(d) = p.first_video {
            self.join_video.push(d.as_secs_f64() * 1000.0);
        }
    }

    pub fn loss(&self) -> f64 {
        if self.expected == 0 {
            return f64::NAN;
        }
        1.0 - self.received as f64 / self.expected as f64
    }
}

/// The `q` quantile of unsorted values.
pub fn quantile(values: &[f64], q: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    v[((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1]
}

/// CPU time (user + system) of a process, from /proc, in seconds.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

/// Resident memory of a process, in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    Some(line.split_whitespace().nth(1)?.parse::<u64>().ok()? * 1024)
}
