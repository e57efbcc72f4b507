//! One subscriber's layer choices over time: the allocation rule
//! (`layers::allocate`) says what fits now; the governor changes a slot's
//! choice only with hysteresis, so a subscriber does not oscillate.
//!
//! * Up slowly: only after the ideal has been higher for `UPGRADE_AFTER`,
//!   one step at a time; video paused for bandwidth too. (Resuming paused
//!   video after 0.5 s was tried: behind a link that had just opened, the
//!   estimate dipped again right after, video paused a second time and the
//!   member was told so twice; 2 s rides that out.)
//! * Down at once on loss. Without loss, the estimate alone takes a layer
//!   away only while the link shows a standing queue (`congestion.rs`): on
//!   a receiver short of CPU a delay-based estimate dips for seconds while
//!   the link is idle. And then a choice the estimate still nearly
//!   carries (`KEEP_PERCENT`) is kept: behind 300 kbit/s the estimate
//!   jittered around what one small layer needs and the member was told
//!   "video paused" and "back" every few seconds (7 of 16 runs).
//!   (Waiting two seconds when only the estimate fell, to
//!   ride out the dips of a delay-based estimate on a loaded machine, was
//!   tried: behind a 300 kbit/s link the queue then overflowed for those
//!   seconds and the estimate sank below even the lowest layers.)
//! * After a step down while the subscriber's link was losing packets (its
//!   NACKs or receiver reports), the layers above the lowest stay below what
//!   overflowed, and below the estimate the loss brought down, for
//!   `CEILING_FOR`: a subscriber behind a narrow link is not pushed into it
//!   again by the next spike of the estimate (on a loaded machine the
//!   estimate behind 800 kbit/s was seen at twice the link for seconds).
//!   Lowest layers are never held back by it, so video comes back as soon
//!   as the link does, and a link without loss never gets a ceiling.
//!
//! Pure: estimates, loss, tiles and time in; choices out.

use std::time::{Duration, Instant};

use super::congestion::LinkState;
use super::layers::{allocate, allocate_within, needed_for, Choice, Layer, Tile};

/// Without loss, a choice is kept while the estimate is at least this
/// share (percent) of what it needs.
const KEEP_PERCENT: u64 = 90;
/// An upgrade waits until the ideal has been higher for this long.
const UPGRADE_AFTER: Duration = Duration::from_secs(2);
/// Paused video comes back after the ideal has been higher for this long
/// (as long as a step up: the estimate of a link that had just opened was
/// seen to dip again right after; 0.5 s made video pause twice).
const RESUME_AFTER: Duration = Duration::from_secs(2);
/// ... or this long while the estimate is a fresh measurement: the
/// estimator was restarted (`probing.rs`) and probed the link at once.
/// (1 s for every resume made the 300 kbit/s case flap.)
const RESUME_AFTER_PROBED: Duration = Duration::from_secs(1);
/// After a restart, how long the estimator's figures count as measured:
/// its first probes report within about a second.
const TRUST_PROBES_FOR: Duration = Duration::from_secs(4);
/// After loss made a subscriber step down, how long what overflowed stays
/// out of reach.
const CEILING_FOR: Duration = Duration::from_secs(20);
/// The ceiling sits this far below the rate that overflowed (percent).
const CEILING_PERCENT: u64 = 90;

/// One subscriber's current choices, changed by the rule above.
#[derive(Debug, Default)]
pub struct LayerGovernor {
    /// Per slot index, while occupied.
    slots: Vec<Option<SlotState>>,
    /// After loss: the estimate above which no tile is raised past its
    /// lowest layer, and until when.
    ceiling: Option<(u64, Instant)>,
    /// Until when paused video may resume after `RESUME_AFTER_PROBED`.
    probed_until: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct SlotState {
    choice: Choice,
    /// Since when the ideal has been above `choice`.
    higher_since: Option<Instant>,
    /// Paused because the tile is off screen (it comes back at once).
    hidden: bool,
}

impl SlotState {
    fn settled(choice: Choice) -> Self {
        Self {
            choice,
            higher_since: None,
            hidden: false,
        }
    }
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

    /// The estimator starts afresh and measures the link now: for a
    /// while, paused video may come back sooner.
    pub fn trust_probes(&mut self, now: Instant) {
        self.probed_until = Some(now + TRUST_PROBES_FOR);
    }

