//! Keeping each receive slot one continuous RTP stream.
//!
//! A subscriber's slot carries whoever occupies it, and forwarding into it
//! pauses while its publisher is muted. The subscriber's decoder, jitter buffer
//! and NACK logic must nevertheless see one stream whose sequence numbers and
//! timestamps move forward without jumps. `SlotRewriter` maps the publisher's
//! numbers onto the slot's, starting a new *segment* after every change.

use str0m::rtp::SeqNo;

/// Timestamp step inserted between segments: one 20 ms Opus frame at 48 kHz,
/// one 30 fps video frame at 90 kHz. Receivers only need time to move forward.
const AUDIO_SEGMENT_GAP: u32 = 960;
const VIDEO_SEGMENT_GAP: u32 = 3000;

/// Sequence numbers and timestamps of one slot, for one kind of media.
#[derive(Debug)]
pub struct SlotRewriter {
    is_video: bool,
    /// Added (wrapping) to the publisher's extended sequence number.
    seq_offset: u64,
    /// Added (wrapping) to the publisher's RTP timestamp.
    ts_offset: u32,
    /// First outgoing sequence number of the current segment: anything that
    /// would map below it belongs to an earlier segment and is dropped.
    segment_start: u64,
    highest_out_seq: Option<u64>,
    last_out_ts: Option<u32>,
    /// The next forwarded packet starts a new segment.
    rebase: bool,
    /// Video only: hold packets back until a keyframe starts.
    awaiting_keyframe: bool,
}

/// What to do with one incoming packet.
#[derive(Debug, PartialEq, Eq)]
pub enum Rewrite {
    /// Forward with these numbers.
    Forward {
        /// Outgoing extended sequence number.
        seq_no: SeqNo,
        /// Outgoing RTP timestamp.
        time: u32,
    },
    /// Drop: waiting for a keyframe (the caller should make sure one was asked for).
    AwaitingKeyframe,
    /// Drop: a late packet from before the current segment.
    Stale,
}

impl SlotRewriter {
    /// A slot that starts empty; the first packet starts the first segment.
    pub fn new(is_video: bool) -> Self {
        Self {
            is_video,
            seq_offset: 0,
            ts_offset: 0,
            segment_start: 0,
            highest_out_seq: None,
            last_out_ts: None,
            rebase: true,
            awaiting_keyframe: is_video,
        }
    }

    /// The source changed or paused: the next packet starts a new segment,
    /// and video waits for a keyframe.
    pub fn restart(&mut self) {
        self.rebase = true;
        self.awaiting_keyframe = self.is_video;
    }

    /// Map one packet. `starts_keyframe` only matters for video.
    pub fn rewrite(&mut self, in_seq: u64, in_time: u32, starts_keyframe: bool) -> Rewrite {
        if self.awaiting_keyframe {
            if !starts_keyframe {
                return Rewrite::AwaitingKeyframe;
            }
            self.awaiting_keyframe = false;
        }
        if self.rebase {
            self.rebase = false;
            let out_seq = match self.highest_out_seq {
                Some(h) => h + 1,
                // Start with the publisher's own low 16 bits: rollover count 0,
                // which is what a fresh SRTP receiver expects.
                None => in_seq & 0xffff,
            };
            let out_ts = match self.last_out_ts {
                Some(t) => t.wrapping_add(if self.is_video {
                    VIDEO_SEGMENT_GAP
                } else {
                    AUDIO_SEGMENT_GAP
                }),
                None => in_time,
            };
            self.seq_offset = out_seq.wrapping_sub(in_seq);
            self.ts_offset = out_ts.wrapping_sub(in_time);
            self.segment_start = out_seq;
        }
        let out_seq = in_seq.wrapping_add(self.seq_offset);
        if out_seq < self.segment_start || out_seq > self.segment_start + (1 << 40) {
            return Rewrite::Stale;
        }
        let out_ts = in_time.wrapping_add(self.ts_offset);
        if self.highest_out_seq.is_none_or(|h| out_seq > h) {
            self.highest_out_seq = Some(out_seq);
            self.last_out_ts = Some(out_ts);
        }
        Rewrite::Forward {
            seq_no: out_seq.into(),
            time: out_ts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd(r: Rewrite) -> (u64, u32) {
        match r {
            Rewrite::Forward { seq_no, time } => (*seq_no, time),
            other => panic!("expected forward, got {other:?}"),
        }
    }

    #[test]
    fn audio_passes_through_then_continues_across_a_source_change() {
        let mut r = SlotRewriter::new(false);
        assert_eq!(fwd(r.rewrite(70_000, 1000, false)), (70_000 & 0xffff, 1000));
        let (s1, t1) = fwd(r.rewrite(70_001, 1960, false));
        r.restart();
        let (s2, t2) = fwd(r.rewrite(5, 123_456, false));
        assert_eq!(s2, s1 + 1);
        assert_eq!(t2, t1 + AUDIO_SEGMENT_GAP);
        // A late packet of the old source maps below the segment: dropped.
        assert_eq!(r.rewrite(4, 122_496, false), Rewrite::Stale);
    }

    #[test]
    fn video_waits_for_a_keyframe_after_restart() {
        let mut r = SlotRewriter::new(true);
        assert_eq!(r.rewrite(10, 0, false), Rewrite::AwaitingKeyframe);
        let (s, _) = fwd(r.rewrite(11, 3000, true));
        assert_eq!(fwd(r.rewrite(12, 3000, false)).0, s + 1);
        r.restart();
        assert_eq!(r.rewrite(13, 6000, false), Rewrite::AwaitingKeyframe);
        assert_eq!(fwd(r.rewrite(14, 9000, true)).0, s + 2);
    }

    #[test]
    fn reordered_packets_inside_a_segment_keep_their_order() {
        let mut r = SlotRewriter::new(false);
        let (a, _) = fwd(r.rewrite(100, 0, false));
        let (c, _) = fwd(r.rewrite(102, 1920, false));
        let (b, _) = fwd(r.rewrite(101, 960, false));
        assert_eq!((b, c), (a + 1, a + 2));
    }
}
