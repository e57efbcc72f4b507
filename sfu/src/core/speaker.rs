//! Turning RFC 6464 audio levels into "who is speaking" for one room.
//!
//! Every publisher's audio packets carry its level in -dBov (0 loudest, 127
//! silence). The detector averages them over a short window and names the
//! loudest participant who is clearly speaking, so the client can highlight
//! the tile. It changes its mind only for a clearly louder voice, so that two
//! people talking over each other do not make the highlight flicker.

use std::collections::BTreeMap;

use crate::ids::ParticipantId;

/// Louder than -50 dBov on average counts as speech.
const SPEECH_THRESHOLD: u32 = 50;
/// A challenger must be this many dB louder to take over from the speaker.
const HYSTERESIS_DB: u32 = 3;
/// At least this many level samples in a window (20 ms frames: 12 per 250 ms).
const MIN_SAMPLES: u32 = 4;

#[derive(Debug, Default, Clone, Copy)]
struct Window {
    sum: u32,
    samples: u32,
}

/// Audio levels of one room during the current window.
#[derive(Debug, Default)]
pub struct SpeakerDetector {
    windows: BTreeMap<ParticipantId, Window>,
    current: Option<ParticipantId>,
}

impl SpeakerDetector {
    /// Record one packet's level in dBov (0 loudest, -127 silence). `voice` is the optional
    /// voice-activity flag; a packet flagged as not voice counts as silence.
    pub fn record(&mut self, participant: ParticipantId, level: i8, voice: Option<bool>) {
        let level = if voice == Some(false) {
            127
        } else {
            // str0m carries -dBov as a non-positive i8; accept either sign.
            u32::from(level.unsigned_abs().min(127))
        };
        let w = self.windows.entry(participant).or_default();
        w.sum += level;
        w.samples += 1;
    }

    /// Forget a participant who left.
    pub fn remove(&mut self, participant: ParticipantId) {
        self.windows.remove(&participant);
        if self.current == Some(participant) {
            self.current = None;
        }
    }

    /// Close the window. Returns `Some(new_speaker)` when the speaker changed
    /// (`Some(None)`: nobody is speaking any more).
    pub fn tick(&mut self) -> Option<Option<ParticipantId>> {
        let averages: Vec<(ParticipantId, u32)> = self
            .windows
            .iter()
            .filter(|(_, w)| w.samples >= MIN_SAMPLES)
            .map(|(p, w)| (*p, w.sum / w.samples))
            .filter(|(_, avg)| *avg <= SPEECH_THRESHOLD)
            .collect();
        self.windows.clear();

        let loudest = averages.iter().min_by_key(|(p, avg)| (*avg, *p)).copied();
        let current_avg = self
            .current
            .and_then(|c| averages.iter().find(|(p, _)| *p == c).map(|(_, a)| *a));
        let next = match (current_avg, loudest) {
            (_, None) => None,
            (None, Some((p, _))) => Some(p),
            (Some(cur), Some((p, avg))) => {
                if avg + HYSTERESIS_DB <= cur {
                    Some(p)
                } else {
                    self.current
                }
            }
        };
        if next != self.current {
            self.current = next;
            Some(next)
        } else {
            None
        }
    }

    /// Number of participants with samples in the open window (for leak checks).
    pub fn tracked(&self) -> usize {
        self.windows.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speak(d: &mut SpeakerDetector, p: u64, level: i8) {
        for _ in 0..12 {
            d.record(ParticipantId(p), level, None);
        }
    }

    #[test]
    fn loudest_clear_speaker_wins_and_silence_ends_it() {
        let mut d = SpeakerDetector::default();
        speak(&mut d, 1, -30);
        speak(&mut d, 2, -90);
        assert_eq!(d.tick(), Some(Some(ParticipantId(1))));
        speak(&mut d, 1, -30);
        assert_eq!(d.tick(), None);
        assert_eq!(d.tick(), Some(None));
    }

    #[test]
    fn a_slightly_louder_voice_does_not_steal_the_highlight() {
        let mut d = SpeakerDetector::default();
        speak(&mut d, 1, -30);
        assert_eq!(d.tick(), Some(Some(ParticipantId(1))));
        speak(&mut d, 1, -30);
        speak(&mut d, 2, -29);
        assert_eq!(d.tick(), None);
        speak(&mut d, 1, -30);
        speak(&mut d, 2, -20);
        assert_eq!(d.tick(), Some(Some(ParticipantId(2))));
    }

    #[test]
    fn voice_activity_false_counts_as_silence() {
        let mut d = SpeakerDetector::default();
        for _ in 0..12 {
            d.record(ParticipantId(1), -10, Some(false));
        }
        assert_eq!(d.tick(), None);
    }
}