    /// Decide again. `tiles` pairs slot indexes with what they show (empty
    /// slots are left out, and start afresh when occupied again); `link`:
    /// what the subscriber's downlink shows just now. Returns the slots
    /// whose choice changed.
    pub fn decide(
        &mut self,
        now: Instant,
        estimate_bps: Option<u64>,
        link: LinkState,
        audio_bps: u64,
        tiles: &[(usize, Tile)],
    ) -> Vec<(usize, Choice)> {
        let plain: Vec<Tile> = tiles.iter().map(|(_, t)| t.clone()).collect();
        if self.ceiling.is_some_and(|(_, until)| now >= until) {
            self.ceiling = None;
        }
        // What each tile may show at most; with no estimate (yet, or none
        // possible) that is also what it gets.
        let best = allocate(u64::MAX / 4, audio_bps, &plain);
        let ideal = match estimate_bps {
            Some(e) => allocate_within(e, self.ceiling.map(|(c, _)| c), audio_bps, &plain),
            None => best.clone(),
        };
        // What a slightly higher estimate would allow: without loss, a
        // choice that this still allows is kept (a band against jitter);
        // on a link with neither loss nor a queue, any choice is.
        let lossy = link == LinkState::Losing;
        let kept = match estimate_bps {
            Some(e) => allocate_within(
                if link == LinkState::Clear {
                    u64::MAX / 4
                } else {
                    e.saturating_mul(100) / KEEP_PERCENT
                },
                self.ceiling.map(|(c, _)| c),
                audio_bps,
                &plain,
            ),
            None => best.clone(),
        };
        let cost_before: u64 = audio_bps
            + tiles
                .iter()
                .map(|(i, t)| t.cost(self.choice(*i)))
                .sum::<u64>();
        let needed = tiles.iter().map(|(i, _)| *i + 1).max().unwrap_or(0);
        if self.slots.len() < needed {
            self.slots.resize(needed, None);
        }
        let probed = self.probed_until.is_some_and(|t| now < t);
        let mut stepped_down_for_loss = false;
        let mut changed = Vec::new();
        for (((idx, tile), (want, most)), keep) in
            tiles.iter().zip(ideal.into_iter().zip(best)).zip(kept)
        {
            if tile.lowest().is_none() {
                // Nothing sent (yet): the tile starts afresh when video comes.
                self.slots[*idx] = None;
                continue;
            }
            let before = self.choice(*idx);
            if !tile.visible {
                self.slots[*idx] = Some(SlotState {
                    hidden: true,
                    ..SlotState::settled(Choice::Paused)
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
                Some(s) if rank(want) < rank(s.choice) => {
                    if !lossy && rank(keep) >= rank(s.choice) {
                        s.higher_since = None;
                        continue;
                    }
                    // The bandwidth, not the tile's size, asked for less
                    // while the link loses packets: remember (`ceiling`).
                    if lossy && rank(most) >= rank(s.choice) {
                        stepped_down_for_loss = true;
                    }
                    want
                }
                Some(s) => {
                    let since = *s.higher_since.get_or_insert(now);
                    let wait = match s.choice {
                        Choice::Paused if probed => RESUME_AFTER_PROBED,
                        Choice::Paused => RESUME_AFTER,
                        Choice::Layer(_) => UPGRADE_AFTER,
                    };
                    if now.saturating_duration_since(since) < wait {
                        continue;
                    }
                    match s.choice {
                        Choice::Paused => tile.lowest().map_or(want, Choice::Layer),
                        Choice::Layer(l) => tile.next_above(l).map_or(want, Choice::Layer),
                    }
                }
            };
            self.slots[*idx] = Some(SlotState::settled(next));
            if next != before {
                changed.push((*idx, next));
            }
        }
        for (idx, state) in self.slots.iter_mut().enumerate() {
            if !tiles.iter().any(|(i, _)| *i == idx) {
                *state = None;
            }
        }
        if stepped_down_for_loss {
            // Below what overflowed, and no higher than the estimate that
            // the loss brought down.
            let overflowed = needed_for(cost_before) * CEILING_PERCENT / 100;
            let ceiling = estimate_bps.map_or(overflowed, |e| e.min(overflowed));
            self.ceiling = Some((ceiling, now + CEILING_FOR));
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
    use crate::core::layers::test_tile as tile;
    use LinkState::{Clear, Losing, Queueing};

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn with_loss_down_at_once_then_lowest_layers_back_first_and_steps_later() {
        let t0 = Instant::now();
        let tiles: Vec<(usize, Tile)> = vec![(0, tile(0)), (3, tile(1))];
        let mut g = LayerGovernor::default();
        g.decide(at(t0, 0), Some(5_000_000), Queueing, 100_000, &tiles);
        assert_eq!(g.choice(0), Choice::Layer(Layer::HIGH));
        assert_eq!(g.choice(3), Choice::Layer(Layer::HIGH));
        // The link drops to 300 kbit/s and loses packets: down at once (one
        // low layer fits).
        let changed = g.decide(at(t0, 100), Some(300_000), Losing, 100_000, &tiles);
        assert_eq!(changed.len(), 2);
        assert_eq!(g.choice(0), Choice::Layer(Layer::LOW));
        assert_eq!(g.choice(3), Choice::Paused);
        // It comes back: nothing for 2 s, then the paused tile's lowest
        // layer; what overflowed stays out of reach for 20 s.
        g.decide(at(t0, 200), Some(5_000_000), Queueing, 100_000, &tiles);
        assert_eq!(g.choice(3), Choice::Paused);
        for ms in (450..20_000).step_by(250) {
            g.decide(at(t0, ms), Some(5_000_000), Queueing, 100_000, &tiles);
        }
        assert_eq!(g.choice(0), Choice::Layer(Layer::LOW));
        assert_eq!(g.choice(3), Choice::Layer(Layer::LOW));
        // Then one step at a time.
        g.decide(at(t0, 20_250), Some(5_000_000), Queueing, 100_000, &tiles);
        g.decide(at(t0, 22_300), Some(5_000_000), Queueing, 100_000, &tiles);
        assert_eq!(g.choice(0), Choice::Layer(Layer::MID));
        for ms in (22_400..28_000).step_by(250) {
            g.decide(at(t0, ms), Some(5_000_000), Queueing, 100_000, &tiles);
        }
        assert_eq!(g.choice(0), Choice::Layer(Layer::HIGH));
        assert_eq!(g.choice(3), Choice::Layer(Layer::HIGH));
    }

    #[test]
    fn without_loss_there_is_no_ceiling() {
        let t0 = Instant::now();
        let tiles: Vec<(usize, Tile)> = vec![(0, tile(0))];
        let mut g = LayerGovernor::default();
        g.decide(at(t0, 0), Some(5_000_000), Queueing, 100_000, &tiles);
        // A dip of the estimate alone: down at once, up again after 2 s
        // per step.
        g.decide(at(t0, 250), Some(300_000), Queueing, 100_000, &tiles);
        assert_eq!(g.choice(0), Choice::Layer(Layer::LOW));
        for ms in (1_000..6_000).step_by(250) {
            g.decide(at(t0, ms), Some(5_000_000), Queueing, 100_000, &tiles);
        }
        assert_eq!(g.choice(0), Choice::Layer(Layer::HIGH));
    }

    #[test]
    fn paused_video_resumes_sooner_while_the_estimate_is_freshly_probed() {
        let t0 = Instant::now();
        let tiles: Vec<(usize, Tile)> = vec![(0, tile(0))];
        let resumed_after = |probed: bool| {
            let mut g = LayerGovernor::default();
            g.decide(t0, Some(50_000), Queueing, 100_000, &tiles);
            assert_eq!(g.choice(0), Choice::Paused);
            if probed {
                g.trust_probes(t0);
            }
            (250..5000).step_by(250).find(|ms| {
                g.decide(at(t0, *ms), Some(600_000), Queueing, 100_000, &tiles);
                g.choice(0) != Choice::Paused
            })
        };
        assert_eq!(resumed_after(false), Some(2250));
        assert_eq!(resumed_after(true), Some(1250));
    }

    #[test]
    fn without_loss_a_choice_is_kept_while_the_estimate_is_nearly_enough() {
        let t0 = Instant::now();
        let tiles: Vec<(usize, Tile)> = vec![(0, tile(0))];
        // What the lowest layer and the audio need (and a little more than
        // rounding takes).
        let needed = needed_for(100_000 + tile(0).layer_bps[0]) + 1_000;
        let mut g = LayerGovernor::default();
        g.decide(t0, Some(needed), Queueing, 100_000, &tiles);
        assert_eq!(g.choice(0), Choice::Layer(Layer::LOW));
        g.decide(
            at(t0, 250),
            Some(needed * 95 / 100),
            Queueing,
            100_000,
            &tiles,
        );
        assert_eq!(g.choice(0), Choice::Layer(Layer::LOW), "kept at 95 %");
        g.decide(
            at(t0, 500),
            Some(needed * 95 / 100),
            Losing,
            100_000,
            &tiles,
        );
        assert_eq!(g.choice(0), Choice::Paused, "with loss: paused");
        let mut g = LayerGovernor::default();
        g.decide(t0, Some(needed), Queueing, 100_000, &tiles);
        g.decide(
            at(t0, 250),
            Some(needed * 85 / 100),
            Queueing,
            100_000,
            &tiles,
        );
        assert_eq!(g.choice(0), Choice::Paused, "paused at 85 %");
    }

    #[test]
    fn on_a_clear_link_a_dip_of_the_estimate_takes_nothing_away() {
        let t0 = Instant::now();
        let tiles: Vec<(usize, Tile)> = vec![(0, tile(0)), (1, tile(1))];
        let mut g = LayerGovernor::default();
        g.decide(t0, Some(5_000_000), Clear, 100_000, &tiles);
        assert_eq!(g.choice(0), Choice::Layer(Layer::HIGH));
        // A busy receiver's estimate falls to 300 kbit/s; the link neither
        // loses nor queues: everything stays.
        let changed = g.decide(at(t0, 250), Some(300_000), Clear, 100_000, &tiles);
        assert!(changed.is_empty(), "{changed:?}");
        // A standing queue: the estimate is believed.
        g.decide(at(t0, 500), Some(300_000), Queueing, 100_000, &tiles);
        assert_eq!(g.choice(0), Choice::Layer(Layer::LOW));
        assert_eq!(g.choice(1), Choice::Paused);
        // Nor does a clear link raise anything the estimate does not carry.
        for ms in (750..6_000).step_by(250) {
            g.decide(at(t0, ms), Some(300_000), Clear, 100_000, &tiles);
        }
        assert_eq!(g.choice(0), Choice::Layer(Layer::LOW));
        assert_eq!(g.choice(1), Choice::Paused);
    }

    #[test]
    fn an_endless_estimate_is_plenty_not_a_crash() {
        // str0m's `Bitrate::INFINITY` reads as u64::MAX.
        let mut g = LayerGovernor::default();
        g.decide(
            Instant::now(),
            Some(u64::MAX),
            Losing,
            100_000,
            &[(0, tile(0))],
        );
        assert_eq!(g.choice(0), Choice::Layer(Layer::HIGH));
    }

    #[test]
    fn a_tile_that_shrinks_on_a_lossy_link_sets_no_ceiling() {
        let t0 = Instant::now();
        let mut g = LayerGovernor::default();
        g.decide(t0, Some(5_000_000), Losing, 100_000, &[(0, tile(0))]);
        let small = Tile {
            max_layer: Layer::LOW,
            ..tile(0)
        };
        let changed = g.decide(at(t0, 250), Some(5_000_000), Losing, 100_000, &[(0, small)]);
        assert_eq!(changed, vec![(0, Choice::Layer(Layer::LOW))]);
        assert_eq!(g.ceiling, None);
    }

    #[test]
    fn a_slot_that_changes_hands_starts_afresh() {
        let t0 = Instant::now();
        let mut g = LayerGovernor::default();
        g.decide(t0, Some(300_000), Queueing, 100_000, &[(1, tile(0))]);
        assert_eq!(g.choice(1), Choice::Layer(Layer::LOW));
        g.decide(t0, Some(5_000_000), Queueing, 100_000, &[]);
        assert_eq!(g.choice(1), Choice::Layer(Layer::LOW), "undecided");
        g.decide(t0, Some(5_000_000), Queueing, 100_000, &[(1, tile(0))]);
        assert_eq!(g.choice(1), Choice::Layer(Layer::HIGH));
    }
}
