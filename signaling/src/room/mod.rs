//! The room: a deterministic state machine, `Room::handle(now, Command) ->
//! Vec<Effect>`. No IO, no clock, no tokio, no serde: the server feeds it
//! commands and carries out its effects, and the tests drive it directly.
//!
//! It owns who is in the room and what they may do: roles, the waiting queue,
//! admission, capacity, lock, mute, removal and the blocked links, return to
//! waiting, raised hands, chat policy, reconnects and the end of the session.
//! Nobody is ever admitted except by a moderator's `Admit`/`AdmitAll`.

mod ids;
mod types;

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

pub use ids::{
    AccountId, Capabilities, ChatText, DisplayName, GroupId, LinkId, ParticipantId, Role, RoomId,
    Seat,
};
pub use types::{
    AuditAction, Command, ConnId, Effect, Notice, Refusal, RoomSettings, RosterEntry, WaitingEntry,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Knocked; `order` is the arrival order.
    Waiting {
        order: u64,
    },
    Admitted,
}

#[derive(Debug)]
struct Person {
    seat: Seat,
    role: Role,
    name: DisplayName,
    stage: Stage,
    conn: Option<ConnId>,
    /// When the connection dropped (for the reconnect grace).
    lost_at: Option<Instant>,
    self_audio: bool,
    self_video: bool,
    forced_audio: bool,
    forced_video: bool,
    may_unmute: bool,
    hand: Option<u64>,
    in_media: bool,
}

impl Person {
    fn publish(&self) -> (bool, bool) {
        (
            self.self_audio && !self.forced_audio,
            self.self_video && !self.forced_video,
        )
    }
}

/// One session of one group.
#[derive(Debug)]
pub struct Room {
    settings: RoomSettings,
    people: BTreeMap<ParticipantId, Person>,
    /// Who runs the room now (admits, mutes, ends).
    moderator: Option<ParticipantId>,
    locked: bool,
    chat_enabled: bool,
    ended: bool,
    /// Seats removed or denied this session: never admitted again.
    blocked: HashSet<Seat>,
    next_order: u64,
}

impl Room {
    /// An open room with nobody in it.
    pub fn new(settings: RoomSettings) -> Self {
        Self {
            settings,
            people: BTreeMap::new(),
            moderator: None,
            locked: false,
            chat_enabled: true,
            ended: false,
            blocked: HashSet::new(),
            next_order: 0,
        }
    }

    /// Members admitted now (including those reconnecting within grace).
    pub fn admitted_members(&self) -> usize {
        self.people
            .values()
            .filter(|p| p.stage == Stage::Admitted && p.role == Role::Member)
            .count()
    }

    /// Whether `id` is admitted.
    pub fn is_admitted(&self, id: ParticipantId) -> bool {
        self.people
            .get(&id)
            .is_some_and(|p| p.stage == Stage::Admitted)
    }

    /// Whether the session has ended.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// The participant a connection speaks for.
    pub fn participant_of(&self, conn: ConnId) -> Option<ParticipantId> {
        self.people
            .iter()
            .find(|(_, p)| p.conn == Some(conn))
            .map(|(id, _)| *id)
    }

    /// Who moderates now.
    pub fn moderator(&self) -> Option<ParticipantId> {
        self.moderator
    }

