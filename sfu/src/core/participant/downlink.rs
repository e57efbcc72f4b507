//! A subscriber's downlink: what its estimator measures and is told to
//! probe for, what loss and queueing its link shows (`congestion.rs`), and
//! the layer and redundancy choices that follow from them.

use std::time::{Duration, Instant};

use str0m::bwe::Bitrate;
use str0m::media::Mid;

use super::super::layers::{Choice, Tile};
use super::super::protection::Redundancy;
use super::Participant;

/// Loss on a receiver report at which its link counts as overflowing.
const CONGESTION_LOSS: f32 = 0.02;
/// NACKs for one stream within one statistics interval (a second) at which
/// its link counts as overflowing.
const CONGESTION_NACKS: u64 = 3;

impl Participant {
    /// Decide its layers again (see `LayerGovernor::decide`); returns the
    /// slots whose choice changed.
    pub fn decide_layers(
        &mut self,
        now: Instant,
        audio_bps: u64,
        tiles: &[(usize, Tile)],
    ) -> Vec<(usize, Choice)> {
        let link = self.downlink.state(now);
        self.governor
            .decide(now, self.estimate, link, audio_bps, tiles)
    }

    /// The layer choice of slot `idx` now.
    pub fn layer_choice(&self, idx: usize) -> Choice {
        self.governor.choice(idx)
    }

    /// Tell its bandwidth estimator what its tiles want, when the prober
    /// says so, and start it afresh when it gets audio only after a loss
    /// that ended (returns whether it did).
    pub fn probe_for(&mut self, now: Instant, wanted_bps: u64) -> bool {
        let link = self.downlink.state(now);
        if let Some(desired) = self.prober.desired(now, self.estimate, wanted_bps, link) {
            self.rtc
                .bwe()
                .set_bitrate(Bitrate::ZERO, Bitrate::bps(desired));
        }
        let (estimate, lost_at) = (self.estimate, self.downlink.lost_at());
        let restart =
            self.prober
                .restart(now, estimate, wanted_bps, self.audio_only, (lost_at, link));
        if let Some(from) = restart {
            tracing::debug!(participant = %self.id, from, "bandwidth estimate restarted");
            self.rtc.bwe().reset(Bitrate::bps(from));
            self.governor.trust_probes(now);
        }
        restart.is_some()
    }

    /// How deep the loss on its link asks redundancy to be.
    pub fn redundancy_wanted(&self) -> Redundancy {
        self.protection.redundancy()
    }

    /// The deepest redundancy its link can carry (see `allocation`).
    pub fn cap_redundancy(&mut self, cap: Redundancy) {
        self.red_cap = cap;
    }

    /// The deepest redundancy allowed now.
    pub fn redundancy_cap(&self) -> Redundancy {
        self.red_cap
    }

    /// Its downlink estimate (bit/s), once its estimator has one.
    pub fn estimate(&self) -> Option<u64> {
        self.estimate
    }

    /// A new downlink estimate from its estimator.
    pub fn set_estimate(&mut self, bps: u64) {
        self.estimate = Some(bps);
    }

    /// Whether it was last told it gets audio only; set it, returning
    /// whether that is news.
    pub fn tell_audio_only(&mut self, audio_only: bool) -> bool {
        std::mem::replace(&mut self.audio_only, audio_only) != audio_only
    }

    /// Whether it gets audio only now.
    pub fn is_audio_only(&self) -> bool {
        self.audio_only
    }

    /// The loss str0m measured on its whole downlink over the last second
    /// and the latest round trip (transport-wide feedback on every packet;
    /// receiver reports lag).
    pub fn observe_downlink(&mut self, now: Instant, loss: Option<f32>, rtt: Option<Duration>) {
        if loss.is_some_and(|l| l >= CONGESTION_LOSS) {
            self.downlink.note_loss(now);
        }
        if let Some(rtt) = rtt {
            self.downlink.note_rtt(now, rtt);
        }
    }

    /// str0m's latest counts of an outgoing stream; `loss` is the part of
    /// the subscriber's loss on that stream that happened on its own link.
    /// Returns the new redundancy if it changed.
    pub fn observe_egress(
        &mut self,
        now: Instant,
        mid: Mid,
        nacks: u64,
        loss: Option<f32>,
    ) -> Option<Redundancy> {
        // NACKs come within a round trip of a loss (receiver reports lag by
        // seconds; the whole link's loss is `observe_downlink`'s).
        if self.stats.egress(mid, nacks) >= CONGESTION_NACKS {
            self.downlink.note_loss(now);
        }
        let loss = loss?;
        let before = self.protection.redundancy();
        self.protection.observe(now, loss);
        let level = self.protection.redundancy();
        (level != before).then_some(level)
    }
}
