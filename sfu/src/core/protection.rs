//! Audio protection for subscribers whose downlink loses packets.
//!
//! Audio is not retransmitted (a resent 20 ms frame arrives too late to be
//! played), so every lost packet on a member's downlink is a clipped
//! syllable. RFC 2198 redundancy (RED, `audio/red` in browsers) repeats the
//! previous one or two Opus frames inside each packet: the receiver's jitter
//! buffer recovers a lost frame from the packets that follow it.
//!
//! Why here and not at the publisher: the publisher's Opus FEC only engages
//! on *its* loss reports, which come from Haven over its own (usually clean)
//! uplink; and publisher-side RED would cost every subscriber the extra
//! bytes. Adding RED per subscriber costs only those whose link is lossy:
//! the rule below turns it on from the loss their receiver reports show and
//! off again when the loss is gone. The publisher keeps sending plain Opus.
//!
//! The rule is pure: loss reports and time come in, a redundancy level comes
//! out, so it is tested in simulated time.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use str0m::media::Pt;

/// How many earlier frames each audio packet repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Redundancy {
    /// Plain Opus: the link is clean (or the subscriber cannot take RED).
    Off,
    /// One earlier frame: recovers any single lost packet (about twice the
    /// audio bytes).
    One,
    /// Two earlier frames: recovers two lost in a row (about three times).
    Two,
}

impl Redundancy {
    /// Earlier frames carried per packet.
    pub fn depth(self) -> usize {
        self as usize
    }
}

/// Reports considered: the last few seconds, so a change in the link
/// shows. Browsers report on audio every ~5 s per stream.
const WINDOW: Duration = Duration::from_secs(10);
/// Fewer reports than this say nothing (one report can be a single packet).
const MIN_REPORTS: usize = 2;
/// Median loss at which one frame of redundancy starts.
const LOSS_FOR_ONE: f32 = 0.01;
/// Median loss at which two frames are worth their bytes: at 4 % random
/// loss one frame still leaves 0.16 % of frames lost (more in bursts), two
/// leave 0.006 %.
const LOSS_FOR_TWO: f32 = 0.04;
/// A level stays until the reports have not justified it for this long:
/// loss comes in bursts, and switching back and forth helps no one.
const HOLD: Duration = Duration::from_secs(15);
/// Bound on the reports kept, whatever their rate.
const MAX_REPORTS: usize = 64;

/// The loss-to-protection rule for one subscriber.
#[derive(Debug)]
pub struct LossProtection {
    enabled: bool,
    /// (when, loss fraction) of recent receiver reports on the subscriber's
    /// downlink, loss upstream of Haven already taken out.
    reports: VecDeque<(Instant, f32)>,
    level: Redundancy,
    /// When the reports last justified `level` (or a higher one).
    justified_at: Option<Instant>,
}

impl LossProtection {
    /// `enabled: false` keeps the level at `Off` whatever the reports say.
    pub fn new(enabled: bool) -> Self {
        Self {
            enabled,
            reports: VecDeque::new(),
            level: Redundancy::Off,
            justified_at: None,
        }
    }

    /// The redundancy this subscriber's audio should carry now.
    pub fn redundancy(&self) -> Redundancy {
        self.level
    }

    /// One loss report (fraction 0.0..=1.0) for the subscriber's downlink.
    /// Up at once, down only after `HOLD` without justification.
    pub fn observe(&mut self, now: Instant, loss: f32) {
        if !self.enabled || !loss.is_finite() {
            return;
        }
        self.reports.push_back((now, loss.clamp(0.0, 1.0)));
        while self.reports.len() > MAX_REPORTS
            || self
                .reports
                .front()
                .is_some_and(|(t, _)| now.saturating_duration_since(*t) > WINDOW)
        {
            self.reports.pop_front();
        }
        let target = self.target();
        let held_long_enough = self
            .justified_at
            .is_none_or(|t| now.saturating_duration_since(t) >= HOLD);
        if target >= self.level || held_long_enough {
            self.level = target;
            self.justified_at = Some(now);
        }
    }

    /// What the reports in the window call for, judged by their median so
    /// that one unlucky report on a quiet stream does not decide.
    fn target(&self) -> Redundancy {
        if self.reports.len() < MIN_REPORTS {
            return Redundancy::Off;
        }
        let mut losses: Vec<f32> = self.reports.iter().map(|(_, l)| *l).collect();
        losses.sort_by(f32::total_cmp);
        let median = losses[losses.len() / 2];
        if median >= LOSS_FOR_TWO {
            Redundancy::Two
        } else if median >= LOSS_FOR_ONE {
            Redundancy::One
        } else {
            Redundancy::Off
        }
    }
}

/// Largest RED payload written: the primary plus what fits of the earlier
/// frames stays well inside one datagram after SRTP and headers.
const MAX_RED_PAYLOAD: usize = 1100;
/// Frames remembered per slot (the deepest redundancy).
const HISTORY: usize = 2;

