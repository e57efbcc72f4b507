//! Recognising keyframes in RTP payloads, and throttling keyframe requests.
//!
//! A subscriber that starts mid-stream can only decode from a keyframe, so a
//! new subscription holds video back until one passes, and asks the publisher
//! for one. Requests are throttled per publisher: a keyframe costs several
//! times the bitrate of a delta frame, and a room where people join at once
//! must not make a publisher send nothing but keyframes; subscribers' own
//! requests after loss are held to one a second (`KeyframeCause`).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::format::Codec;

use super::layers::Layer;

/// Whether this RTP payload starts a keyframe, for the codecs Haven forwards.
///
/// Only the first packet of a keyframe says so; the rest of the frame follows
/// in sequence. Unknown codecs answer `false`, which holds their video back
/// rather than forwarding undecodable frames.
pub fn starts_keyframe(codec: Codec, payload: &[u8]) -> bool {
    match codec {
        Codec::Vp8 => vp8_starts_keyframe(payload),
        Codec::H264 => h264_starts_keyframe(payload),
        _ => false,
    }
}

/// RFC 7741: payload descriptor, then the VP8 payload header whose lowest bit
/// is 0 for a key frame. Only the start of partition 0 carries that header.
fn vp8_starts_keyframe(payload: &[u8]) -> bool {
    let Some(&first) = payload.first() else {
        return false;
    };
    let extended = first & 0x80 != 0;
    let start_of_partition = first & 0x10 != 0;
    let partition_id = first & 0x0f;
    if !start_of_partition || partition_id != 0 {
        return false;
    }
    let mut offset = 1;
    if extended {
        let Some(&ext) = payload.get(1) else {
            return false;
        };
        offset = 2;
        if ext & 0x80 != 0 {
            // PictureID: one byte, or two when its M bit is set.
            let Some(&pid) = payload.get(offset) else {
                return false;
            };
            offset += if pid & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            offset += 1; // TL0PICIDX
        }
        if ext & 0x30 != 0 {
            offset += 1; // TID/KEYIDX
        }
    }
    payload.get(offset).is_some_and(|b| b & 0x01 == 0)
}

/// RFC 6184: an IDR slice (5) or SPS (7), directly, in a STAP-A aggregate, or
/// at the start of an FU-A fragment.
fn h264_starts_keyframe(payload: &[u8]) -> bool {
    const IDR: u8 = 5;
    const SPS: u8 = 7;
    const STAP_A: u8 = 24;
    const FU_A: u8 = 28;
    let Some(&header) = payload.first() else {
        return false;
    };
    match header & 0x1f {
        IDR | SPS => true,
        STAP_A => {
            let mut rest = &payload[1..];
            while rest.len() > 2 {
                let size = u16::from_be_bytes([rest[0], rest[1]]) as usize;
                let Some(&nal) = rest.get(2) else {
                    return false;
                };
                if matches!(nal & 0x1f, IDR | SPS) {
                    return true;
                }
                let Some(next) = rest.get(2 + size..) else {
                    return false;
                };
                rest = next;
            }
            false
        }
        FU_A => payload
            .get(1)
            .is_some_and(|fu| fu & 0x80 != 0 && matches!(fu & 0x1f, IDR | SPS)),
        _ => false,
    }
}

/// Why a keyframe is asked for: the two are throttled differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyframeCause {
    /// Haven's own decision: a new subscription, a layer switch, video
    /// resumed. Served quickly (the picture appears or sharpens).
    Switch,
    /// A subscriber's decoder asked (PLI/FIR after loss). At most one per
    /// `repair_interval` per publisher across all subscribers, so one lossy
    /// member cannot make a publisher send keyframes for everyone; a
    /// keyframe sent for any reason serves it.
    Repair,
}

