//! What a member says about themself without words: "I need a moment"
//! (privately, to the facilitators only, never to other members) and
//! stepping away (camera and microphone off, the tile says so; everyone in
//! the room sees that, as they would see an empty chair).

use std::time::Duration;

use super::*;

impl Room {
    /// A member raises or withdraws "I need a moment".
    pub(super) fn need_moment(
        &mut self,
        now: Instant,
        by: ParticipantId,
        on: bool,
        fx: &mut Vec<Effect>,
    ) {
        let Some(p) = self.people.get_mut(&by) else {
            return;
        };
        if p.stage != Stage::Admitted || p.role != Role::Member {
            fx.push(refuse(by, Refusal::NotAllowed));
            return;
        }
        let changed = match (on, p.moment) {
            (true, None) => {
                p.moment = Some(now);
                true
            }
            (false, Some(_)) => {
                p.moment = None;
                true
            }
            _ => false,
        };
        if changed {
            self.send_need_moment(now, fx);
        }
    }

    /// A participant steps away or comes back.
    pub(super) fn step_away(&mut self, by: ParticipantId, away: bool, fx: &mut Vec<Effect>) {
        match self.people.get_mut(&by) {
            Some(p) if p.stage == Stage::Admitted => {
                if p.away != away {
                    p.away = away;
                    self.broadcast_roster(fx);
                }
            }
            _ => fx.push(refuse(by, Refusal::NotAllowed)),
        }
    }

    /// The session clock, to staff only (their pages count on from it).
    pub(super) fn send_clock(&self, to: ParticipantId, fx: &mut Vec<Effect>) {
        if let (Some(opened), Some(now)) = (self.opened, self.clock) {
            fx.push(notify(
                to,
                Notice::Clock {
                    elapsed: now.saturating_duration_since(opened),
                    length: self.settings.length,
                },
            ));
        }
    }

    /// Who needs a moment and for how long, to staff only.
    pub(super) fn send_need_moment(&self, now: Instant, fx: &mut Vec<Effect>) {
        let list: Vec<(ParticipantId, Duration)> = self
            .people
            .iter()
            .filter(|(_, p)| p.stage == Stage::Admitted)
            .filter_map(|(id, p)| p.moment.map(|t| (*id, now.saturating_duration_since(t))))
            .collect();
        for staff in self.staff() {
            fx.push(notify(staff, Notice::NeedMoment(list.clone())));
        }
    }
}
