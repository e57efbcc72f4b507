//! Which video layer each subscriber receives from each publisher.
//!
//! Browsers publish camera video as simulcast: the same picture in up to
//! three encodings (`q` about 180p, `h` 360p, `f` 720p). Each subscriber's
//! downlink has its own capacity (str0m's TWCC estimate), so for each of its
//! slots Haven picks one layer, or none. Voices come first: the estimate is
//! spent on audio before any video, then every tile gets its lowest layer in
//! speaking order (least recently speaking tiles are paused first when even
//! that does not fit), then layers go up one step at a time, the active
//! speaker first. Downgrades happen at once, upgrades only after the budget
//! has allowed them for a while, so a subscriber does not oscillate.
//!
//! The rule is pure: estimates, measured layer rates and time come in,
//! choices come out; it is tested in simulated time.

use std::time::{Duration, Instant};

/// One of a publisher's encodings, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Layer(pub u8);

/// Encodings a publisher may send (q, h, f).
pub const LAYERS: usize = 3;

impl Layer {
    pub const LOW: Layer = Layer(0);
    pub const MID: Layer = Layer(1);
    pub const HIGH: Layer = Layer(2);

    /// The layer a browser's RTP stream id names. Haven's client uses
    /// `q`/`h`/`f`; the other common spellings are accepted too.
    pub fn from_rid(rid: &str) -> Option<Layer> {
        match rid {
            "q" | "l" | "low" | "0" => Some(Layer::LOW),
            "h" | "m" | "mid" | "1" => Some(Layer::MID),
            "f" | "hi" | "high" | "2" => Some(Layer::HIGH),
            _ => None,
        }
    }

    pub fn index(self) -> usize {
        usize::from(self.0).min(LAYERS - 1)
    }
}

/// What a slot receives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// No video (not enough bandwidth, or nothing to show).
    Paused,
    /// This layer (a publisher without simulcast has only `Layer::LOW`).
    Layer(Layer),
}

/// One occupied slot of a subscriber, as the allocation sees it.
#[derive(Debug, Clone)]
pub struct Tile {
    /// Measured bitrate of each of the publisher's layers (bit/s); 0 for a
    /// layer it does not send.
    pub layer_bps: [u64; LAYERS],
    /// Highest layer worth sending for this tile.
    pub max_layer: Layer,
    /// Order of speaking, 0 for the active speaker (lower first).
    pub speaking_rank: usize,
    /// On the subscriber's screen; a tile off screen gets no video.
    pub visible: bool,
}

impl Tile {
    fn lowest(&self) -> Option<Layer> {
        (0..LAYERS)
            .find(|&i| self.layer_bps[i] > 0)
            .map(|i| Layer(i as u8))
    }

    fn next_above(&self, l: Layer) -> Option<Layer> {
        (l.index() + 1..=self.max_layer.index())
            .find(|&i| self.layer_bps[i] > 0)
            .map(|i| Layer(i as u8))
    }

    fn cost(&self, c: Choice) -> u64 {
        match c {
            Choice::Paused => 0,
            Choice::Layer(l) => self.layer_bps[l.index()],
        }
    }
}

/// Bitrates assumed for a layer seen but not yet measured (the client's
/// targets for q, h, f).
const NOMINAL_BPS: [u64; LAYERS] = [150_000, 400_000, 1_100_000];
/// A layer not seen for this long is not being sent (the browser dropped it).
const LAYER_GONE_AFTER: Duration = Duration::from_secs(2);
/// Measurement interval of layer bitrates.
const RATE_INTERVAL: Duration = Duration::from_secs(1);

/// What a publisher's layers cost, measured from what arrives.
#[derive(Debug, Default)]
pub struct LayerRates {
    bytes: [u64; LAYERS],
    since: Option<Instant>,
    bps: [u64; LAYERS],
    last_seen: [Option<Instant>; LAYERS],
}

impl LayerRates {
    /// A packet of `layer` (`Layer::LOW` for a single stream) arrived.
    pub fn record(&mut self, now: Instant, layer: Layer, bytes: usize) {
        let i = layer.index();
        self.bytes[i] += bytes as u64;
        self.last_seen[i] = Some(now);
        let since = *self.since.get_or_insert(now);
        let elapsed = now.saturating_duration_since(since);
        if elapsed >= RATE_INTERVAL {
            for j in 0..LAYERS {
                let measured = self.bytes[j] * 8 * 1000 / (elapsed.as_millis() as u64).max(1);
                self.bps[j] = if self.bps[j] == 0 {
                    measured
                } else {
                    (self.bps[j] * 3 + measured) / 4
                };
                self.bytes[j] = 0;
            }
            self.since = Some(now);
        }
    }

