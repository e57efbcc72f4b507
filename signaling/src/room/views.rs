//! What participants are shown: the roster and the waiting list.

use super::*;

impl Room {
    pub(super) fn admitted(&self) -> Vec<ParticipantId> {
        self.people
            .iter()
            .filter(|(_, p)| p.stage == Stage::Admitted)
            .map(|(id, _)| *id)
            .collect()
    }

    pub(super) fn staff(&self) -> Vec<ParticipantId> {
        self.people
            .iter()
            .filter(|(_, p)| p.stage == Stage::Admitted && p.role.is_staff())
            .map(|(id, _)| *id)
            .collect()
    }

    pub(super) fn waiting_in_order(&self) -> Vec<ParticipantId> {
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
    pub(super) fn broadcast_roster(&self, fx: &mut Vec<Effect>) {
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
                    away: p.away,
                }
            })
            .collect();
        for id in self.admitted() {
            fx.push(notify(id, Notice::Roster(roster.clone())));
        }
    }

    /// The waiting list, to staff only.
    pub(super) fn send_waiting_list(&self, fx: &mut Vec<Effect>) {
        let list: Vec<WaitingEntry> = self
            .waiting_in_order()
            .into_iter()
            .map(|id| {
                let p = &self.people[&id];
                WaitingEntry {
                    id,
                    name: p.name.clone(),
                    known: p.seat.is_known(),
                    device_of: p.device_of.filter(|d| self.people.contains_key(d)),
                }
            })
            .collect();
        for staff in self.staff() {
            fx.push(notify(staff, Notice::WaitingList(list.clone())));
        }
    }

    /// Whose devices stopped, to staff only: an icon in the console, never
    /// shown to the other members.
    pub(super) fn send_device_trouble(&self, fx: &mut Vec<Effect>) {
        let list: Vec<(ParticipantId, bool, bool)> = self
            .people
            .iter()
            .filter(|(_, p)| p.stage == Stage::Admitted && (p.trouble.0 || p.trouble.1))
            .map(|(id, p)| (*id, p.trouble.0, p.trouble.1))
            .collect();
        for staff in self.staff() {
            fx.push(notify(staff, Notice::DeviceTrouble(list.clone())));
        }
    }
}
