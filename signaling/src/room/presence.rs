//! Arriving, dropping, coming back and leaving.

use super::*;

impl Room {
    pub(super) fn connection_lost(&mut self, now: Instant, conn: ConnId, fx: &mut Vec<Effect>) {
        let Some(id) = self.participant_of(conn) else {
            return;
        };
        let p = self.people.get_mut(&id).expect("found");
        p.conn = None;
        p.lost_at = Some(now);
        if p.in_media {
            p.in_media = false;
            fx.push(Effect::MediaRemove { who: id });
        }
        if p.stage == Stage::Admitted {
            if self.moderator == Some(id) {
                // Admissions freeze: nobody else may admit until the
                // facilitator returns or a co-facilitator takes over.
                for other in self.admitted().into_iter().filter(|o| *o != id) {
                    fx.push(notify(other, Notice::FacilitatorAway { away: true }));
                }
            }
            self.broadcast_roster(fx);
        }
    }

    pub(super) fn tick(&mut self, now: Instant, fx: &mut Vec<Effect>) {
        let grace = self.settings.reconnect_grace;
        let expired: Vec<ParticipantId> = self
            .people
            .iter()
            .filter(|(_, p)| p.lost_at.is_some_and(|t| now >= t + grace))
            .map(|(id, _)| *id)
            .collect();
        // Take everyone who expired out first, so that nobody leaving in the
        // same tick is told about the others.
        let gone: Vec<(ParticipantId, Person)> = expired
            .into_iter()
            .filter_map(|id| self.people.remove(&id).map(|p| (id, p)))
            .collect();
        for (id, p) in gone {
            self.departed(id, p, fx);
        }
    }

    /// Someone leaves for good (their choice).
    pub(super) fn depart(&mut self, id: ParticipantId, fx: &mut Vec<Effect>) {
        if let Some(p) = self.people.remove(&id) {
            self.departed(id, p, fx);
        }
    }

    /// What follows from `id` leaving; `p` is already out of the room.
    pub(super) fn departed(&mut self, id: ParticipantId, p: Person, fx: &mut Vec<Effect>) {
        if p.in_media {
            fx.push(Effect::MediaRemove { who: id });
        }
        if let Some(conn) = p.conn {
            fx.push(Effect::Close { conn });
        }
        if self.moderator == Some(id) {
            self.moderator = None;
            for other in self.admitted() {
                fx.push(notify(other, Notice::FacilitatorAway { away: true }));
            }
        }
        match p.stage {
            Stage::Admitted => self.broadcast_roster(fx),
            Stage::Waiting { .. } => self.send_waiting_list(fx),
        }
        if p.trouble != (false, false) {
            self.send_device_trouble(fx);
        }
        if let (Some(_), Some(now)) = (p.moment, self.clock) {
            self.send_need_moment(now, fx);
        }
        self.leaving_side_room(id, fx);
        if self.round.is_some() {
            self.send_round(fx);
        }
    }
}