    /// Bitrate per layer now: measured, nominal if just started, 0 if the
    /// layer is not being sent.
    pub fn bps(&self, now: Instant) -> [u64; LAYERS] {
        let mut out = [0; LAYERS];
        for (i, rate) in out.iter_mut().enumerate() {
            let live = self.last_seen[i]
                .is_some_and(|t| now.saturating_duration_since(t) < LAYER_GONE_AFTER);
            if live {
                *rate = if self.bps[i] > 0 {
                    self.bps[i]
                } else {
                    NOMINAL_BPS[i]
                };
            }
        }
        out
    }
}

/// Below this estimate a subscriber gets audio only.
pub const AUDIO_ONLY_BELOW_BPS: u64 = 100_000;
/// Share of the estimate that media may use (the rest absorbs bursts:
/// keyframes are several times a frame's average size).
const USABLE_SHARE: f64 = 0.85;

/// The ideal choice per tile for `estimate_bps`, after `audio_bps`.
pub fn allocate(estimate_bps: u64, audio_bps: u64, tiles: &[Tile]) -> Vec<Choice> {
    let mut choices = vec![Choice::Paused; tiles.len()];
    if estimate_bps < AUDIO_ONLY_BELOW_BPS {
        return choices;
    }
    let mut budget = ((estimate_bps as f64 * USABLE_SHARE) as u64).saturating_sub(audio_bps);
    let mut order: Vec<usize> = (0..tiles.len()).collect();
    order.sort_by_key(|&i| tiles[i].speaking_rank);
    // Everyone's lowest layer, in speaking order, while it fits.
    for &i in order.iter().filter(|&&i| tiles[i].visible) {
        if let Some(low) = tiles[i].lowest() {
            let cost = tiles[i].layer_bps[low.index()];
            if cost <= budget {
                budget -= cost;
                choices[i] = Choice::Layer(low);
            }
        }
    }
    // Then one step up at a time, speaker first, while something fits.
    loop {
        let mut raised = false;
        for &i in &order {
            let Choice::Layer(current) = choices[i] else {
                continue;
            };
            let Some(up) = tiles[i].next_above(current) else {
                continue;
            };
            let extra = tiles[i].layer_bps[up.index()].saturating_sub(tiles[i].cost(choices[i]));
            if extra <= budget {
                budget -= extra;
                choices[i] = Choice::Layer(up);
                raised = true;
            }
        }
        if !raised {
            return choices;
        }
    }
}

/// What `tiles` would cost at the best layers they may show, with
/// `audio_bps`: what a subscriber's link would need for nothing to be held
/// back (the prober looks for that much).
pub fn wanted_bps(audio_bps: u64, tiles: &[Tile]) -> u64 {
    let best = allocate(u64::MAX / 4, 0, tiles);
    let video: u64 = tiles.iter().zip(best).map(|(t, c)| t.cost(c)).sum();
    // The same headroom `allocate` keeps.
    ((audio_bps + video) as f64 / USABLE_SHARE) as u64
}

/// What to do with one video packet of `layer` on a slot that forwards
/// `current` and should show `target`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoStep {
    /// Forward it (the slot's current layer, even while a switch waits).
    Forward,
    /// It starts a keyframe of the target layer: switch to it here.
    Switch,
    /// Not for this slot.
    Skip,
    /// The target layer, but not a keyframe: skip, and ask for one.
    Wait(Layer),
}

/// Layer switches happen only on a keyframe of the new layer, so the
/// subscriber's decoder never sees a frame that refers to another stream.
pub fn video_step(
    current: Option<Layer>,
    target: Choice,
    layer: Layer,
    keyframe: bool,
) -> VideoStep {
    let Choice::Layer(target) = target else {
        return VideoStep::Skip;
    };
    if current == Some(layer) {
        VideoStep::Forward
    } else if layer != target {
        VideoStep::Skip
    } else if keyframe {
        VideoStep::Switch
    } else {
        VideoStep::Wait(target)
    }
}

/// An upgrade waits until the ideal has been higher for this long.
const UPGRADE_AFTER: Duration = Duration::from_secs(2);

/// One subscriber's current choices, changed by the rule above with
/// hysteresis: down at once, up only after `UPGRADE_AFTER`, one step.
#[derive(Debug, Default)]
pub struct LayerGovernor {
    /// Per slot index, while occupied.
    slots: Vec<Option<SlotState>>,
}

#[derive(Debug, Clone, Copy)]
struct SlotState {
    choice: Choice,
    /// Since when the ideal has been above `choice`.
    higher_since: Option<Instant>,
    /// Paused because the tile is off screen (it comes back at once).
    hidden: bool,
}

