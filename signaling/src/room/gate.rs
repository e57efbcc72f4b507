//! The door: who may come in, and how. Every rule about arriving is in
//! [`Room::gate`], in the order it is applied, so it can be read (and
//! reviewed) in one place. Before a connection reaches the gate the server
//! has already checked, in this order (`http/door.rs`): the protocol
//! version, the link's token (unknown links are charged to their own rate
//! bucket, never to the real members' knock budget), the knock rate of the
//! network, the group agreement, the name, and that a session is open.
//! What happens after the gate (admission by a moderator, capacity) is in
//! `moderation.rs`.

use super::*;

/// One connection presenting itself at the door.
#[derive(Clone, Debug)]
pub struct Arrival {
    /// The connection.
    pub conn: ConnId,
    /// The identity for a new participant, if one is created.
    pub id: ParticipantId,
    /// Which door they used.
    pub seat: Seat,
    /// Staff role from the group, or `Member`.
    pub role: Role,
    /// The name they chose.
    pub name: DisplayName,
    /// The key this connection holds: one it kept from an earlier `welcome`,
    /// or a fresh one the server just gave it.
    pub key: ResumeKey,
    /// The page's end-to-end public key, if it sent one.
    pub public_key: Option<PublicKey>,
}

/// What the gate decides for one arrival.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Door {
    /// Turned away, with the reason; `close` ends the connection.
    Refused { why: Refusal, close: bool },
    /// The connection holds an occupant's key (or, for staff, their login):
    /// it takes over that participant, in whatever stage they are.
    Resume(ParticipantId),
    /// Staff go straight in.
    Enter,
    /// A member knocks and waits. `device_of`: somebody with the same
    /// personal link is already here, so this is a second device, or a
    /// stolen link; the facilitator is told and decides.
    Knock { device_of: Option<ParticipantId> },
}

/// What is refused for the rest of the session after a removal or a denial.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) enum Barred {
    /// A personal link.
    Link(LinkId),
    /// One connection's key (group-link members, and second devices on a
    /// personal link: denying a stranger must not lock out the link's owner).
    Key(ResumeKey),
}

impl Room {
    /// The admission gate.
    pub(super) fn gate(&self, a: &Arrival) -> Door {
        let refused = |why, close| Door::Refused { why, close };
        // 1. Nobody enters a session that is over.
        if self.ended {
            return refused(Refusal::Ended, true);
        }
        // 2. One connection speaks for one participant, for its lifetime.
        if self.participant_of(a.conn).is_some() {
            return refused(Refusal::NotAllowed, false);
        }
        // 3. Removed or denied this session: never again.
        let link_barred =
            matches!(a.seat, Seat::Personal(l) if self.blocked.contains(&Barred::Link(l)));
        if link_barred || self.blocked.contains(&Barred::Key(a.key.clone())) {
            return refused(Refusal::Blocked, true);
        }
        // 4. Coming back: the same door and the key handed out for it. A
        //    link alone never resumes anyone; staff are proven by their login.
        let occupant = self.people.iter().find(|(_, p)| {
            p.seat == a.seat && (matches!(a.seat, Seat::Staff(_)) || p.key.matches(&a.key))
        });
        if let Some((&id, _)) = occupant {
            return Door::Resume(id);
        }
        // 5. The server allocates fresh ids; a reused one is a server bug.
        if self.people.contains_key(&a.id) {
            return refused(Refusal::NotAllowed, true);
        }
        // 6. Staff enter directly, even when the room is locked.
        if a.role.is_staff() {
            return Door::Enter;
        }
        // 7. A locked room takes no new knocks.
        if self.locked {
            return refused(Refusal::Locked, true);
        }
        // 8. Everyone else knocks; a personal link already in use is flagged.
        let device_of = match a.seat {
            Seat::Personal(_) => self
                .people
                .iter()
                .find(|(_, p)| p.seat == a.seat)
                .map(|(id, _)| *id),
            _ => None,
        };
        Door::Knock { device_of }
    }

