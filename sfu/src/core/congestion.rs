//! What a subscriber's downlink says about congestion, from the two signals
//! a busy receiver cannot fake: lost packets, and a standing queue (the
//! round trip well over its smallest).
//!
//! Why not the estimate alone: str0m's estimate is delay-based, and a
//! receiver short of CPU stamps its packets' arrival late and in bursts.
//! With four browser pages on two cores the estimate of a loopback link
//! swung between 0.2 and 1.9 Mbit/s for seconds while its round trip stayed
//! at 2-40 ms, and tiles on open links lost their large layer. A link that
//! is really full either loses packets or queues them: behind `tc tbf` at
//! 250 kbit/s with a 200 ms queue the round trip rose to 470 ms with the
//! first loss. So the estimate takes layers away only when one of the two
//! shows (`LayerGovernor::decide`); it still decides every step up. And
//! the estimator is asked to probe only a link with room (`Prober`): behind
//! 250 kbit/s three voices alone kept the queue standing (round trip
//! 140-240 ms), and every probe on top of them lost some of the voices.
//!
//! Pure: reports and time in, a state out.

use std::time::{Duration, Instant};

/// What the downlink shows now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    /// Neither loss nor a standing queue: a lower estimate is not the
    /// link's doing.
    Clear,
    /// No round trip measured yet: the estimate is trusted, and probes
    /// are sent as before anything was known.
    Unmeasured,
    /// A standing queue: the estimate is trusted, and a probe would only
    /// add to the queue.
    Queueing,
    /// Packets were lost just now.
    Losing,
}

impl LinkState {
    /// Whether a probe would find room rather than add to a queue or loss.
    pub fn has_room(self) -> bool {
        matches!(self, LinkState::Clear | LinkState::Unmeasured)
    }
}

/// A loss report counts this long.
const LOSING_FOR: Duration = Duration::from_secs(2);
/// A round trip this much over the smallest seen is a standing queue. Four
/// pages on two cores put spikes of up to ~120 ms on a loopback link; a
/// link with a shallower buffer than this loses packets first.
const QUEUE_DELAY: Duration = Duration::from_millis(150);
/// A queued round trip counts until the next measurement (str0m measures
/// it every second).
const QUEUEING_FOR: Duration = Duration::from_millis(1100);

/// The loss and round-trip reports of one subscriber's downlink.
#[derive(Debug, Default)]
pub struct DownlinkSignals {
    lost_at: Option<Instant>,
    min_rtt: Option<Duration>,
    /// When the round trip was last over `min_rtt + QUEUE_DELAY`.
    queued_at: Option<Instant>,
}

impl DownlinkSignals {
    /// Its receiver reported losing packets.
    pub fn note_loss(&mut self, now: Instant) {
        self.lost_at = Some(now);
    }

    /// A round trip str0m measured (transport-wide feedback).
    pub fn note_rtt(&mut self, now: Instant, rtt: Duration) {
        let min = self.min_rtt.map_or(rtt, |m| m.min(rtt));
        self.min_rtt = Some(min);
        if rtt >= min + QUEUE_DELAY {
            self.queued_at = Some(now);
        }
    }

    /// When it last lost packets.
    pub fn lost_at(&self) -> Option<Instant> {
        self.lost_at
    }

    pub fn state(&self, now: Instant) -> LinkState {
        let recent =
            |t: Option<Instant>, span| t.is_some_and(|t| now.saturating_duration_since(t) < span);
        if recent(self.lost_at, LOSING_FOR) {
            LinkState::Losing
        } else if self.min_rtt.is_none() {
            LinkState::Unmeasured
        } else if recent(self.queued_at, QUEUEING_FOR) {
            LinkState::Queueing
        } else {
            LinkState::Clear
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(t0: Instant, ms: u64) -> Instant {
        t0 + Duration::from_millis(ms)
    }

    #[test]
    fn nothing_measured_yet_is_unmeasured_and_has_room() {
        let t0 = Instant::now();
        let state = DownlinkSignals::default().state(t0);
        assert_eq!(state, LinkState::Unmeasured);
        assert!(state.has_room());
        assert!(!LinkState::Queueing.has_room());
        assert!(!LinkState::Losing.has_room());
    }

    #[test]
    fn a_spike_of_a_busy_receiver_is_clear_a_standing_queue_is_not() {
        let t0 = Instant::now();
        let mut s = DownlinkSignals::default();
        s.note_rtt(t0, Duration::from_millis(5));
        s.note_rtt(at(t0, 1000), Duration::from_millis(120));
        assert_eq!(s.state(at(t0, 1000)), LinkState::Clear);
        s.note_rtt(at(t0, 2000), Duration::from_millis(230));
        assert_eq!(s.state(at(t0, 2000)), LinkState::Queueing);
        assert_eq!(s.state(at(t0, 3050)), LinkState::Queueing);
        // The queue drained.
        s.note_rtt(at(t0, 3000), Duration::from_millis(20));
        assert_eq!(s.state(at(t0, 3600)), LinkState::Clear);
    }

    #[test]
    fn loss_counts_for_two_seconds_over_anything_else() {
        let t0 = Instant::now();
        let mut s = DownlinkSignals::default();
        s.note_rtt(t0, Duration::from_millis(5));
        s.note_loss(at(t0, 100));
        assert_eq!(s.state(at(t0, 2000)), LinkState::Losing);
        assert_eq!(s.state(at(t0, 2100)), LinkState::Clear);
        assert_eq!(s.lost_at(), Some(at(t0, 100)));
    }
}