impl LayerGovernor {
    /// The current choice for slot `idx`. Until decided (a tile whose
    /// video just started), the lowest layer: the picture appears at once,
    /// on the publisher's first keyframe, and the next decision moves it.
    pub fn choice(&self, idx: usize) -> Choice {
        self.slots
            .get(idx)
            .copied()
            .flatten()
            .map_or(Choice::Layer(Layer::LOW), |s| s.choice)
    }

    /// Slot `idx` changed hands: its next decision starts afresh.
    pub fn forget(&mut self, idx: usize) {
        if let Some(s) = self.slots.get_mut(idx) {
            *s = None;
        }
    }

    /// Decide again. `tiles` pairs slot indexes with what they show (empty
    /// slots are left out, and start afresh when occupied again). Returns
    /// the slots whose choice changed.
    pub fn decide(
        &mut self,
        now: Instant,
        estimate_bps: Option<u64>,
        audio_bps: u64,
        tiles: &[(usize, Tile)],
    ) -> Vec<(usize, Choice)> {
        let plain: Vec<Tile> = tiles.iter().map(|(_, t)| t.clone()).collect();
        // No estimate (yet, or none possible): the best each tile may show.
        let ideal = allocate(estimate_bps.unwrap_or(u64::MAX / 4), audio_bps, &plain);
        let needed = tiles.iter().map(|(i, _)| *i + 1).max().unwrap_or(0);
        if self.slots.len() < needed {
            self.slots.resize(needed, None);
        }
        let mut changed = Vec::new();
        for ((idx, tile), want) in tiles.iter().zip(ideal) {
            if tile.lowest().is_none() {
                // Nothing sent (yet): the tile starts afresh when video comes.
                self.slots[*idx] = None;
                continue;
            }
            let before = self.choice(*idx);
            if !tile.visible {
                self.slots[*idx] = Some(SlotState {
                    choice: Choice::Paused,
                    higher_since: None,
                    hidden: true,
                });
                if before != Choice::Paused {
                    changed.push((*idx, Choice::Paused));
                }
                continue;
            }
            if self.slots[*idx].is_some_and(|s| s.hidden) {
                // Back on screen: at once, like a tile just occupied.
                self.slots[*idx] = None;
            }
            let next = match &mut self.slots[*idx] {
                // A tile just occupied gets at once what it may have.
                None => want,
                Some(s) if s.choice == want => {
                    s.higher_since = None;
                    continue;
                }
                Some(s) if rank(want) < rank(s.choice) => want,
                Some(s) => {
                    let since = *s.higher_since.get_or_insert(now);
                    if now.saturating_duration_since(since) < UPGRADE_AFTER {
                        continue;
                    }
                    match s.choice {
                        Choice::Paused => tile.lowest().map_or(want, Choice::Layer),
                        Choice::Layer(l) => tile.next_above(l).map_or(want, Choice::Layer),
                    }
                }
            };
            self.slots[*idx] = Some(SlotState {
                choice: next,
                higher_since: None,
                hidden: false,
            });
            if next != before {
                changed.push((*idx, next));
            }
        }
        for (idx, state) in self.slots.iter_mut().enumerate() {
            if !tiles.iter().any(|(i, _)| *i == idx) {
                *state = None;
            }
        }
        changed
    }
}

