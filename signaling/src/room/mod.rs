//! The room: a deterministic state machine, `Room::handle(now, Command) ->
//! Vec<Effect>`. No IO, no clock, no tokio, no serde: the server feeds it
//! commands and carries out its effects, and the tests drive it directly.
//!
//! It owns who is in the room and what they may do: roles, the waiting queue,
//! admission, capacity, lock, mute, removal and the blocked links, return to
//! waiting, raised hands, chat policy, reconnects and the end of the session.
//! Nobody is ever admitted except by a moderator's `Admit`/`AdmitAll`.

mod gate;
mod ids;
mod keys;
mod moderation;
mod moments;
mod presence;
mod resume;
mod rounds;
mod side_room;
mod types;
mod views;

use std::collections::{BTreeMap, HashSet};
use std::time::Instant;

pub use gate::Arrival;
pub use ids::{
    AccountId, Capabilities, ChatText, DisplayName, GroupId, LinkId, ParticipantId, ResumeKey,
    Role, RoomId, Seat, SlotIndex, TileView, MAX_ROOM_SIZE,
};
pub use keys::{KeyEpoch, PublicKey, WrappedKey, MAX_WRAPPED_KEY_CHARS};
pub use resume::{RoomSnapshot, SeatSnapshot};
pub use rounds::{RoundKind, RoundView};
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
    /// The secret that resumes this participant (see `gate.rs`).
    key: ResumeKey,
    /// Arrived on a personal link someone else here already held.
    device_of: Option<ParticipantId>,
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
    /// Microphone and camera stopped on the participant's device.
    trouble: (bool, bool),
    /// Since when this member has said "I need a moment" (staff see it).
    moment: Option<Instant>,
    /// Stepped away (camera and microphone off, the tile says so).
    away: bool,
    /// The page's end-to-end public key (absent: it gets no media key).
    public_key: Option<PublicKey>,
    /// Restored after a restart and not back yet: the name is a
    /// placeholder until their page says it again.
    restored: bool,
}

impl Person {
    /// What the facilitator's mute of this person is, to tell them.
    fn forced_mute(&self) -> Notice {
        Notice::ForcedMute {
            audio: self.forced_audio,
            video: self.forced_video,
            may_unmute: self.may_unmute,
        }
    }

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
    /// Links and keys removed or denied this session: never admitted again.
    blocked: HashSet<gate::Barred>,
    next_order: u64,
    /// The time of the latest command (for "since" in notices).
    clock: Option<Instant>,
    /// A round in progress.
    round: Option<rounds::Round>,
    /// When the session opened (its first command).
    opened: Option<Instant>,
    /// A member taken aside by a facilitator.
    side_room: Option<side_room::SideRoom>,
    /// Whom the last media key was made for (see `keys.rs`).
    keys: keys::KeyRing,
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
            clock: None,
            round: None,
            opened: None,
            side_room: None,
            keys: keys::KeyRing::default(),
        }
    }

    /// Members admitted now (including those reconnecting within grace).
    pub fn admitted_members(&self) -> usize {
        self.people
            .values()
            .filter(|p| p.stage == Stage::Admitted && p.role == Role::Member)
            .count()
    }

    /// Members waiting to be admitted (for the metrics; never sent to members).
    pub fn waiting_count(&self) -> usize {
        self.people
            .values()
            .filter(|p| matches!(p.stage, Stage::Waiting { .. }))
            .count()
    }

    /// Whether `id` is admitted.
    pub fn is_admitted(&self, id: ParticipantId) -> bool {
        self.people
            .get(&id)
            .is_some_and(|p| p.stage == Stage::Admitted)
    }

    /// Whether `id` has a connection now (not dropped and reconnecting).
    pub fn is_connected(&self, id: ParticipantId) -> bool {
        self.people.get(&id).is_some_and(|p| p.conn.is_some())
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

    /// Apply one command. Afterwards, whatever the command was, the key
    /// holder is asked for a new media key if who may listen has changed.
    pub fn handle(&mut self, now: Instant, command: Command) -> Vec<Effect> {
        let mut fx = self.apply(now, command);
        if !self.ended {
            self.ask_for_rotation(&mut fx);
        }
        fx
    }

    fn apply(&mut self, now: Instant, command: Command) -> Vec<Effect> {
        let mut fx = Vec::new();
        self.clock = Some(now);
        self.opened.get_or_insert(now);
        match command {
            // The gate also turns arrivals away from an ended session.
            Command::Enter(arrival) => self.enter(arrival, &mut fx),
            _ if self.ended => {}
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
                    // A second device on a link in use is decided person by
                    // person, never in bulk: admitting it replaces someone.
                    let ordinary: Vec<ParticipantId> = self
                        .waiting_in_order()
                        .into_iter()
                        .filter(|id| self.people[id].device_of.is_none())
                        .collect();
                    for who in ordinary {
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
                if self.may_end_as(by, &mut fx) {
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
            Command::DeliverKeys { by, epoch, wrapped } => {
                self.deliver_keys(by, epoch, wrapped, &mut fx)
            }
            Command::SideRoomStart { by, who } => self.start_side_room(by, who, &mut fx),
            Command::SideRoomEnd { by } => self.end_side_room_by(by, &mut fx),
            Command::RoundStart { by, kind } => self.start_round(by, kind, &mut fx),
            Command::RoundNext { by } => self.next_turn(by, &mut fx),
            Command::RoundPass { by } => self.pass_turn(by, &mut fx),
            Command::RoundEnd { by } => self.end_round(by, &mut fx),
            Command::NeedMoment { by, on } => self.need_moment(now, by, on, &mut fx),
            Command::StepAway { by, away } => self.step_away(by, away, &mut fx),
            Command::DeviceTrouble { by, mic, camera } => match self.people.get_mut(&by) {
                Some(p) if p.stage == Stage::Admitted => {
                    if p.trouble != (mic, camera) {
                        p.trouble = (mic, camera);
                        self.send_device_trouble(&mut fx);
                    }
                }
                _ => fx.push(refuse(by, Refusal::NotAllowed)),
            },
            // Only for someone in the media plane; a view sent just before
            // that (or after leaving it) is moot, not an error.
            Command::View { by, view } => {
                if self
                    .people
                    .get(&by)
                    .is_some_and(|p| p.stage == Stage::Admitted && p.in_media)
                {
                    fx.push(Effect::MediaView { who: by, view });
                }
            }
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
                    self.route_newcomer(by, &mut fx);
                }
                _ => fx.push(refuse(by, Refusal::NotAllowed)),
            },
        }
        fx
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