/// Limits keyframe requests to one publisher: one per `switch_interval`
/// for Haven's own needs, one per `repair_interval` for subscribers'
/// repairs. A request inside its window is remembered and sent when the
/// window closes; requests waiting together go out as one.
#[derive(Debug)]
pub struct KeyframeThrottle {
    switch_interval: Duration,
    repair_interval: Duration,
    last_sent: Option<Instant>,
    /// The wait of the remembered request (the shortest asked for).
    pending: Option<Duration>,
}

impl KeyframeThrottle {
    /// A throttle with these two intervals.
    pub fn new(switch_interval: Duration, repair_interval: Duration) -> Self {
        Self {
            switch_interval,
            repair_interval,
            last_sent: None,
            pending: None,
        }
    }

    /// Ask for a keyframe. Returns true when the request should go out now.
    #[must_use]
    pub fn request(&mut self, now: Instant, cause: KeyframeCause) -> bool {
        let wait = match cause {
            KeyframeCause::Switch => self.switch_interval,
            KeyframeCause::Repair => self.repair_interval,
        };
        self.pending = Some(self.pending.map_or(wait, |w| w.min(wait)));
        self.poll(now)
    }

    /// Returns true when a remembered request may go out now.
    #[must_use]
    pub fn poll(&mut self, now: Instant) -> bool {
        let Some(wait) = self.pending else {
            return false;
        };
        let open = self.last_sent.is_none_or(|last| now >= last + wait);
        if open {
            self.pending = None;
            self.last_sent = Some(now);
        }
        open
    }

    /// When a remembered request will be due, if there is one.
    pub fn due(&self) -> Option<Instant> {
        // `request` sends the first one at once, so `last_sent` is set here.
        self.last_sent
            .zip(self.pending)
            .map(|(last, wait)| last + wait)
    }
}

/// A video packet just received, kept briefly.
#[derive(Debug, Clone)]
pub(crate) struct RecentPacket {
    pub(crate) layer: Layer,
    pub(crate) seq: u64,
    pub(crate) ts: u32,
    pub(crate) marker: bool,
    pub(crate) at: Instant,
    pub(crate) payload: Arc<[u8]>,
}

/// Packets received in the last moment, per publisher. A stream that
/// starts (or switches layer) on a keyframe drops what came before the
/// keyframe's first packet; with reordering, that includes the keyframe's
/// own later packets, which nobody could then resend (the subscriber's
/// NACKs name packets Haven never sent it). The starting slot takes them
/// from here.
#[derive(Debug, Default)]
pub(crate) struct Stragglers {
    recent: VecDeque<RecentPacket>,
}

/// Enough for the reordering depth seen on real links (a few packets).
const STRAGGLERS_KEPT: usize = 16;

impl Stragglers {
    /// Remember `p`. If it starts a keyframe, return the packets of the
    /// same frame and layer that arrived before it, in sequence order.
    pub(crate) fn note(&mut self, p: RecentPacket, starts_keyframe: bool) -> Vec<RecentPacket> {
        let early = if starts_keyframe {
            let mut e: Vec<RecentPacket> = self
                .recent
                .iter()
                .filter(|r| r.layer == p.layer && r.ts == p.ts && r.seq > p.seq)
                .cloned()
                .collect();
            e.sort_by_key(|r| r.seq);
            e
        } else {
            Vec::new()
        };
        if self.recent.len() == STRAGGLERS_KEPT {
            self.recent.pop_front();
        }
        self.recent.push_back(p);
        early
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vp8_keyframe_and_delta() {
        // S=1, PID=0, no extension; VP8 header bit0 = 0 (key) / 1 (delta).
        assert!(starts_keyframe(Codec::Vp8, &[0x10, 0x00, 0x9d]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x10, 0x01]));
        // Continuation packet of a keyframe.
        assert!(!starts_keyframe(Codec::Vp8, &[0x00, 0x00]));
        // Extended with two-byte PictureID.
        assert!(starts_keyframe(Codec::Vp8, &[0x90, 0x80, 0x81, 0x23, 0x00]));
        assert!(!starts_keyframe(Codec::Vp8, &[0x90, 0x80, 0x81]));
        assert!(!starts_keyframe(Codec::Vp8, &[]));
    }

