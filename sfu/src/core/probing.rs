//! What each subscriber's bandwidth estimator is told to look for.
//!
//! str0m's estimator (TWCC) only learns a link's capacity from what is sent
//! on it. After a bottleneck paused a subscriber's video, audio alone is far
//! below the link, and the estimate sinks towards it and stays there even
//! when the link opens again (measured: 86 kbit/s on an open link, forever).
//! str0m probes (short bursts of padding) when the *desired* bitrate rises
//! above its estimate, so the prober tells it what the subscriber's tiles
//! could use, and, while that is more than the estimate, raises it a little
//! every `NUDGE_EVERY` to ask for a fresh probe. Each probe is a few
//! kilobytes at up to twice the estimate: cheap on a narrow link, and on an
//! open one the estimate doubles per probe until the tiles fit.
//!
//! Loss holds the estimate down longer than the loss lasts: str0m's
//! loss-based estimator remembers about five seconds of observations and
//! does not probe while it is limited by loss, so a member whose link had
//! just opened again waited 4–16 s for video (simulated 80 kbit/s link,
//! docs/media.md). So when a member gets audio only and its link has been
//! free of loss for `QUIET_BEFORE_RESTART`, the prober asks to start the
//! estimator afresh from its current figure: a fresh estimator probes at
//! three and six times that at once. If the estimate is still short, again
//! after 1, 2, 4 … s (a probe from a very low figure sometimes measures
//! little). While the link keeps losing packets there is no restart: it is
//! full. Nor is there a nudge while it loses packets or queues them, or a
//! restart while it queues (`congestion.rs`): behind 250 kbit/s three
//! voices alone kept the queue standing, and each probe on top of them
//! (every nudge, every restart) lost some of the voices (Chromium concealed
//! 1.1-1.5 % of them, against about 0.1 % on open links).
//!
//! Pure: estimates, wishes, loss and time in, what to tell str0m out.

use std::time::{Duration, Instant};

use super::congestion::LinkState;

/// How often to ask for a probe while the estimate is below what is wanted.
pub const NUDGE_EVERY: Duration = Duration::from_millis(1500);
/// A nudge asks for this much more than wanted (str0m probes on increase).
const NUDGE_PERCENT: u64 = 5;
/// How long a member on audio only must have lost nothing before its
/// estimator starts afresh.
const QUIET_BEFORE_RESTART: Duration = Duration::from_secs(1);

/// One subscriber's prober.
#[derive(Debug, Default)]
pub struct Prober {
    /// The desired bitrate last told (bit/s).
    told: Option<u64>,
    last_nudge: Option<Instant>,
    /// The loss (its last moment) after which the estimator was last
    /// restarted, when, and how often since that loss.
    restarted: Option<Restarts>,
}

#[derive(Debug, Clone, Copy)]
struct Restarts {
    after_loss: Instant,
    last: Instant,
    count: u32,
}

impl Prober {
    /// The desired bitrate to tell the estimator now, if it changes.
    /// `wanted_bps`: what the subscriber's audio and the best layers of its
    /// tiles would cost; `estimate_bps`: the current estimate.
    pub fn desired(
        &mut self,
        now: Instant,
        estimate_bps: Option<u64>,
        wanted_bps: u64,
        link: LinkState,
    ) -> Option<u64> {
        let short = link.has_room() && estimate_bps.is_some_and(|e| e < wanted_bps);
        let due = self
            .last_nudge
            .is_none_or(|t| now.saturating_duration_since(t) >= NUDGE_EVERY);
        let tell = if short && due {
            self.last_nudge = Some(now);
            wanted_bps + wanted_bps * NUDGE_PERCENT / 100
        } else {
            // Back to plain `wanted` after a nudge, so the next one is an
            // increase again.
            wanted_bps
        };
        (self.told != Some(tell) && tell > 0).then(|| {
            self.told = Some(tell);
            tell
        })
    }

