//! What str0m last reported of a participant's streams: NACKs both ways and
//! the loss on what it sends us (cumulative per stream, replaced on each
//! report).

use str0m::media::Mid;

/// The latest per-stream statistics str0m reported (cumulative per stream).
#[derive(Debug, Default)]
pub struct StreamStats {
    egress_nacks: Vec<(Mid, u64)>,
    ingress_nacks: Vec<(Mid, u64)>,
    ingress_loss: Vec<(Mid, f32)>,
}

fn upsert<T>(v: &mut Vec<(Mid, T)>, mid: Mid, value: T) {
    match v.iter_mut().find(|(m, _)| *m == mid) {
        Some((_, x)) => *x = value,
        None => v.push((mid, value)),
    }
}

impl StreamStats {
    /// The NACKs received so far on an outgoing stream; returns how many
    /// are new since the last report.
    pub fn egress(&mut self, mid: Mid, nacks: u64) -> u64 {
        let before = self
            .egress_nacks
            .iter()
            .find(|(m, _)| *m == mid)
            .map_or(0, |(_, n)| *n);
        upsert(&mut self.egress_nacks, mid, nacks);
        nacks.saturating_sub(before)
    }

    pub fn ingress(&mut self, mid: Mid, nacks: u64, loss: Option<f32>) {
        upsert(&mut self.ingress_nacks, mid, nacks);
        if let Some(loss) = loss {
            upsert(&mut self.ingress_loss, mid, loss);
        }
    }

    /// NACKs received from this participant as a subscriber.
    pub fn nacks_received(&self) -> u64 {
        self.egress_nacks.iter().map(|(_, n)| n).sum()
    }

    /// NACKs sent to this participant as a publisher.
    pub fn nacks_sent(&self) -> u64 {
        self.ingress_nacks.iter().map(|(_, n)| n).sum()
    }

    /// Loss of one incoming stream, as last reported.
    pub fn loss_of(&self, mid: Mid) -> Option<f32> {
        self.ingress_loss
            .iter()
            .find(|(m, _)| *m == mid)
            .map(|(_, l)| *l)
    }

    /// Loss fractions of the incoming streams.
    pub fn losses(&self) -> impl Iterator<Item = f32> + '_ {
        self.ingress_loss.iter().map(|(_, l)| *l)
    }
}
