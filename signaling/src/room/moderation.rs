//! The facilitator's controls, and what members may do for themselves.

use super::*;

impl Room {
    /// Whether `by` moderates; if not, a refusal is queued.
    pub(super) fn moderates(&self, by: ParticipantId, fx: &mut Vec<Effect>) -> bool {
        let ok =
            self.moderator == Some(by) && self.people.get(&by).is_some_and(|p| p.conn.is_some());
        if !ok {
            fx.push(refuse(by, Refusal::NotAllowed));
        }
        ok
    }

    /// Admit one waiting member; false when the room is full.
    pub(super) fn admit(
        &mut self,
        by: ParticipantId,
        who: ParticipantId,
        fx: &mut Vec<Effect>,
    ) -> bool {
        if !self
            .people
            .get(&who)
            .is_some_and(|p| matches!(p.stage, Stage::Waiting { .. }))
        {
            fx.push(refuse(by, Refusal::NoSuchParticipant));
            return true;
        }
        // A second device on a personal link replaces whoever holds the link
        // now: one participant per link, and no seat for two devices.
        let replaced: Vec<ParticipantId> = self.same_link(who);
        let freed = replaced
            .iter()
            .filter(|id| {
                let p = &self.people[id];
                p.stage == Stage::Admitted && p.role == Role::Member
            })
            .count();
        if self.admitted_members().saturating_sub(freed) >= self.settings.capacity {
            fx.push(refuse(
                by,
                Refusal::Full {
                    capacity: self.settings.capacity,
                },
            ));
            return false;
        }
        let mut forced = None;
        for old in replaced {
            if let Some(p) = self.people.remove(&old) {
                if p.stage == Stage::Admitted {
                    // A facilitator's mute follows the person to the new device.
                    forced = Some((p.forced_audio, p.forced_video, p.may_unmute));
                }
                fx.push(notify(old, Notice::Replaced));
                self.departed(old, p, fx);
            }
        }
        let p = self.people.get_mut(&who).expect("checked");
        p.stage = Stage::Admitted;
        p.device_of = None;
        if let Some((audio, video, may_unmute)) = forced {
            (p.forced_audio, p.forced_video, p.may_unmute) = (audio, video, may_unmute);
        }
        let still_muted = (p.forced_audio || p.forced_video).then(|| p.forced_mute());
        fx.push(audit(AuditAction::Admitted, Some(by), who));
        fx.push(notify(who, Notice::Admitted { you: who }));
        fx.push(notify(
            who,
            Notice::ChatPolicy {
                enabled: self.chat_enabled,
            },
        ));
        if let Some(notice) = still_muted {
            fx.push(notify(who, notice));
        }
        self.broadcast_roster(fx);
        if self.round.is_some() {
            self.send_round(fx);
        }
        if self.side_room.is_some() {
            self.send_side_room(fx);
        }
        self.send_waiting_list(fx);
        true
    }

    /// Everyone else here on the same personal link as `who`.
    fn same_link(&self, who: ParticipantId) -> Vec<ParticipantId> {
        let Some(seat @ Seat::Personal(_)) = self.people.get(&who).map(|p| &p.seat) else {
            return Vec::new();
        };
        self.people
            .iter()
            .filter(|(id, p)| **id != who && p.seat == *seat)
            .map(|(id, _)| *id)
            .collect()
    }

    /// Bar a link or key for the rest of the session. Barring a link also
    /// turns away anyone else still here on it (a second device waiting).
    fn bar(&mut self, barred: gate::Barred, fx: &mut Vec<Effect>) {
        if let gate::Barred::Link(link) = &barred {
            let others: Vec<ParticipantId> = self
                .people
                .iter()
                .filter(|(_, p)| p.seat == Seat::Personal(*link))
                .map(|(id, _)| *id)
                .collect();
            for id in others {
                if let Some(p) = self.people.remove(&id) {
                    let notice = match p.stage {
                        Stage::Admitted => Notice::Removed,
                        Stage::Waiting { .. } => Notice::Denied,
                    };
                    fx.push(notify(id, notice));
                    self.departed(id, p, fx);
                }
            }
        }
        self.blocked.insert(barred);
    }

