//! What a participant's connection negotiated: which m-lines carry its
//! microphone and camera and which are receive slots, the payload types of
//! each codec both ways (RED included), and which incoming SSRC is which
//! published stream (simulcast layers by rid).

use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::rtp::Ssrc;
use str0m::Rtc;

use super::super::layers::Layer;
use super::super::protection::RedHistory;
use super::super::rewrite::SlotRewriter;
use super::{CodecKey, Participant, Slot, Source};

impl Participant {
    /// Learn the m-lines of the offer, in order: the first audio and video the
    /// participant sends are its microphone and camera; every line it only
    /// receives on is a slot (the n-th audio and n-th video form slot n).
    pub fn learn_media(&mut self, mid: Mid, kind: MediaKind, direction: Direction) {
        let receives_from_us = direction == Direction::SendOnly;
        let sends_to_us = direction.is_receiving();
        match (kind, receives_from_us, sends_to_us) {
            (MediaKind::Audio, false, true) if self.audio_in.is_none() => self.audio_in = Some(mid),
            (MediaKind::Video, false, true) if self.video_in.is_none() => self.video_in = Some(mid),
            (kind, true, _) => {
                let idx = self
                    .slots
                    .iter()
                    .position(|s| match kind {
                        MediaKind::Audio => s.audio_mid.is_none(),
                        MediaKind::Video => s.video_mid.is_none(),
                    })
                    .unwrap_or_else(|| {
                        self.slots.push(Slot {
                            audio_mid: None,
                            video_mid: None,
                            audio: SlotRewriter::new(false),
                            video: SlotRewriter::new(true),
                            red: RedHistory::default(),
                        });
                        self.slots.len() - 1
                    });
                match kind {
                    MediaKind::Audio => self.slots[idx].audio_mid = Some(mid),
                    MediaKind::Video => self.slots[idx].video_mid = Some(mid),
                }
            }
            _ => {}
        }
    }

    /// After negotiation: which payload types mean which codec, both ways.
    pub fn learn_codecs(&mut self) {
        let params: Vec<_> = self.rtc.codec_config().params().to_vec();
        let key = |p: &str0m::format::PayloadParams| CodecKey {
            codec: p.spec().codec,
            packetization_mode: p.spec().format.packetization_mode,
        };
        let remote_pts = |rtc: &Rtc, mid: Option<Mid>| -> Vec<Pt> {
            mid.and_then(|m| rtc.media(m))
                .map(|m| m.remote_pts().to_vec())
                .unwrap_or_default()
        };
        let mut incoming = remote_pts(&self.rtc, self.audio_in);
        incoming.extend(remote_pts(&self.rtc, self.video_in));
        self.codecs_in = params
            .iter()
            .filter(|p| incoming.contains(&p.pt()))
            .map(|p| (p.pt(), key(p)))
            .collect();
        let first_audio_slot = self.slots.iter().find_map(|s| s.audio_mid);
        let first_video_slot = self.slots.iter().find_map(|s| s.video_mid);
        let out_audio = remote_pts(&self.rtc, first_audio_slot);
        let out_video = remote_pts(&self.rtc, first_video_slot);
        self.codecs_out_audio = params
            .iter()
            .filter(|p| out_audio.contains(&p.pt()))
            .map(|p| (key(p), p.pt()))
            .collect();
        self.codecs_out_video = params
            .iter()
            .filter(|p| out_video.contains(&p.pt()))
            .map(|p| (key(p), p.pt()))
            .collect();
        // RED is negotiated per session (folded on Opus), kept only when the
        // participant offered it.
        let red_of = |pts: &[Pt]| {
            params
                .iter()
                .filter(|p| p.spec().codec == Codec::Opus && pts.contains(&p.pt()))
                .find_map(|p| p.red())
        };
        self.red_in = red_of(&incoming);
        if let Some(red) = self.red_in {
            let opus = self.codecs_in.iter().find(|(_, c)| c.codec == Codec::Opus);
            if let Some(&(_, opus)) = opus {
                self.codecs_in.push((red, opus));
            }
        }
        self.red_out = red_of(&out_audio);
    }

    /// Which of the participant's published streams an incoming SSRC is.
    /// `None` for anything else (including a simulcast id Haven does not
    /// know, which could not be told apart from the other layers).
    pub fn source_of(&mut self, ssrc: Ssrc) -> Option<Source> {
        if let Some((_, s)) = self.sources.iter().find(|(s, _)| *s == ssrc) {
            return Some(*s);
        }
        let (mid, rid) = self
            .rtc
            .direct_api()
            .stream_rx(&ssrc)
            .map(|s| (s.mid(), s.rid()))?;
        let kind = if Some(mid) == self.audio_in {
            MediaKind::Audio
        } else if Some(mid) == self.video_in {
            MediaKind::Video
        } else {
            return None;
        };
        let layer = match (kind, rid) {
            (MediaKind::Video, Some(rid)) => {
                let layer = Layer::from_rid(&rid)?;
                self.layer_rids[usize::from(layer.0)] = Some(rid);
                Some(layer)
            }
            _ => None,
        };
        let source = Source { kind, layer };
        // Bounded: a client that churns SSRCs cannot grow this without limit.
        if self.sources.len() >= 8 {
            self.sources.remove(0);
        }
        self.sources.push((ssrc, source));
        Some(source)
    }
}