    /// The next time `Tick` has work, if any.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.people
            .values()
            .filter_map(|p| p.lost_at)
            .min()
            .map(|t| t + self.settings.reconnect_grace)
    }

    /// Apply one command.
    pub fn handle(&mut self, now: Instant, command: Command) -> Vec<Effect> {
        let mut fx = Vec::new();
        if self.ended {
            if let Command::Enter { conn, .. } = command {
                fx.push(Effect::Reply {
                    conn,
                    notice: Notice::Refused(Refusal::Ended),
                });
                fx.push(Effect::Close { conn });
            }
            return fx;
        }
        match command {
            Command::Enter {
                conn,
                id,
                seat,
                role,
                name,
            } => self.enter(conn, id, seat, role, name, &mut fx),
            Command::ConnectionLost { conn } => self.connection_lost(now, conn, &mut fx),
            Command::Tick => self.tick(now, &mut fx),
            Command::Leave { by } => self.depart(by, &mut fx),
            Command::Admit { by, who } => {
                if self.moderates(by, &mut fx) {
                    self.admit(by, who, &mut fx);
                }
            }
            Command::AdmitAll { by } => {
                if self.moderates(by, &mut fx) {
                    for who in self.waiting_in_order() {
                        if !self.admit(by, who, &mut fx) {
                            break;
                        }
                    }
                }
            }
            Command::Deny { by, who } => {
                if self.moderates(by, &mut fx) {
                    self.deny(by, who, &mut fx);
                }
            }
            Command::MessageWaiting { by, who, text } => {
                if self.moderates(by, &mut fx) {
                    match self.people.get(&who) {
                        Some(p) if matches!(p.stage, Stage::Waiting { .. }) => {
                            fx.push(notify(who, Notice::FacilitatorMessage { text }));
                        }
                        _ => fx.push(refuse(by, Refusal::NoSuchParticipant)),
                    }
                }
            }
            Command::Mute {
                by,
                who,
                audio,
                video,
                may_unmute,
            } => {
                if self.moderates(by, &mut fx) {
                    self.mute(by, who, audio, video, may_unmute, &mut fx);
                }
            }
            Command::Remove { by, who } => {
                if self.moderates(by, &mut fx) {
                    self.remove(by, who, &mut fx);
                }
            }
            Command::ReturnToWaiting { by, who } => {
                if self.moderates(by, &mut fx) {
                    self.return_to_waiting(by, who, &mut fx);
                }
            }
            Command::Lock { by, locked } => {
                if self.moderates(by, &mut fx) {
                    self.locked = locked;
                    for staff in self.staff() {
                        fx.push(notify(staff, Notice::Locked { locked }));
                    }
                }
            }
            Command::End { by } => {
                if self.moderates(by, &mut fx) {
                    self.end(by, &mut fx);
                }
            }
            Command::HandOver { by, to } => {
                if self.moderates(by, &mut fx) {
                    let ok = self
                        .people
                        .get(&to)
                        .is_some_and(|p| p.role.is_staff() && p.conn.is_some() && to != by);
                    if ok {
                        self.moderator = Some(to);
                        fx.push(audit(AuditAction::HandedOver, Some(by), to));
                        self.broadcast_roster(&mut fx);
                        self.send_waiting_list(&mut fx);
                    } else {
                        fx.push(refuse(by, Refusal::NoSuchParticipant));
                    }
                }
            }
            Command::TakeOver { by } => self.take_over(by, &mut fx),
            Command::SetChat { by, enabled } => {
                if self.moderates(by, &mut fx) {
                    self.chat_enabled = enabled;
                    for id in self.admitted() {
                        fx.push(notify(id, Notice::ChatPolicy { enabled }));
                    }
                }
            }
            Command::SelfMedia { by, audio, video } => self.self_media(by, audio, video, &mut fx),
            Command::RaiseHand { by, raised } => {
                if self.is_admitted(by) {
                    let order = &mut self.next_order;
                    let p = self.people.get_mut(&by).expect("admitted");
                    match (raised, p.hand) {
                        (true, None) => {
                            *order += 1;
                            p.hand = Some(*order);
                        }
                        (false, Some(_)) => p.hand = None,
                        _ => return fx,
                    }
                    self.broadcast_roster(&mut fx);
                } else {
                    fx.push(refuse(by, Refusal::NotAllowed));
                }
            }
            Command::Chat { by, to, text } => self.chat(by, to, text, &mut fx),
            Command::Offer { by, sdp } => match self.people.get_mut(&by) {
                Some(p) if p.stage == Stage::Admitted && p.conn.is_some() => {
                    if p.in_media {
                        fx.push(Effect::MediaRemove { who: by });
                    }
                    p.in_media = true;
                    let (audio, video) = p.publish();
                    fx.push(Effect::MediaAdd { who: by, sdp });
                    fx.push(Effect::MediaPublish {
                        who: by,
                        audio,
                        video,
                    });
                }
                _ => fx.push(refuse(by, Refusal::NotAllowed)),
            },
        }
        fx
    }

    fn enter(
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

    fn connection_lost(&mut self, now: Instant, conn: ConnId, fx: &mut Vec<Effect>) {
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

    fn tick(&mut self, now: Instant, fx: &mut Vec<Effect>) {
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
    fn depart(&mut self, id: ParticipantId, fx: &mut Vec<Effect>) {
        if let Some(p) = self.people.remove(&id) {
            self.departed(id, p, fx);
        }
    }

    /// What follows from `id` leaving; `p` is already out of the room.
    fn departed(&mut self, id: ParticipantId, p: Person, fx: &mut Vec<Effect>) {
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

    /// Whether `by` moderates; if not, a refusal is queued.
    fn moderates(&self, by: ParticipantId, fx: &mut Vec<Effect>) -> bool {
        let ok =
            self.moderator == Some(by) && self.people.get(&by).is_some_and(|p| p.conn.is_some());
        if !ok {
            fx.push(refuse(by, Refusal::NotAllowed));
        }
        ok
    }

    /// Admit one waiting member; false when the room is full.
    fn admit(&mut self, by: ParticipantId, who: ParticipantId, fx: &mut Vec<Effect>) -> bool {
        if !self
            .people
            .get(&who)
            .is_some_and(|p| matches!(p.stage, Stage::Waiting { .. }))
        {
            fx.push(refuse(by, Refusal::NoSuchParticipant));
            return true;
        }
        if self.admitted_members() >= self.settings.capacity {
            fx.push(refuse(
                by,
                Refusal::Full {
                    capacity: self.settings.capacity,
                },
            ));
            return false;
        }
        self.people.get_mut(&who).expect("checked").stage = Stage::Admitted;
        fx.push(audit(AuditAction::Admitted, Some(by), who));
        fx.push(notify(who, Notice::Admitted { you: who }));
        fx.push(notify(
            who,
            Notice::ChatPolicy {
                enabled: self.chat_enabled,
            },
        ));
        self.broadcast_roster(fx);
        self.send_waiting_list(fx);
        true
    }

    fn deny(&mut self, by: ParticipantId, who: ParticipantId, fx: &mut Vec<Effect>) {
        if !self
            .people
            .get(&who)
            .is_some_and(|p| matches!(p.stage, Stage::Waiting { .. }))
        {
            fx.push(refuse(by, Refusal::NoSuchParticipant));
            return;
        }
        let p = self.people.remove(&who).expect("checked");
        self.blocked.insert(p.seat);
        fx.push(audit(AuditAction::Denied, Some(by), who));
        fx.push(notify(who, Notice::Denied));
        if let Some(conn) = p.conn {
            fx.push(Effect::Close { conn });
        }
        self.send_waiting_list(fx);
    }

    fn remove(&mut self, by: ParticipantId, who: ParticipantId, fx: &mut Vec<Effect>) {
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
        self.blocked.insert(p.seat);
        fx.push(audit(AuditAction::Removed, Some(by), who));
        if p.in_media {
            fx.push(Effect::MediaRemove { who });
        }
        if let Some(conn) = p.conn {
            fx.push(Effect::Close { conn });
        }
        match p.stage {
            Stage::Admitted => self.broadcast_roster(fx),
            Stage::Waiting { .. } => self.send_waiting_list(fx),
        }
    }

    fn return_to_waiting(&mut self, by: ParticipantId, who: ParticipantId, fx: &mut Vec<Effect>) {
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
        fx.push(audit(AuditAction::ReturnedToWaiting, Some(by), who));
        fx.push(notify(who, Notice::ReturnedToWaiting));
        fx.push(notify(who, Notice::Waiting));
        self.broadcast_roster(fx);
        self.send_waiting_list(fx);
    }

    fn mute(
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
        fx.push(audit(AuditAction::Muted, Some(by), who));
        fx.push(notify(
            who,
            Notice::ForcedMute {
                audio,
                video,
                may_unmute,
            },
        ));
        self.broadcast_roster(fx);
    }

    fn self_media(&mut self, by: ParticipantId, audio: bool, video: bool, fx: &mut Vec<Effect>) {
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

    fn take_over(&mut self, by: ParticipantId, fx: &mut Vec<Effect>) {
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

    fn chat(
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
                for id in self.admitted() {
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
                });
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

    /// End the session from outside the room (the facilitator's console or
    /// the server shutting down); `by` is recorded in the audit log if known.
    pub fn end_now(&mut self, by: Option<ParticipantId>) -> Vec<Effect> {
        let mut fx = Vec::new();
        if !self.ended {
            self.end(by.unwrap_or(ParticipantId(0)), &mut fx);
        }
        fx
    }

    fn end(&mut self, by: ParticipantId, fx: &mut Vec<Effect>) {
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

    fn admitted(&self) -> Vec<ParticipantId> {
        self.people
            .iter()
            .filter(|(_, p)| p.stage == Stage::Admitted)
            .map(|(id, _)| *id)
            .collect()
    }

    fn staff(&self) -> Vec<ParticipantId> {
        self.people
            .iter()
            .filter(|(_, p)| p.stage == Stage::Admitted && p.role.is_staff())
            .map(|(id, _)| *id)
            .collect()
    }

    fn waiting_in_order(&self) -> Vec<ParticipantId> {
        let mut w: Vec<(u64, ParticipantId)> = self
            .people
            .iter()
            .filter_map(|(id, p)| match p.stage {
                Stage::Waiting { order } => Some((order, *id)),
                Stage::Admitted => None,
            })
            .collect();
        w.sort();
        w.into_iter().map(|(_, id)| id).collect()
    }

    /// The roster, to every admitted participant.
    fn broadcast_roster(&self, fx: &mut Vec<Effect>) {
        let mut hands: Vec<u64> = self.people.values().filter_map(|p| p.hand).collect();
        hands.sort();
        let roster: Vec<RosterEntry> = self
            .people
            .iter()
            .filter(|(_, p)| p.stage == Stage::Admitted)
            .map(|(id, p)| {
                let (audio, video) = p.publish();
                RosterEntry {
                    id: *id,
                    name: p.name.clone(),
                    role: p.role,
                    moderator: self.moderator == Some(*id),
                    audio,
                    video,
                    muted_by_facilitator: p.forced_audio || p.forced_video,
                    hand: p
                        .hand
                        .and_then(|h| hands.iter().position(|x| *x == h))
                        .map(|i| i as u32 + 1),
                    connected: p.conn.is_some(),
                }
            })
            .collect();
        for id in self.admitted() {
            fx.push(notify(id, Notice::Roster(roster.clone())));
        }
    }

    /// The waiting list, to staff only.
    fn send_waiting_list(&self, fx: &mut Vec<Effect>) {
        let list: Vec<WaitingEntry> = self
            .waiting_in_order()
            .into_iter()
            .map(|id| {
                let p = &self.people[&id];
                WaitingEntry {
                    id,
                    name: p.name.clone(),
                    known: p.seat.is_known(),
                }
            })
            .collect();
        for staff in self.staff() {
            fx.push(notify(staff, Notice::WaitingList(list.clone())));
        }
    }
}

fn notify(to: ParticipantId, notice: Notice) -> Effect {
    Effect::Notify { to, notice }
}

fn refuse(to: ParticipantId, why: Refusal) -> Effect {
    Effect::Notify {
        to,
        notice: Notice::Refused(why),
    }
}

fn audit(action: AuditAction, actor: Option<ParticipantId>, subject: ParticipantId) -> Effect {
    Effect::Audit {
        action,
        actor,
        subject,
    }
}

#[cfg(test)]
mod tests;
