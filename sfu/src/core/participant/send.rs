//! Writing one forwarded packet on a subscriber's slot: the slot's sequence
//! numbers and timestamps continue across publishers and layers, lossy
//! links get redundant audio, and a slot that just switched layers also
//! gets the packets of the keyframe that overtook its first one.

use std::sync::Arc;
use std::time::Instant;

use str0m::media::{MediaKind, Pt};
use str0m::rtp::{ExtensionValues, RtpWrite};

use super::super::keyframe::RecentPacket;
use super::super::protection::Redundancy;
use super::super::rewrite::Rewrite;
use super::Participant;

/// One packet from a publisher, as the room hands it to a subscriber.
pub struct SlotPacket<'a> {
    pub kind: MediaKind,
    /// The subscriber's payload type for the packet's codec.
    pub pt: Pt,
    /// RED's payload type and depth, for a protected audio slot.
    pub red: Option<(Pt, Redundancy)>,
    pub seq: u64,
    pub ts: u32,
    pub at: Instant,
    pub marker: bool,
    pub keyframe: bool,
    pub payload: &'a Arc<[u8]>,
    pub ext_vals: &'a ExtensionValues,
}

/// What became of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotSend {
    /// Written: this many packets (the keyframe's early packets included),
    /// with redundancy or not.
    Sent { packets: u64, protected: bool },
    /// The slot waits for a keyframe to start on.
    AwaitingKeyframe,
    /// Older than what the slot already carried, or no stream to write on.
    Dropped,
}

impl Participant {
    /// Write `p` on slot `idx`; `early` are packets of the keyframe `p`
    /// starts that came before it (sent after it, in order).
    pub fn send_on_slot(
        &mut self,
        idx: usize,
        p: &SlotPacket<'_>,
        early: &[RecentPacket],
    ) -> SlotSend {
        let is_video = p.kind == MediaKind::Video;
        let Some(slot) = self.slots.get_mut(idx) else {
            return SlotSend::Dropped;
        };
        let (mid, rewriter) = if is_video {
            (slot.video_mid, &mut slot.video)
        } else {
            (slot.audio_mid, &mut slot.audio)
        };
        let Some(mid) = mid else {
            return SlotSend::Dropped;
        };
        let (seq_no, time) = match rewriter.rewrite(p.seq, p.ts, p.keyframe) {
            Rewrite::Forward { seq_no, time } => (seq_no, time),
            Rewrite::AwaitingKeyframe => return SlotSend::AwaitingKeyframe,
            Rewrite::Stale => return SlotSend::Dropped,
        };
        let (pt, payload): (Pt, Arc<[u8]>) = match p.red {
            Some((red, level)) => (
                red,
                slot.red.wrap(level.depth(), p.pt, time, p.payload).into(),
            ),
            None => (p.pt, p.payload.clone()),
        };
        let mut api = self.rtc.direct_api();
        let Some(tx) = api.stream_tx_by_mid(mid, None) else {
            return SlotSend::Dropped;
        };
        tx.write_rtp(
            RtpWrite::new(pt, seq_no, time, p.at, payload)
                .marker(p.marker)
                .ext_vals(p.ext_vals.clone())
                .nackable(is_video),
        );
        let mut packets = 1;
        for e in early {
            if let Rewrite::Forward { seq_no, time } = slot.video.rewrite(e.seq, e.ts, false) {
                tx.write_rtp(
                    RtpWrite::new(p.pt, seq_no, time, e.at, e.payload.clone())
                        .marker(e.marker)
                        .ext_vals(p.ext_vals.clone())
                        .nackable(true),
                );
                packets += 1;
            }
        }
        SlotSend::Sent {
            packets,
            protected: p.red.is_some(),
        }
    }
}
