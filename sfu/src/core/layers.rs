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
    /// Its lowest layer being sent, if any.
    pub fn lowest(&self) -> Option<Layer> {
        (0..LAYERS)
            .find(|&i| self.layer_bps[i] > 0)
            .map(|i| Layer(i as u8))
    }

    /// The next layer above `l` it may have.
    pub fn next_above(&self, l: Layer) -> Option<Layer> {
        (l.index() + 1..=self.max_layer.index())
            .find(|&i| self.layer_bps[i] > 0)
            .map(|i| Layer(i as u8))
    }

    /// What choice `c` costs (bit/s).
    pub fn cost(&self, c: Choice) -> u64 {
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
    allocate_within(estimate_bps, None, audio_bps, tiles)
}

/// The part of an estimate media may use.
pub fn usable(estimate_bps: u64) -> u64 {
    (estimate_bps as f64 * USABLE_SHARE) as u64
}

/// As `allocate`, with the steps above each tile's lowest layer spent as if
/// the estimate were at most `raise_cap` (the governor's ceiling after
/// loss); lowest layers are given from the whole estimate.
pub fn allocate_within(
    estimate_bps: u64,
    raise_cap: Option<u64>,
    audio_bps: u64,
    tiles: &[Tile],
) -> Vec<Choice> {
    let mut choices = vec![Choice::Paused; tiles.len()];
    if estimate_bps < AUDIO_ONLY_BELOW_BPS {
        return choices;
    }
    let mut budget = usable(estimate_bps).saturating_sub(audio_bps);
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
    if let Some(cap) = raise_cap.filter(|c| *c < estimate_bps) {
        budget = budget.saturating_sub(usable(estimate_bps) - usable(cap));
    }
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
    needed_for(audio_bps + video)
}

/// The estimate at which `media_bps` fits the usable share.
pub fn needed_for(media_bps: u64) -> u64 {
    (media_bps as f64 / USABLE_SHARE) as u64
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

/// A visible tile of a browser's three layers, for the tests of the rule
/// and of the governor.
#[cfg(test)]
pub fn test_tile(rank: usize) -> Tile {
    Tile {
        layer_bps: [150_000, 400_000, 1_100_000],
        max_layer: Layer::HIGH,
        speaking_rank: rank,
        visible: true,
    }
}

#[cfg(test)]
mod tests {
    use super::test_tile as tile;
    use super::*;

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
    fn a_raise_cap_holds_back_steps_but_never_lowest_layers() {
        let tiles: Vec<Tile> = (0..3).map(tile).collect();
        // 1.5 Mbit/s would give two tiles the middle layer; capped at
        // 800 kbit/s for steps, all three keep just their lowest.
        let c = allocate_within(1_500_000, Some(800_000), 120_000, &tiles);
        assert_eq!(c, vec![Choice::Layer(Layer::LOW); 3]);
        // A cap far below still leaves every lowest layer the estimate fits.
        let c = allocate_within(1_500_000, Some(100_000), 120_000, &tiles);
        assert_eq!(c, vec![Choice::Layer(Layer::LOW); 3]);
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
