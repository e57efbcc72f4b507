//! Arriving, dropping, coming back and leaving.

use super::*;

impl Room {
    pub(super) fn enter(
        &mut self,
        conn: ConnId,
        id: ParticipantId,
        seat: Seat,
        role: Role,
        name: DisplayName,
        fx: &mut Vec<Effect>,
    ) {
        if self.participant_of(conn).is_some() {
            // One connection speaks for one participant, for its lifetime.
            fx.push(Effect::Reply {
                conn,
                notice: Notice::Refused(Refusal::NotAllowed),
            });
            return;
        }
        if self.blocked.contains(&seat) {
            fx.push(Effect::Reply {
                conn,
                notice: Notice::Refused(Refusal::Blocked),
            });
            fx.push(Effect::Close { conn });
            return;
        }
        // The same seat again: a reconnect, or a second device taking over.
        if let Some((&existing, _)) = self.people.iter().find(|(_, p)| p.seat == seat) {
            let p = self.people.get_mut(&existing).expect("found");
            if let Some(old) = p.conn.replace(conn) {
                fx.push(Effect::Close { conn: old });
            }
            p.lost_at = None;
            fx.push(Effect::Attach {
                conn,
                who: existing,
            });
            if p.in_media {
                // The old peer connection belongs to the old device/network.
                p.in_media = false;
                fx.push(Effect::MediaRemove { who: existing });
            }
            let (stage, is_staff) = (p.stage, p.role.is_staff());
            match stage {
                Stage::Waiting { .. } => fx.push(notify(existing, Notice::Waiting)),
                Stage::Admitted => {
                    fx.push(notify(existing, Notice::Admitted { you: existing }));
                    if self.moderator == Some(existing) {
                        for other in self.admitted().into_iter().filter(|o| *o != existing) {
                            fx.push(notify(other, Notice::FacilitatorAway { away: false }));
                        }
                    }
                    self.broadcast_roster(fx);
                    if is_staff {
                        self.send_waiting_list(fx);
                    }
                }
            }
            return;
        }
        if self.people.contains_key(&id) {
            // The server allocates fresh ids; a reused one is a server bug.
            fx.push(Effect::Reply {
                conn,
                notice: Notice::Refused(Refusal::NotAllowed),
            });
            fx.push(Effect::Close { conn });
            return;
        }
        if !role.is_staff() && self.locked {
            fx.push(Effect::Reply {
                conn,
                notice: Notice::Refused(Refusal::Locked),
            });
            fx.push(Effect::Close { conn });
            return;
        }
        self.next_order += 1;
        let stage = if role.is_staff() {
            Stage::Admitted
        } else {
            Stage::Waiting {
                order: self.next_order,
            }
        };
        self.people.insert(
            id,
            Person {
                seat,
                role,
                name,
                stage,
                conn: Some(conn),
                lost_at: None,
                self_audio: true,
                self_video: true,
                forced_audio: false,
                forced_video: false,
                may_unmute: true,
                hand: None,
                in_media: false,
            },
        );
        fx.push(Effect::Attach { conn, who: id });
        if role.is_staff() {
            if role == Role::Facilitator && self.moderator.is_none() {
                self.moderator = Some(id);
            }
            fx.push(notify(id, Notice::Admitted { you: id }));
            fx.push(notify(
                id,
                Notice::ChatPolicy {
                    enabled: self.chat_enabled,
                },
            ));
            fx.push(notify(
                id,
                Notice::Locked {
                    locked: self.locked,
                },
            ));
            self.broadcast_roster(fx);
            self.send_waiting_list(fx);
        } else {
            fx.push(notify(id, Notice::Waiting));
            self.send_waiting_list(fx);
        }
    }

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
    }
}
