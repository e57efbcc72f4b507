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
//! Pure: estimates, wishes and time in, the value to tell str0m out.

use std::time::{Duration, Instant};

/// How often to ask for a probe while the estimate is below what is wanted.
pub const NUDGE_EVERY: Duration = Duration::from_millis(1500);
/// A nudge asks for this much more than wanted (str0m probes on increase).
const NUDGE_PERCENT: u64 = 5;

/// One subscriber's prober.
#[derive(Debug, Default)]
pub struct Prober {
    /// The desired bitrate last told (bit/s).
    told: Option<u64>,
    last_nudge: Option<Instant>,
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
    ) -> Option<u64> {
        let short = estimate_bps.is_some_and(|e| e < wanted_bps);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(start: Instant, ms: u64) -> Instant {
        start + Duration::from_millis(ms)
    }

    #[test]
    fn the_wish_is_told_once_while_the_estimate_covers_it() {
        let t = Instant::now();
        let mut p = Prober::default();
        assert_eq!(p.desired(t, Some(3_000_000), 1_000_000), Some(1_000_000));
        assert_eq!(p.desired(at(t, 250), Some(3_000_000), 1_000_000), None);
        assert_eq!(p.desired(at(t, 5000), Some(3_000_000), 1_000_000), None);
        // A bigger wish (someone joined) is told at once.
        assert_eq!(
            p.desired(at(t, 5250), Some(3_000_000), 2_000_000),
            Some(2_000_000)
        );
    }

    #[test]
    fn a_short_estimate_gets_a_probe_every_nudge_interval() {
        let t = Instant::now();
        let mut p = Prober::default();
        let mut nudges = Vec::new();
        for ms in (0..6000).step_by(250) {
            if let Some(d) = p.desired(at(t, ms), Some(100_000), 1_000_000) {
                if d > 1_000_000 {
                    nudges.push(ms);
                }
            }
        }
        assert_eq!(nudges, vec![0, 1500, 3000, 4500]);
    }

    #[test]
    fn no_estimate_no_nudges() {
        let t = Instant::now();
        let mut p = Prober::default();
        assert_eq!(p.desired(t, None, 500_000), Some(500_000));
        assert_eq!(p.desired(at(t, 2000), None, 500_000), None);
    }
}