    /// Apply the gate's decision to an arrival.
    pub(super) fn enter(&mut self, a: Arrival, fx: &mut Vec<Effect>) {
        match self.gate(&a) {
            Door::Refused { why, close } => {
                fx.push(Effect::Reply {
                    conn: a.conn,
                    notice: Notice::Refused(why),
                });
                if close {
                    fx.push(Effect::Close { conn: a.conn });
                }
            }
            Door::Resume(id) => self.resume(id, a, fx),
            Door::Enter => {
                self.seat_new(a, Stage::Admitted, None, fx);
            }
            Door::Knock { device_of } => {
                self.next_order += 1;
                let stage = Stage::Waiting {
                    order: self.next_order,
                };
                self.seat_new(a, stage, device_of, fx);
            }
        }
    }

    fn seat_new(
        &mut self,
        a: Arrival,
        stage: Stage,
        device_of: Option<ParticipantId>,
        fx: &mut Vec<Effect>,
    ) {
        let id = a.id;
        self.people.insert(
            id,
            Person {
                seat: a.seat,
                key: a.key,
                device_of,
                role: a.role,
                name: a.name,
                stage,
                conn: Some(a.conn),
                lost_at: None,
                self_audio: true,
                self_video: true,
                forced_audio: false,
                forced_video: false,
                may_unmute: true,
                hand: None,
                in_media: false,
                trouble: (false, false),
                moment: None,
                away: false,
                public_key: a.public_key,
                restored: false,
            },
        );
        fx.push(Effect::Attach {
            conn: a.conn,
            who: id,
        });
        if stage == Stage::Admitted {
            if a.role == Role::Facilitator && self.moderator.is_none() {
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
            self.send_device_trouble(fx);
            if let Some(now) = self.clock {
                self.send_need_moment(now, fx);
            }
            if self.people[&id].role.is_staff() {
                self.send_clock(id, fx);
            }
            if self.round.is_some() {
                self.send_round(fx);
            }
            if self.side_room.is_some() {
                self.send_side_room(fx);
            }
        } else {
            fx.push(notify(id, Notice::Waiting));
            self.send_waiting_list(fx);
        }
    }

    /// A connection that proved it is `id` takes over from the old one.
    fn resume(&mut self, id: ParticipantId, a: Arrival, fx: &mut Vec<Effect>) {
        let conn = a.conn;
        let p = self.people.get_mut(&id).expect("found by the gate");
        // A new page has a new key pair (and holds no media key yet).
        p.public_key = a.public_key;
        // After a restart the room knows no names: the page says it again.
        if std::mem::take(&mut p.restored) {
            p.name = a.name;
        }
        if let Some(old) = p.conn.replace(conn) {
            fx.push(Effect::Close { conn: old });
        }
        p.lost_at = None;
        fx.push(Effect::Attach { conn, who: id });
        if p.in_media {
            // The old peer connection belongs to the old device/network.
            p.in_media = false;
            fx.push(Effect::MediaRemove { who: id });
        }
        let (stage, is_staff) = (p.stage, p.role.is_staff());
        match stage {
            Stage::Waiting { .. } => fx.push(notify(id, Notice::Waiting)),
            Stage::Admitted => {
                fx.push(notify(id, Notice::Admitted { you: id }));
                if self.moderator == Some(id) {
                    for other in self.admitted().into_iter().filter(|o| *o != id) {
                        fx.push(notify(other, Notice::FacilitatorAway { away: false }));
                    }
                }
                self.broadcast_roster(fx);
                if self.round.is_some() {
                    self.send_round(fx);
                }
                if self.side_room.is_some() {
                    self.send_side_room(fx);
                }
                if is_staff {
                    // The staff-only lists, which a new page does not have.
                    self.send_waiting_list(fx);
                    self.send_device_trouble(fx);
                    if let Some(now) = self.clock {
                        self.send_need_moment(now, fx);
                    }
                    self.send_clock(id, fx);
                }
            }
        }
    }

    /// What a removal or denial of this person bars for the session.
    pub(super) fn barred(p: &Person) -> Barred {
        match p.seat {
            Seat::Personal(link) if p.device_of.is_none() => Barred::Link(link),
            _ => Barred::Key(p.key.clone()),
        }
    }
}