/// The last Opus frames sent on one audio slot, as sent (outgoing
/// timestamps), to repeat in the packets that follow.
#[derive(Debug, Default)]
pub struct RedHistory {
    frames: VecDeque<(u32, Vec<u8>)>,
}

impl RedHistory {
    /// The slot starts a new stream (new occupant): earlier frames belong to
    /// someone else.
    pub fn clear(&mut self) {
        self.frames.clear();
    }

    /// A RED payload for the Opus frame `primary` sent at `time`, repeating
    /// up to `depth` earlier frames of this slot; remembers `primary`.
    pub fn wrap(&mut self, depth: usize, opus_pt: Pt, time: u32, primary: &[u8]) -> Vec<u8> {
        let mut room = MAX_RED_PAYLOAD.saturating_sub(primary.len() + 1);
        let mut blocks: Vec<(u32, &[u8])> = Vec::with_capacity(depth);
        // Newest first, so that what fits is the most useful.
        for (t, payload) in self.frames.iter().rev().take(depth) {
            let offset = time.wrapping_sub(*t);
            // Offset 0 or "negative" (wrapped) means the slot restarted.
            let fits = offset > 0 && offset <= MAX_TS_OFFSET && payload.len() <= MAX_BLOCK_LEN;
            if !fits || payload.len() + 4 > room {
                break;
            }
            room -= payload.len() + 4;
            blocks.push((offset, payload));
        }
        blocks.reverse();
        let red = encode(*opus_pt, primary, &blocks);
        if self.frames.len() == HISTORY {
            self.frames.pop_front();
        }
        self.frames.push_back((time, primary.to_vec()));
        red
    }
}

/// RFC 2198 field limits: 14-bit timestamp offset, 10-bit block length.
const MAX_TS_OFFSET: u32 = 0x3fff;
const MAX_BLOCK_LEN: usize = 0x3ff;
/// More redundant blocks than this in one payload is not a real sender.
const MAX_BLOCKS_READ: usize = 8;

/// A RED payload: one 4-byte header per redundant block (F=1, PT, timestamp
/// offset, length), the 1-byte primary header (F=0, PT), then the blocks'
/// data oldest first and the primary's data last. `blocks` must fit the
/// field limits (the caller checks).
fn encode(pt: u8, primary: &[u8], blocks: &[(u32, &[u8])]) -> Vec<u8> {
    let data: usize = blocks.iter().map(|(_, b)| b.len()).sum();
    let mut out = Vec::with_capacity(blocks.len() * 4 + 1 + data + primary.len());
    for (offset, block) in blocks {
        let word = (offset << 10) | block.len() as u32;
        out.push(0x80 | (pt & 0x7f));
        out.extend_from_slice(&word.to_be_bytes()[1..]);
    }
    out.push(pt & 0x7f);
    for (_, block) in blocks {
        out.extend_from_slice(block);
    }
    out.extend_from_slice(primary);
    out
}

/// The blocks of a RED payload as (timestamp offset, data), oldest first,
/// the primary last with offset 0. `None` when malformed.
fn decode(red: &[u8]) -> Option<Vec<(u32, &[u8])>> {
    let mut lens = Vec::new();
    let mut at = 0;
    loop {
        let first = *red.get(at)?;
        if first & 0x80 == 0 {
            at += 1;
            break;
        }
        if lens.len() == MAX_BLOCKS_READ {
            return None;
        }
        let b = red.get(at + 1..at + 4)?;
        let word = u32::from_be_bytes([0, b[0], b[1], b[2]]);
        lens.push((word >> 10, (word & 0x3ff) as usize));
        at += 4;
    }
    let mut blocks = Vec::with_capacity(lens.len() + 1);
    for (offset, len) in lens {
        blocks.push((offset, red.get(at..at + len)?));
        at += len;
    }
    blocks.push((0, &red[at..]));
    Some(blocks)
}

