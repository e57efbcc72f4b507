//! What a room keeps across a restart of the server (a crash, an upgrade):
//! who holds which seat, their roles, the waiting order, admissions, locks,
//! mutes and blocks, and the hashes of resume keys. Nothing else: no names
//! (each page says its name again when it reconnects), no chat, no hands,
//! rounds, side rooms or "I need a moment". The server writes it to disk
//! after every change (`live/resume_file.rs`) and restores the room from it
//! at start; everyone is then reconnecting, with the usual grace.

use super::*;

/// One participant as a restart needs them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeatSnapshot {
    /// Participant id.
    pub id: ParticipantId,
    /// The door they came by.
    pub seat: Seat,
    /// The hash of their resume key.
    pub key: ResumeKey,
    /// The participant already on the same personal link, if any.
    pub device_of: Option<ParticipantId>,
    /// Role.
    pub role: Role,
    /// Their place in the waiting order, or none when admitted.
    pub waiting: Option<u64>,
    /// Microphone and camera on (their own choice).
    pub self_media: (bool, bool),
    /// Microphone and camera muted by a facilitator.
    pub forced: (bool, bool),
    /// Whether they may unmute themselves.
    pub may_unmute: bool,
    /// Stepped away.
    pub away: bool,
}

/// A room as a restart needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoomSnapshot {
    /// Everyone, admitted or waiting.
    pub people: Vec<SeatSnapshot>,
    /// Who moderates.
    pub moderator: Option<ParticipantId>,
    /// Locked (no new knocks).
    pub locked: bool,
    /// Chat allowed.
    pub chat_enabled: bool,
    /// Personal links removed or denied this session.
    pub blocked_links: Vec<LinkId>,
    /// Keys removed or denied this session (hashes).
    pub blocked_keys: Vec<ResumeKey>,
    /// The last waiting-order number handed out.
    pub next_order: u64,
    /// The last media-key epoch asked for: pages refuse a key that is not
    /// newer than the one they hold, so epochs go on rising across restarts.
    pub key_epoch: KeyEpoch,
}

impl Room {
    /// What a restart needs of this room now.
    pub fn snapshot(&self) -> RoomSnapshot {
        let mut blocked_links = Vec::new();
        let mut blocked_keys = Vec::new();
        for b in &self.blocked {
            match b {
                gate::Barred::Link(l) => blocked_links.push(*l),
                gate::Barred::Key(k) => blocked_keys.push(k.clone()),
            }
        }
        blocked_links.sort();
        blocked_keys.sort_by_key(|k| k.digest());
        RoomSnapshot {
            people: self
                .people
                .iter()
                .map(|(id, p)| SeatSnapshot {
                    id: *id,
                    seat: p.seat.clone(),
                    key: p.key.clone(),
                    device_of: p.device_of,
                    role: p.role,
                    waiting: match p.stage {
                        Stage::Waiting { order } => Some(order),
                        Stage::Admitted => None,
                    },
                    self_media: (p.self_audio, p.self_video),
                    forced: (p.forced_audio, p.forced_video),
                    may_unmute: p.may_unmute,
                    away: p.away,
                })
                .collect(),
            moderator: self.moderator,
            locked: self.locked,
            chat_enabled: self.chat_enabled,
            blocked_links,
            blocked_keys,
            next_order: self.next_order,
            key_epoch: self.keys.epoch(),
        }
    }

    /// The room of a snapshot, at `now`, opened at `opened`: everyone is
    /// reconnecting (their grace runs from `now`) under a placeholder name
    /// until their page says its name again.
    pub fn restore(
        settings: RoomSettings,
        snapshot: RoomSnapshot,
        opened: Instant,
        now: Instant,
    ) -> Self {
        let mut room = Room::new(settings);
        room.opened = Some(opened);
        room.clock = Some(now);
        room.moderator = snapshot.moderator;
        room.locked = snapshot.locked;
        room.chat_enabled = snapshot.chat_enabled;
        room.next_order = snapshot.next_order;
        room.keys = keys::KeyRing::from_epoch(snapshot.key_epoch);
        room.blocked = snapshot
            .blocked_links
            .into_iter()
            .map(gate::Barred::Link)
            .chain(snapshot.blocked_keys.into_iter().map(gate::Barred::Key))
            .collect();
        let placeholder = DisplayName::parse("…").expect("a valid name");
        for s in snapshot.people {
            room.people.insert(
                s.id,
                Person {
                    seat: s.seat,
                    key: s.key,
                    device_of: s.device_of,
                    role: s.role,
                    name: placeholder.clone(),
                    stage: s
                        .waiting
                        .map_or(Stage::Admitted, |order| Stage::Waiting { order }),
                    conn: None,
                    lost_at: Some(now),
                    self_audio: s.self_media.0,
                    self_video: s.self_media.1,
                    forced_audio: s.forced.0,
                    forced_video: s.forced.1,
                    may_unmute: s.may_unmute,
                    hand: None,
                    in_media: false,
                    trouble: (false, false),
                    moment: None,
                    away: s.away,
                    public_key: None,
                    restored: true,
                },
            );
        }
        room
    }

    /// The highest participant id in the room (a restarted server hands
    /// out ids above it).
    pub fn highest_id(&self) -> Option<ParticipantId> {
        self.people.keys().next_back().copied()
    }
}
