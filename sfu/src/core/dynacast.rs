//! Layers nobody receives are not encoded ("dynacast", as LiveKit calls it).
//!
//! A browser encodes every simulcast layer it was given, whether or not
//! anyone receives it: in a group of four on laptops every tile shows the
//! large layer, and each page spends CPU encoding a small one nobody sees.
//! So the room tells each publisher which of its layers some slot wants or
//! still forwards, and the page stops encoding the others.
//!
//! A layer is paused only after nobody has wanted it for `PAUSE_AFTER` (a
//! tile being resized must not make its publisher flap), and resumed at once
//! when someone does. A paused layer keeps the rate it was measured at, so
//! the allocation can still choose it (and that choice is what resumes it);
//! a layer the *browser* dropped (its own uplink or CPU was short) has no
//! such memory and is not chosen. One layer always stays on, so that a new
//! tile shows a picture without waiting for an encoder to start.
//!
//! A slot switches to a resumed layer on its first keyframe, and asks for
//! one while it waits (`layers::video_step`), as for any switch.
//!
//! Pure: what subscribers want, measured rates and time in; the layers to
//! send out.

use std::time::{Duration, Instant};

use super::layers::LAYERS;

/// A layer nobody wants is paused after this long.
pub const PAUSE_AFTER: Duration = Duration::from_secs(3);
/// A resumed layer counts at its old rate for this long, until measured.
const RESUME_GRACE: Duration = Duration::from_secs(2);

/// Which layers one publisher sends, as far as Haven asked.
#[derive(Debug, Default)]
pub struct SentLayers {
    /// Per layer: paused at Haven's request, with the rate it had then.
    paused: [Option<u64>; LAYERS],
    /// Per layer: since when nobody has wanted it.
    unwanted_since: [Option<Instant>; LAYERS],
    /// Per layer: resumed at, with the rate it had before the pause.
    resumed: [Option<(Instant, u64)>; LAYERS],
}

impl SentLayers {
    /// The rates to allocate with: measured, and for a layer paused by
    /// Haven (or just resumed and not yet measured) its rate before.
    pub fn rates(&self, now: Instant, measured: [u64; LAYERS]) -> [u64; LAYERS] {
        let mut out = measured;
        for (i, rate) in out.iter_mut().enumerate() {
            if *rate > 0 {
                continue;
            }
            if let Some(before) = self.paused[i] {
                *rate = before;
            } else if let Some((at, before)) = self.resumed[i] {
                if now.saturating_duration_since(at) < RESUME_GRACE {
                    *rate = before;
                }
            }
        }
        out
    }

    /// Decide again. `measured`: the layers arriving now and their rates;
    /// `kept`: the layers some slot wants or forwards. Returns the layers to
    /// send when that changed.
    pub fn decide(
        &mut self,
        now: Instant,
        measured: [u64; LAYERS],
        mut kept: [bool; LAYERS],
    ) -> Option<[bool; LAYERS]> {
        let known: Vec<usize> = (0..LAYERS)
            .filter(|i| measured[*i] > 0 || self.paused[*i].is_some())
            .collect();
        // A single stream has nothing to choose from.
        if known.len() < 2 {
            return None;
        }
        if !kept.iter().any(|k| *k) {
            kept[known[0]] = true;
        }
        let mut changed = false;
        for &i in &known {
            if kept[i] {
                self.unwanted_since[i] = None;
                if let Some(before) = self.paused[i].take() {
                    self.resumed[i] = Some((now, before));
                    changed = true;
                }
            } else if self.paused[i].is_none() {
                let since = *self.unwanted_since[i].get_or_insert(now);
                if now.saturating_duration_since(since) >= PAUSE_AFTER {
                    self.paused[i] = Some(measured[i]);
                    self.resumed[i] = None;
                    changed = true;
                }
            }
        }
        changed.then(|| std::array::from_fn(|i| self.paused[i].is_none()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RATES: [u64; LAYERS] = [150_000, 600_000, 0];

    fn at(t: Instant, ms: u64) -> Instant {
        t + Duration::from_millis(ms)
    }

    #[test]
    fn an_unwanted_layer_is_paused_after_a_while_and_keeps_its_rate() {
        let t = Instant::now();
        let mut s = SentLayers::default();
        let only_mid = [false, true, false];
        assert_eq!(s.decide(t, RATES, only_mid), None);
        assert_eq!(s.decide(at(t, 2900), RATES, only_mid), None);
        assert_eq!(
            s.decide(at(t, 3000), RATES, only_mid),
            Some([false, true, true])
        );
        // Paused: no longer measured, still choosable at its rate.
        let measured = [0, 600_000, 0];
        assert_eq!(s.rates(at(t, 6000), measured), RATES);
        assert_eq!(s.decide(at(t, 6000), measured, only_mid), None);
    }

    #[test]
    fn a_wanted_layer_resumes_at_once() {
        let t = Instant::now();
        let mut s = SentLayers::default();
        s.decide(t, RATES, [false, true, false]);
        s.decide(at(t, 3000), RATES, [false, true, false]);
        let measured = [0, 600_000, 0];
        assert_eq!(
            s.decide(at(t, 5000), measured, [true, true, false]),
            Some([true, true, true])
        );
        // Not yet measured again: still counted at its old rate, for a while.
        assert_eq!(s.rates(at(t, 5500), measured)[0], 150_000);
        assert_eq!(s.rates(at(t, 8000), measured)[0], 0);
    }

    #[test]
    fn a_flicker_of_interest_does_not_pause() {
        let t = Instant::now();
        let mut s = SentLayers::default();
        for ms in (0..10_000).step_by(250) {
            // Wanted one decision in four.
            let kept = [ms % 1000 == 0, true, false];
            assert_eq!(s.decide(at(t, ms), RATES, kept), None, "at {ms} ms");
        }
    }

    #[test]
    fn one_layer_stays_on_when_nobody_wants_any() {
        let t = Instant::now();
        let mut s = SentLayers::default();
        s.decide(t, RATES, [false; LAYERS]);
        assert_eq!(
            s.decide(at(t, 3000), RATES, [false; LAYERS]),
            Some([true, false, true])
        );
    }

    #[test]
    fn a_single_stream_is_never_paused() {
        let t = Instant::now();
        let mut s = SentLayers::default();
        let single = [430_000, 0, 0];
        s.decide(t, single, [false; LAYERS]);
        assert_eq!(s.decide(at(t, 10_000), single, [false; LAYERS]), None);
        assert_eq!(s.rates(at(t, 10_000), single), single);
    }
}