/// The primary frame of a RED payload a publisher sent (Haven forwards
/// plain Opus and adds its own redundancy per subscriber). `None` when the
/// payload is malformed.
pub fn primary_of(red: &[u8]) -> Option<Vec<u8>> {
    decode(red)?.last().map(|(_, p)| p.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(p: &mut LossProtection, start: Instant, from_s: u64, to_s: u64, loss: f32) {
        for s in from_s..to_s {
            p.observe(start + Duration::from_secs(s), loss);
        }
    }

    #[test]
    fn a_clean_subscriber_is_never_protected() {
        let t0 = Instant::now();
        let mut p = LossProtection::new(true);
        run(&mut p, t0, 0, 600, 0.0);
        assert_eq!(p.redundancy(), Redundancy::Off);
        // A single bad report among clean ones changes nothing.
        p.observe(t0 + Duration::from_secs(600), 0.5);
        p.observe(t0 + Duration::from_secs(601), 0.0);
        assert_eq!(p.redundancy(), Redundancy::Off);
    }

    #[test]
    fn protection_turns_on_with_loss_and_off_when_it_ends() {
        let t0 = Instant::now();
        let mut p = LossProtection::new(true);
        run(&mut p, t0, 0, 10, 0.0);
        run(&mut p, t0, 10, 11, 0.03);
        assert_eq!(p.redundancy(), Redundancy::Off, "one report is not enough");
        // Loss shows within half the window.
        run(&mut p, t0, 11, 16, 0.03);
        assert_eq!(p.redundancy(), Redundancy::One);
        run(&mut p, t0, 16, 40, 0.03);
        assert_eq!(p.redundancy(), Redundancy::One);
        // Heavier loss: two frames.
        run(&mut p, t0, 40, 46, 0.10);
        assert_eq!(p.redundancy(), Redundancy::Two);
        // The loss ends: held for a while, then off.
        run(&mut p, t0, 46, 60, 0.0);
        assert_eq!(p.redundancy(), Redundancy::Two, "held");
        run(&mut p, t0, 60, 80, 0.0);
        assert_eq!(p.redundancy(), Redundancy::Off);
    }

    #[test]
    fn a_short_clean_spell_inside_lossy_minutes_keeps_protection() {
        let t0 = Instant::now();
        let mut p = LossProtection::new(true);
        run(&mut p, t0, 0, 10, 0.03);
        run(&mut p, t0, 10, 20, 0.0);
        assert_eq!(p.redundancy(), Redundancy::One);
        run(&mut p, t0, 20, 30, 0.03);
        run(&mut p, t0, 30, 40, 0.0);
        assert_eq!(p.redundancy(), Redundancy::One);
    }

    #[test]
    fn disabled_protection_stays_off() {
        let t0 = Instant::now();
        let mut p = LossProtection::new(false);
        run(&mut p, t0, 0, 60, 0.2);
        assert_eq!(p.redundancy(), Redundancy::Off);
    }

    #[test]
    fn nonsense_reports_are_ignored() {
        let t0 = Instant::now();
        let mut p = LossProtection::new(true);
        for s in 0..30 {
            p.observe(t0 + Duration::from_secs(s), f32::NAN);
        }
        assert_eq!(p.redundancy(), Redundancy::Off);
    }

    #[test]
    fn red_repeats_the_previous_frames_of_the_slot() {
        let pt = Pt::new_with_value(111);
        let mut h = RedHistory::default();
        let first = h.wrap(2, pt, 960, &[1; 80]);
        assert_eq!(primary_of(&first), Some(vec![1; 80]));
        assert_eq!(decode(&first).unwrap().len(), 1);
        h.wrap(2, pt, 1920, &[2; 80]);
        let third = h.wrap(2, pt, 2880, &[3; 80]);
        let blocks = decode(&third).unwrap();
        let got: Vec<(u32, u8, usize)> = blocks.iter().map(|(t, b)| (*t, b[0], b.len())).collect();
        assert_eq!(got, vec![(1920, 1, 80), (960, 2, 80), (0, 3, 80)]);
        // Depth one carries only the newest.
        let fourth = h.wrap(1, pt, 3840, &[4; 80]);
        assert_eq!(decode(&fourth).unwrap().len(), 2);
    }

    #[test]
    fn red_never_repeats_across_a_restart_or_past_a_datagram() {
        let pt = Pt::new_with_value(111);
        let mut h = RedHistory::default();
        h.wrap(2, pt, 100_000, &[1; 80]);
        // Timestamps went "back" (a new segment): nothing to repeat.
        let p = h.wrap(2, pt, 50_000, &[2; 80]);
        assert_eq!(decode(&p).unwrap().len(), 1);
        // Large frames: only what fits.
        let mut h = RedHistory::default();
        h.wrap(2, pt, 960, &[1; 600]);
        h.wrap(2, pt, 1920, &[2; 600]);
        let p = h.wrap(2, pt, 2880, &[3; 400]);
        assert!(p.len() <= MAX_RED_PAYLOAD);
        assert_eq!(decode(&p).unwrap().len(), 2);
        h.clear();
        let p = h.wrap(2, pt, 3840, &[4; 80]);
        assert_eq!(decode(&p).unwrap().len(), 1);
    }

    #[test]
    fn any_bytes_as_red_are_refused_or_unwrapped_never_a_panic() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for n in 0..20_000usize {
            let bytes: Vec<u8> = (0..n % 64)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    // Mostly header-like bytes, so that parsing goes deep.
                    if x.is_multiple_of(3) {
                        0x80 | x as u8
                    } else {
                        x as u8
                    }
                })
                .collect();
            if let Some(primary) = primary_of(&bytes) {
                assert!(primary.len() < bytes.len());
            }
        }
    }

    #[test]
    fn malformed_red_from_a_publisher_is_refused() {
        assert_eq!(primary_of(&[]), None);
        assert_eq!(primary_of(&[0x80 | 111, 0, 0]), None);
        assert_eq!(primary_of(&[111, 9, 9]), Some(vec![9, 9]));
    }
}