    pub(super) fn deny(&mut self, by: ParticipantId, who: ParticipantId, fx: &mut Vec<Effect>) {
        if !self
            .people
            .get(&who)
            .is_some_and(|p| matches!(p.stage, Stage::Waiting { .. }))
        {
            fx.push(refuse(by, Refusal::NoSuchParticipant));
            return;
        }
        let p = self.people.remove(&who).expect("checked");
        fx.push(audit(AuditAction::Denied, Some(by), who));
        fx.push(notify(who, Notice::Denied));
        let barred = Room::barred(&p);
        self.departed(who, p, fx);
        self.bar(barred, fx);
    }

    pub(super) fn remove(&mut self, by: ParticipantId, who: ParticipantId, fx: &mut Vec<Effect>) {
        if !self
            .people
            .get(&who)
            .is_some_and(|p| p.role == Role::Member)
        {
            fx.push(refuse(by, Refusal::NoSuchParticipant));
            return;
        }
        fx.push(notify(who, Notice::Removed));
        let p = self.people.remove(&who).expect("checked");
        fx.push(audit(AuditAction::Removed, Some(by), who));
        let barred = Room::barred(&p);
        self.departed(who, p, fx);
        self.bar(barred, fx);
    }

    pub(super) fn return_to_waiting(
        &mut self,
        by: ParticipantId,
        who: ParticipantId,
        fx: &mut Vec<Effect>,
    ) {
        let ok = self
            .people
            .get(&who)
            .is_some_and(|p| p.role == Role::Member && p.stage == Stage::Admitted);
        if !ok {
            fx.push(refuse(by, Refusal::NoSuchParticipant));
            return;
        }
        self.next_order += 1;
        let p = self.people.get_mut(&who).expect("checked");
        p.stage = Stage::Waiting {
            order: self.next_order,
        };
        p.hand = None;
        if p.in_media {
            p.in_media = false;
            fx.push(Effect::MediaRemove { who });
        }
        let had_trouble = p.trouble != (false, false);
        p.trouble = (false, false);
        let had_moment = p.moment.take().is_some();
        p.away = false;
        fx.push(audit(AuditAction::ReturnedToWaiting, Some(by), who));
        if had_trouble {
            self.send_device_trouble(fx);
        }
        if let (true, Some(now)) = (had_moment, self.clock) {
            self.send_need_moment(now, fx);
        }
        self.leaving_side_room(who, fx);
        if self.round.is_some() {
            self.send_round(fx);
        }
        fx.push(notify(who, Notice::ReturnedToWaiting));
        fx.push(notify(who, Notice::Waiting));
        self.broadcast_roster(fx);
        self.send_waiting_list(fx);
    }

    pub(super) fn mute(
        &mut self,
        by: ParticipantId,
        who: ParticipantId,
        audio: bool,
        video: bool,
        may_unmute: bool,
        fx: &mut Vec<Effect>,
    ) {
        let Some(p) = self
            .people
            .get_mut(&who)
            .filter(|p| p.stage == Stage::Admitted && p.role == Role::Member)
        else {
            fx.push(refuse(by, Refusal::NoSuchParticipant));
            return;
        };
        p.forced_audio = audio;
        p.forced_video = video;
        p.may_unmute = may_unmute;
        let (pa, pv) = p.publish();
        if p.in_media {
            fx.push(Effect::MediaPublish {
                who,
                audio: pa,
                video: pv,
            });
        }
        let notice = p.forced_mute();
        fx.push(audit(AuditAction::Muted, Some(by), who));
        fx.push(notify(who, notice));
        self.broadcast_roster(fx);
    }

    pub(super) fn self_media(
        &mut self,
        by: ParticipantId,
        audio: bool,
        video: bool,
        fx: &mut Vec<Effect>,
    ) {
        let Some(p) = self
            .people
            .get_mut(&by)
            .filter(|p| p.stage == Stage::Admitted)
        else {
            fx.push(refuse(by, Refusal::NotAllowed));
            return;
        };
        let unmuting = (audio && p.forced_audio) || (video && p.forced_video);
        if unmuting && !p.may_unmute {
            fx.push(refuse(by, Refusal::MutedByFacilitator));
            return;
        }
        if audio {
            p.forced_audio = false;
        }
        if video {
            p.forced_video = false;
        }
        p.self_audio = audio;
        p.self_video = video;
        let (pa, pv) = p.publish();
        if p.in_media {
            fx.push(Effect::MediaPublish {
                who: by,
                audio: pa,
                video: pv,
            });
        }
        self.broadcast_roster(fx);
    }

