//! The room's side of layer selection: for every subscriber, gather what
//! each of its slots shows (the publisher's measured layers, the tile's
//! speaking rank), let its `LayerGovernor` decide, and act on the changes:
//! keyframe requests for layers to switch to, restarts for paused slots,
//! and the audio-only notice.
//!
//! The per-subscriber bandwidth estimate (str0m's TWCC) is behind
//! `CoreConfig::bandwidth_estimation`, off by default until the probing
//! below is built and tested (what was measured: docs/media.md).

use std::collections::BTreeMap;
use std::time::Instant;

use str0m::media::MediaKind;

use super::keyframe::KeyframeCause;
use super::layers::{wanted_bps, Choice, Layer, Tile, LAYERS};
use super::participant::Outbox;
use super::protection::Redundancy;
use super::room::Room;
use super::{MediaEvent, Output};
use crate::ids::{ParticipantId, SlotIndex};

/// What one Opus voice costs on the wire (with headers), for the budget.
const AUDIO_BPS: u64 = 40_000;
/// Tiles a subscriber can show large: with more, the lowest layer (about
/// 320×180 from browsers) is enough for all but the last speaker (a 13-tile
/// gallery on a laptop shows tiles about 300 pixels wide).
const LARGE_TILES_UP_TO: usize = 3;

/// The highest layer worth sending to a tile `width` device pixels wide:
/// browsers' layers are about 320, 640 and 1280 pixels wide, and a layer a
/// little smaller than its tile looks fine. The active speaker's tile may
/// have one layer more (it is the one people look at).
fn layer_for_width(width: u16, speaker: bool) -> Layer {
    let by_size = match width {
        0..=400 => Layer::LOW,
        401..=800 => Layer::MID,
        _ => Layer::HIGH,
    };
    if speaker {
        Layer(by_size.0 + 1).min(Layer::HIGH)
    } else {
        by_size
    }
}

impl Room {
    /// `speaker` spoke: it moves to the front of the speaking order.
    pub fn note_speaker(&mut self, speaker: ParticipantId) {
        self.spoke_order.retain(|p| *p != speaker);
        self.spoke_order.insert(0, speaker);
    }

    fn speaking_rank(&self, p: ParticipantId) -> usize {
        self.spoke_order
            .iter()
            .position(|s| *s == p)
            // Never spoke: after everyone who did (and never rank 0).
            .unwrap_or(self.spoke_order.len() + 1)
    }

