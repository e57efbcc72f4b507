//! Generating and recognising pure tones in PCM audio.

use std::f32::consts::PI;

/// Sample rate of everything here (Opus' native rate).
pub const RATE: u32 = 48_000;
/// Samples in one 20 ms Opus frame.
pub const FRAME: usize = 960;

/// A sine generator that keeps its phase across frames.
pub struct Tone {
    freq: f32,
    phase: f32,
}

impl Tone {
    /// A tone of `freq` Hz.
    pub fn new(freq: f32) -> Self {
        Self { freq, phase: 0.0 }
    }

    /// The next 20 ms of the tone, at about -12 dBFS.
    pub fn next_frame(&mut self) -> Vec<i16> {
        let step = 2.0 * PI * self.freq / RATE as f32;
        (0..FRAME)
            .map(|_| {
                let s = (self.phase.sin() * 8000.0) as i16;
                self.phase = (self.phase + step) % (2.0 * PI);
                s
            })
            .collect()
    }
}

/// Power of `freq` in `samples` (Goertzel algorithm).
pub fn power_at(samples: &[i16], freq: f32) -> f32 {
    let coeff = 2.0 * (2.0 * PI * freq / RATE as f32).cos();
    let (mut s1, mut s2) = (0.0f32, 0.0f32);
    for &x in samples {
        let s0 = x as f32 / 32768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    s1 * s1 + s2 * s2 - coeff * s1 * s2
}

/// Which of `candidates` dominates `samples`, if one clearly does (ten times
/// the power of the runner-up).
pub fn dominant(samples: &[i16], candidates: &[f32]) -> Option<f32> {
    let mut powers: Vec<(f32, f32)> = candidates
        .iter()
        .map(|f| (*f, power_at(samples, *f)))
        .collect();
    powers.sort_by(|a, b| b.1.total_cmp(&a.1));
    match powers.as_slice() {
        [(f, p), (_, q), ..] if *p > 10.0 * q && *p > 1.0 => Some(*f),
        [(f, p)] if *p > 1.0 => Some(*f),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_its_own_tones() {
        let candidates = [440.0, 660.0, 880.0, 1100.0];
        for f in candidates {
            let mut t = Tone::new(f);
            let samples: Vec<i16> = (0..10).flat_map(|_| t.next_frame()).collect();
            assert_eq!(dominant(&samples, &candidates), Some(f));
        }
        assert_eq!(dominant(&[0; 4800], &candidates), None);
    }
}