fn rank(c: Choice) -> i16 {
    match c {
        Choice::Paused => -1,
        Choice::Layer(l) => i16::from(l.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SIMULCAST: [u64; LAYERS] = [150_000, 400_000, 1_100_000];

    fn tile(rank: usize) -> Tile {
        Tile {
            layer_bps: SIMULCAST,
            max_layer: Layer::HIGH,
            speaking_rank: rank,
            visible: true,
        }
    }

    #[test]
    fn plenty_of_bandwidth_gives_everyone_the_highest_layer() {
        let tiles: Vec<Tile> = (0..3).map(tile).collect();
        let c = allocate(10_000_000, 120_000, &tiles);
        assert_eq!(c, vec![Choice::Layer(Layer::HIGH); 3]);
    }

    #[test]
    fn a_tight_link_gets_low_layers_and_the_speaker_first_upgrade() {
        let tiles: Vec<Tile> = (0..3).map(tile).collect();
        // 800 kbit/s: 680 usable, 120 audio, 560 video: 3 × 150 = 450, and
        // no 250 step fits.
        let c = allocate(800_000, 120_000, &tiles);
        assert_eq!(c, vec![Choice::Layer(Layer::LOW); 3]);
        // 1.5 Mbit/s: 1,155 video: 450 for three low layers, then one step
        // (+250) each in speaking order while it fits: the first two.
        let c = allocate(1_500_000, 120_000, &tiles);
        assert_eq!(
            c,
            vec![
                Choice::Layer(Layer::MID),
                Choice::Layer(Layer::MID),
                Choice::Layer(Layer::LOW)
            ]
        );
    }

    #[test]
    fn when_even_low_layers_do_not_fit_the_least_recent_speakers_pause_first() {
        let tiles: Vec<Tile> = [2, 0, 1].into_iter().map(tile).collect();
        // 400 kbit/s: 340 usable, 100 audio: 240 video: one low layer.
        let c = allocate(400_000, 100_000, &tiles);
        assert_eq!(
            c,
            vec![Choice::Paused, Choice::Layer(Layer::LOW), Choice::Paused]
        );
        // Below 100 kbit/s: audio only, whatever fits.
        assert_eq!(allocate(90_000, 0, &tiles), vec![Choice::Paused; 3]);
    }

    #[test]
    fn a_small_tile_never_gets_more_than_it_shows_and_single_streams_count() {
        let small = Tile {
            max_layer: Layer::MID,
            ..tile(0)
        };
        let single = Tile {
            layer_bps: [900_000, 0, 0],
            max_layer: Layer::HIGH,
            speaking_rank: 1,
            visible: true,
        };
        let c = allocate(10_000_000, 0, &[small, single]);
        assert_eq!(
            c,
            vec![Choice::Layer(Layer::MID), Choice::Layer(Layer::LOW)]
        );
    }

    #[test]
    fn down_at_once_up_slowly_one_step_at_a_time() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_millis(s);
        let tiles: Vec<(usize, Tile)> = vec![(0, tile(0)), (3, tile(1))];
        let mut g = LayerGovernor::default();
        g.decide(at(0), Some(5_000_000), 100_000, &tiles);
        assert_eq!(g.choice(0), Choice::Layer(Layer::HIGH));
        assert_eq!(g.choice(3), Choice::Layer(Layer::HIGH));
        // The link drops to 300 kbit/s: down at once (one low layer fits).
        let changed = g.decide(at(100), Some(300_000), 100_000, &tiles);
        assert_eq!(changed.len(), 2);
        assert_eq!(g.choice(0), Choice::Layer(Layer::LOW));
        assert_eq!(g.choice(3), Choice::Paused);
        // It comes back: nothing for 2 s, then one step at a time.
        g.decide(at(200), Some(5_000_000), 100_000, &tiles);
        assert_eq!(g.choice(0), Choice::Layer(Layer::LOW));
        g.decide(at(2_300), Some(5_000_000), 100_000, &tiles);
        assert_eq!(g.choice(0), Choice::Layer(Layer::MID));
        assert_eq!(g.choice(3), Choice::Layer(Layer::LOW));
        for ms in (2_400..8_000).step_by(250) {
            g.decide(at(ms), Some(5_000_000), 100_000, &tiles);
        }
        assert_eq!(g.choice(0), Choice::Layer(Layer::HIGH));
        assert_eq!(g.choice(3), Choice::Layer(Layer::HIGH));
    }

    #[test]
    fn a_slot_that_changes_hands_starts_afresh() {
        let t0 = Instant::now();
        let mut g = LayerGovernor::default();
        g.decide(t0, Some(300_000), 100_000, &[(1, tile(0))]);
        assert_eq!(g.choice(1), Choice::Layer(Layer::LOW));
        g.decide(t0, Some(5_000_000), 100_000, &[]);
        assert_eq!(g.choice(1), Choice::Layer(Layer::LOW), "undecided");
        g.decide(t0, Some(5_000_000), 100_000, &[(1, tile(0))]);
        assert_eq!(g.choice(1), Choice::Layer(Layer::HIGH));
    }

    #[test]
    fn a_switch_waits_for_a_keyframe_of_the_new_layer() {
        let (low, mid) = (Layer::LOW, Layer::MID);
        let target = Choice::Layer(mid);
        assert_eq!(
            video_step(Some(low), target, low, false),
            VideoStep::Forward
        );
        assert_eq!(
            video_step(Some(low), target, mid, false),
            VideoStep::Wait(mid)
        );
        assert_eq!(video_step(Some(low), target, mid, true), VideoStep::Switch);
        assert_eq!(
            video_step(Some(mid), target, Layer::HIGH, true),
            VideoStep::Skip
        );
        assert_eq!(
            video_step(Some(mid), Choice::Paused, mid, true),
            VideoStep::Skip
        );
        assert_eq!(video_step(None, target, mid, true), VideoStep::Switch);
    }

    #[test]
    fn rids_name_layers() {
        assert_eq!(Layer::from_rid("q"), Some(Layer::LOW));
        assert_eq!(Layer::from_rid("h"), Some(Layer::MID));
        assert_eq!(Layer::from_rid("f"), Some(Layer::HIGH));
        assert_eq!(Layer::from_rid("zz"), None);
    }
}