    /// Decide every subscriber's layers again (on the speaker tick, and
    /// when someone joins).
    pub fn allocate_layers(&mut self, now: Instant, outbox: &mut Outbox) {
        let rates: BTreeMap<ParticipantId, [u64; LAYERS]> = self
            .participants
            .values()
            .map(|p| (p.id, p.video_rates(now)))
            .collect();
        let ranks: BTreeMap<ParticipantId, usize> =
            rates.keys().map(|p| (*p, self.speaking_rank(*p))).collect();
        let mut requests: Vec<(ParticipantId, Layer)> = Vec::new();
        for sub in self.participants.values_mut() {
            let occupied: Vec<(usize, ParticipantId)> = self
                .table
                .occupied(sub.id)
                .into_iter()
                .filter(|(i, _)| sub.slot_mids(*i).1.is_some())
                .collect();
            let large = occupied.len() <= LARGE_TILES_UP_TO;
            let tiles: Vec<(usize, Tile)> = occupied
                .iter()
                .map(|(i, p)| {
                    let rank = ranks.get(p).copied().unwrap_or(usize::MAX);
                    let shown = sub.view().map(|v| v.width_of(SlotIndex(*i as u8)));
                    let (visible, max_layer) = match shown {
                        // The page said what it shows: the tile's size decides.
                        Some(Some(width)) => (true, layer_for_width(width, rank == 0)),
                        Some(None) => (false, Layer::LOW),
                        // Not said: by the number of tiles.
                        None if large || rank == 0 => (true, Layer::HIGH),
                        None => (true, Layer::LOW),
                    };
                    let layer_bps = rates.get(p).copied().unwrap_or_default();
                    (
                        *i,
                        Tile {
                            layer_bps,
                            max_layer,
                            speaking_rank: rank,
                            visible,
                        },
                    )
                })
                .collect();
            // Redundant audio only as deep as the link carries: loss from
            // congestion is not cured by sending more.
            let plain_audio = occupied.len() as u64 * AUDIO_BPS;
            let estimate = sub.estimate();
            // Nor before one small picture: after congestion (a link that
            // narrowed) the loss reports arrive late and ask for
            // redundancy, which then took the room a small layer needed,
            // and the member stayed on audio only behind 300 kbit/s.
            let one_small_video = tiles
                .iter()
                .filter(|(_, t)| t.visible)
                .filter_map(|(_, t)| t.lowest().map(|l| t.cost(Choice::Layer(l))))
                .min()
                .unwrap_or(0);
            let fits = |copies: u64| {
                let video = if copies > 1 { one_small_video } else { 0 };
                estimate.is_none_or(|e| plain_audio * copies + video <= e.saturating_mul(85) / 100)
            };
            sub.cap_redundancy(match sub.redundancy_wanted() {
                Redundancy::Two if fits(3) => Redundancy::Two,
                Redundancy::Two | Redundancy::One if fits(2) => Redundancy::One,
                _ => Redundancy::Off,
            });
            let audio_bps = plain_audio * (1 + sub.redundancy_cap().depth() as u64);
            let changed = sub.decide_layers(now, audio_bps, &tiles);
            for (idx, choice) in &changed {
                tracing::debug!(room = %self.id, subscriber = %sub.id, slot = idx, ?choice, ?estimate, "layer choice");
                let Some(entry) = self.table.entry(sub.id, *idx) else {
                    continue;
                };
                match choice {
                    Choice::Paused => sub.restart_stream(*idx, MediaKind::Video),
                    Choice::Layer(l) if entry.forwarding != Some(*l) => {
                        if let Some(p) = entry.publisher {
                            requests.push((p, *l));
                        }
                    }
                    Choice::Layer(_) => {}
                }
            }
            // The table holds what the governor chose for every tile (a
            // tile whose video stopped starts afresh without a change).
            for (idx, _) in &tiles {
                self.table.want(sub.id, *idx, sub.layer_choice(*idx));
            }
            let now_choices: Vec<Choice> =
                tiles.iter().map(|(i, _)| sub.layer_choice(*i)).collect();
            // Only for tiles on screen: a hidden tile's pause is not news.
            let on_screen: Vec<Choice> = tiles
                .iter()
                .zip(&now_choices)
                .filter(|((_, t), _)| t.visible)
                .map(|(_, c)| *c)
                .collect();
            let video_on_screen = tiles.iter().any(|(_, t)| t.visible && t.lowest().is_some());
            let audio_only = video_on_screen && on_screen.iter().all(|c| *c == Choice::Paused);
            if sub.tell_audio_only(audio_only) {
                tracing::debug!(room = %self.id, subscriber = %sub.id, audio_only, "video for this subscriber");
                outbox
                    .queue
                    .push_back(Output::Event(MediaEvent::VideoPaused {
                        room: self.id,
                        subscriber: sub.id,
                        paused: audio_only,
                    }));
            }
            let plain_tiles: Vec<Tile> = tiles.iter().map(|(_, t)| t.clone()).collect();
            // No wish until a tile on screen has video: told the voices
            // alone (47, then 94 kbit/s) at the start, str0m followed that
            // wish down from 3 to 0.3 Mbit/s within 0.6 s on a clean link.
            if video_on_screen && sub.probe_for(now, wanted_bps(audio_bps, &plain_tiles)) {
                self.counters.estimate_restarts += 1;
            }
            sub.drain(outbox, &mut self.pending);
        }
        for (publisher, layer) in requests {
            self.request_keyframe(now, publisher, Some(layer), KeyframeCause::Switch, outbox);
        }
        self.decide_sent_layers(now, outbox);
        self.run(now, outbox);
    }

    /// Tell each publisher which of its layers anyone receives (`dynacast`).
    fn decide_sent_layers(&mut self, now: Instant, outbox: &mut Outbox) {
        for publisher in self.participants.values_mut() {
            let kept = self.table.kept_layers(publisher.id);
            if let Some(active) = publisher.decide_sent_layers(now, kept) {
                tracing::debug!(room = %self.id, publisher = %publisher.id, ?active, "layers sent");
                self.counters.sent_layer_changes += 1;
                outbox
                    .queue
                    .push_back(Output::Event(MediaEvent::SendLayers {
                        room: self.id,
                        publisher: publisher.id,
                        active,
                    }));
            }
        }
    }
}