    /// Whether to start the estimator afresh now, and from which bitrate.
    /// `audio_only`: every tile on screen is paused for bandwidth;
    /// `lost_at`: when the member's link last lost packets; `link`: what
    /// it shows now.
    pub fn restart(
        &mut self,
        now: Instant,
        estimate_bps: Option<u64>,
        wanted_bps: u64,
        audio_only: bool,
        (lost_at, link): (Option<Instant>, LinkState),
    ) -> Option<u64> {
        let estimate = estimate_bps.filter(|e| *e < wanted_bps)?;
        let lost_at = lost_at?;
        let quiet = now.saturating_duration_since(lost_at) >= QUIET_BEFORE_RESTART;
        let earlier = self.restarted.filter(|r| r.after_loss == lost_at);
        let due = earlier.is_none_or(|r| {
            let gap = QUIET_BEFORE_RESTART * 2u32.saturating_pow(r.count - 1);
            now.saturating_duration_since(r.last) >= gap
        });
        (audio_only && quiet && due && link != LinkState::Queueing).then(|| {
            self.restarted = Some(Restarts {
                after_loss: lost_at,
                last: now,
                count: earlier.map_or(1, |r| r.count.saturating_add(1)),
            });
            estimate
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use LinkState::{Clear, Losing, Queueing};

    #[test]
    fn a_link_that_queues_or_loses_is_not_probed() {
        let t = Instant::now();
        let mut p = Prober::default();
        assert_eq!(
            p.desired(t, Some(100_000), 1_000_000, Queueing),
            Some(1_000_000)
        );
        for ms in (250..6_000).step_by(250) {
            for link in [Queueing, Losing] {
                assert_eq!(
                    p.desired(at(t, ms), Some(100_000), 1_000_000, link),
                    None,
                    "no nudge at {ms} ms"
                );
            }
        }
        let lost = Some(t);
        let later = at(t, 5_000);
        assert_eq!(
            p.restart(later, Some(50_000), 400_000, true, (lost, Queueing)),
            None
        );
        assert_eq!(
            p.restart(later, Some(50_000), 400_000, true, (lost, Clear)),
            Some(50_000)
        );
    }

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn the_wish_is_told_once_while_the_estimate_covers_it() {
        let t = Instant::now();
        let mut p = Prober::default();
        assert_eq!(
            p.desired(t, Some(3_000_000), 1_000_000, Clear),
            Some(1_000_000)
        );
        assert_eq!(
            p.desired(at(t, 250), Some(3_000_000), 1_000_000, Clear),
            None
        );
        assert_eq!(
            p.desired(at(t, 5000), Some(3_000_000), 1_000_000, Clear),
            None
        );
        // A bigger wish (someone joined) is told at once.
        assert_eq!(
            p.desired(at(t, 5250), Some(3_000_000), 2_000_000, Clear),
            Some(2_000_000)
        );
    }

    #[test]
    fn a_short_estimate_gets_a_probe_every_nudge_interval() {
        let t = Instant::now();
        let mut p = Prober::default();
        let mut nudges = Vec::new();
        for ms in (0..6000).step_by(250) {
            if let Some(d) = p.desired(at(t, ms), Some(100_000), 1_000_000, Clear) {
                if d > 1_000_000 {
                    nudges.push(ms);
                }
            }
        }
        assert_eq!(nudges, vec![0, 1500, 3000, 4500]);
    }

    #[test]
    fn audio_only_after_loss_restarts_when_the_link_is_quiet_and_backs_off() {
        let t = Instant::now();
        let mut p = Prober::default();
        let lost = Some(at(t, 0));
        // Still losing, or not yet quiet for long enough: no.
        assert_eq!(
            p.restart(at(t, 500), Some(50_000), 400_000, true, (lost, Clear)),
            None
        );
        // Quiet for a second: from the current estimate, once.
        assert_eq!(
            p.restart(at(t, 1000), Some(50_000), 400_000, true, (lost, Clear)),
            Some(50_000)
        );
        // Still short: again after 1, 2, 4 s.
        let again: Vec<u64> = (1250..9000)
            .step_by(250)
            .filter(|ms| {
                p.restart(at(t, *ms), Some(80_000), 400_000, true, (lost, Clear))
                    .is_some()
            })
            .collect();
        assert_eq!(again, vec![2000, 4000, 8000]);
        // New loss, quiet again: a second later.
        let lost = Some(at(t, 9000));
        assert_eq!(
            p.restart(at(t, 9500), Some(60_000), 400_000, true, (lost, Clear)),
            None
        );
        assert_eq!(
            p.restart(at(t, 10_000), Some(60_000), 400_000, true, (lost, Clear)),
            Some(60_000)
        );
    }

    #[test]
    fn no_restart_with_video_or_enough_estimate_or_no_loss() {
        let t = Instant::now();
        let later = at(t, 2000);
        let lost = Some(t);
        let mut p = Prober::default();
        assert_eq!(
            p.restart(later, Some(50_000), 400_000, false, (lost, Clear)),
            None
        );
        assert_eq!(
            p.restart(later, Some(500_000), 400_000, true, (lost, Clear)),
            None
        );
        assert_eq!(
            p.restart(later, Some(50_000), 400_000, true, (None, Clear)),
            None
        );
        assert_eq!(p.restart(later, None, 400_000, true, (lost, Clear)), None);
    }

    #[test]
    fn no_estimate_no_nudges() {
        let t = Instant::now();
        let mut p = Prober::default();
        assert_eq!(p.desired(t, None, 500_000, Clear), Some(500_000));
        assert_eq!(p.desired(at(t, 2000), None, 500_000, Clear), None);
    }
}