    #[test]
    fn h264_keyframes() {
        assert!(starts_keyframe(Codec::H264, &[0x65]));
        assert!(starts_keyframe(
            Codec::H264,
            &[0x78, 0x00, 0x02, 0x67, 0x42]
        ));
        assert!(starts_keyframe(Codec::H264, &[0x7c, 0x85]));
        assert!(!starts_keyframe(Codec::H264, &[0x7c, 0x05]));
        assert!(!starts_keyframe(Codec::H264, &[0x41]));
        assert!(!starts_keyframe(Codec::H264, &[0x78, 0xff, 0xff]));
    }

    const SWITCH: Duration = Duration::from_millis(300);
    const REPAIR: Duration = Duration::from_secs(1);

    #[test]
    fn throttle_lets_one_through_then_defers() {
        let t0 = Instant::now();
        let mut t = KeyframeThrottle::new(SWITCH, REPAIR);
        assert!(t.request(t0, KeyframeCause::Switch));
        assert!(!t.request(t0 + Duration::from_millis(100), KeyframeCause::Switch));
        assert_eq!(t.due(), Some(t0 + SWITCH));
        assert!(!t.poll(t0 + Duration::from_millis(299)));
        assert!(t.poll(t0 + SWITCH));
        assert_eq!(t.due(), None);
    }

    #[test]
    fn repairs_asked_all_the_time_go_out_once_a_second() {
        let t0 = Instant::now();
        let mut t = KeyframeThrottle::new(SWITCH, REPAIR);
        let mut sent = Vec::new();
        // A subscriber asks every 20 ms for 10 s; the deferred one goes out
        // when due, as the room polls.
        for i in 0..500u32 {
            let now = t0 + Duration::from_millis(20) * i;
            if t.due().is_some_and(|d| d <= now) && t.poll(now) {
                sent.push(now);
            }
            if t.request(now, KeyframeCause::Repair) {
                sent.push(now);
            }
        }
        assert_eq!(sent.len(), 10, "{sent:?}");
        assert!(sent.windows(2).all(|w| w[1] - w[0] >= REPAIR));
    }

    #[test]
    fn a_switch_waiting_behind_a_repair_keeps_its_shorter_wait() {
        let t0 = Instant::now();
        let mut t = KeyframeThrottle::new(SWITCH, REPAIR);
        assert!(t.request(t0, KeyframeCause::Repair));
        assert!(!t.request(t0 + Duration::from_millis(10), KeyframeCause::Repair));
        assert_eq!(t.due(), Some(t0 + REPAIR));
        assert!(!t.request(t0 + Duration::from_millis(20), KeyframeCause::Switch));
        assert_eq!(t.due(), Some(t0 + SWITCH), "one request serves both");
        assert!(t.poll(t0 + SWITCH));
        assert_eq!(t.due(), None);
    }

    #[test]
    fn a_keyframe_start_collects_its_own_packets_that_came_first() {
        let t = Instant::now();
        let pkt = |layer: u8, seq: u64, ts: u32| RecentPacket {
            layer: Layer(layer),
            seq,
            ts,
            marker: false,
            at: t,
            payload: Arc::from(&[0u8][..]),
        };
        let mut s = Stragglers::default();
        assert!(s.note(pkt(0, 10, 3000), false).is_empty());
        assert!(s.note(pkt(0, 13, 6000), false).is_empty());
        assert!(s.note(pkt(0, 12, 6000), false).is_empty());
        assert!(s.note(pkt(1, 12, 6000), false).is_empty());
        let early = s.note(pkt(0, 11, 6000), true);
        let seqs: Vec<u64> = early.iter().map(|p| p.seq).collect();
        assert_eq!(seqs, vec![12, 13], "same frame and layer, in order");
    }
}