    pub(super) fn take_over(&mut self, by: ParticipantId, fx: &mut Vec<Effect>) {
        let Some(p) = self.people.get(&by) else {
            return;
        };
        if !p.role.capabilities().take_over && p.role != Role::Facilitator || p.conn.is_none() {
            fx.push(refuse(by, Refusal::NotAllowed));
            return;
        }
        let present = self
            .moderator
            .and_then(|m| self.people.get(&m))
            .is_some_and(|m| m.conn.is_some());
        if present {
            fx.push(refuse(by, Refusal::FacilitatorPresent));
            return;
        }
        self.moderator = Some(by);
        fx.push(audit(AuditAction::HandedOver, None, by));
        for other in self.admitted().into_iter().filter(|o| *o != by) {
            fx.push(notify(other, Notice::FacilitatorAway { away: false }));
        }
        self.broadcast_roster(fx);
        self.send_waiting_list(fx);
    }

    pub(super) fn chat(
        &mut self,
        by: ParticipantId,
        to: Option<ParticipantId>,
        text: ChatText,
        fx: &mut Vec<Effect>,
    ) {
        let Some(sender) = self.people.get(&by).filter(|p| p.stage == Stage::Admitted) else {
            fx.push(refuse(by, Refusal::NotAllowed));
            return;
        };
        if !self.chat_enabled && self.moderator != Some(by) {
            fx.push(refuse(by, Refusal::ChatOff));
            return;
        }
        match to {
            None => {
                // Never across the side room's wall.
                for id in self.admitted().into_iter().filter(|id| self.hears(by, *id)) {
                    fx.push(notify(
                        id,
                        Notice::Chat {
                            from: by,
                            private: false,
                            text: text.clone(),
                        },
                    ));
                }
            }
            Some(to) => {
                let recipient_ok = self.people.get(&to).is_some_and(|r| {
                    r.stage == Stage::Admitted
                        && to != by
                        && (sender.role.is_staff() || r.role.is_staff())
                }) && self.hears(by, to);
                if !recipient_ok {
                    fx.push(refuse(by, Refusal::NoSuchParticipant));
                    return;
                }
                fx.push(notify(
                    to,
                    Notice::Chat {
                        from: by,
                        private: true,
                        text: text.clone(),
                    },
                ));
                fx.push(notify(
                    by,
                    Notice::Chat {
                        from: by,
                        private: true,
                        text,
                    },
                ));
            }
        }
    }

    /// Who may end a session, over the WebSocket and over HTTP alike: the
    /// group's facilitator (`owner`, the account that owns the group), or
    /// whoever moderates it now (a co-facilitator after a hand-over or a
    /// take-over). A co-facilitator who does not moderate may not.
    pub fn may_end(&self, account: AccountId, owner: bool) -> bool {
        owner
            || self
                .moderator
                .and_then(|m| self.people.get(&m))
                .is_some_and(|p| p.seat == Seat::Staff(account) && p.conn.is_some())
    }

    /// Whether participant `by` may end the session (the same rule as
    /// [`Room::may_end`]); if not, a refusal is queued.
    pub(super) fn may_end_as(&self, by: ParticipantId, fx: &mut Vec<Effect>) -> bool {
        let owner = self
            .people
            .get(&by)
            .is_some_and(|p| p.role == Role::Facilitator && p.conn.is_some());
        owner || self.moderates(by, fx)
    }

    /// End the session from outside the room (the facilitator's console or
    /// the server shutting down); `by` is recorded in the audit log if known.
    pub fn end_now(&mut self, by: Option<ParticipantId>) -> Vec<Effect> {
        let mut fx = Vec::new();
        if !self.ended {
            self.end(by.unwrap_or(ParticipantId(0)), &mut fx);
        }
        fx
    }

    pub(super) fn end(&mut self, by: ParticipantId, fx: &mut Vec<Effect>) {
        self.ended = true;
        fx.push(audit(AuditAction::SessionEnded, Some(by), by));
        for (id, p) in std::mem::take(&mut self.people) {
            fx.push(notify(id, Notice::SessionEnded));
            if p.in_media {
                fx.push(Effect::MediaRemove { who: id });
            }
            if let Some(conn) = p.conn {
                fx.push(Effect::Close { conn });
            }
        }
        self.moderator = None;
        fx.push(Effect::RoomClosed);
    }
}
