//! The media each simulated participant sends: real Opus audio (a tone,
//! encoded once and looped) and VP8-shaped video carrying, in its payload,
//! who sent it, a sequence number and when, so that receivers can measure
//! loss and one-way added latency on one clock.

use std::sync::Arc;
use std::time::Instant;

/// Marks a loadgen video payload (after the VP8 descriptor and header).
pub const MAGIC: [u8; 4] = *b"HVNL";

/// One second of a tone, as 50 Opus frames of 20 ms.
pub fn opus_loop(freq: f32) -> Arc<Vec<Vec<u8>>> {
    let mut enc = opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip)
        .expect("opus encoder");
    let mut phase = 0.0f32;
    let step = 2.0 * std::f32::consts::PI * freq / 48_000.0;
    let frames = (0..50)
        .map(|_| {
            let pcm: Vec<i16> = (0..960)
                .map(|_| {
                    phase = (phase + step) % (2.0 * std::f32::consts::PI);
                    (phase.sin() * 8000.0) as i16
                })
                .collect();
            enc.encode_vec(&pcm, 400).expect("opus encode")
        })
        .collect();
    Arc::new(frames)
}

/// Video packets of one frame: `bytes` in total, split into ≤1100-byte RTP
/// payloads. The first starts with a VP8 descriptor (S=1) and a VP8 header
/// whose lowest bit says key (0) or delta (1).
pub fn video_frame(
    publisher: u32,
    first_seq: u64,
    epoch: Instant,
    key: bool,
    bytes: usize,
) -> Vec<Vec<u8>> {
    let count = bytes.div_ceil(1100).max(1);
    let sent = epoch.elapsed().as_nanos() as u64;
    (0..count)
        .map(|i| {
            let mut p = Vec::with_capacity(1100);
            p.push(if i == 0 { 0x10 } else { 0x00 });
            p.push(if key { 0x00 } else { 0x01 });
            p.extend_from_slice(&MAGIC);
            p.extend_from_slice(&publisher.to_be_bytes());
            p.extend_from_slice(&(first_seq + i as u64).to_be_bytes());
            p.extend_from_slice(&sent.to_be_bytes());
            p.resize((bytes / count).clamp(26, 1100), 0x42);
            p
        })
        .collect()
}

/// (publisher, sequence, send time in ns since the epoch) of a loadgen video payload.
pub fn parse_video(payload: &[u8]) -> Option<(u32, u64, u64)> {
    if payload.get(2..6)? != MAGIC {
        return None;
    }
    let publisher = u32::from_be_bytes(payload.get(6..10)?.try_into().ok()?);
    let seq = u64::from_be_bytes(payload.get(10..18)?.try_into().ok()?);
    let sent = u64::from_be_bytes(payload.get(18..26)?.try_into().ok()?);
    Some((publisher, seq, sent))
}
