//! The side room: a facilitator or co-facilitator takes one admitted member
//! aside. The two hear and see only each other; the group neither hears
//! nor sees them (the SFU stops routing between the two sides: it is not
//! left to the pages) and sees a neutral line; chat does not cross either.
//! Either facilitator ends it; it also ends when one of the two leaves.

use super::*;

#[derive(Debug, Clone, Copy)]
pub(super) struct SideRoom {
    host: ParticipantId,
    member: ParticipantId,
}

impl SideRoom {
    fn holds(&self, id: ParticipantId) -> bool {
        id == self.host || id == self.member
    }
}

impl Room {
    /// Whether `a` and `b` are on the same side (always, without a side
    /// room). Media and chat flow only between people on the same side.
    pub fn hears(&self, a: ParticipantId, b: ParticipantId) -> bool {
        self.side_room.is_none_or(|s| s.holds(a) == s.holds(b))
    }

    /// Staff `by` takes the admitted member `who` aside.
    pub(super) fn start_side_room(
        &mut self,
        by: ParticipantId,
        who: ParticipantId,
        fx: &mut Vec<Effect>,
    ) {
        let staff = self.staff().contains(&by);
        let member = self
            .people
            .get(&who)
            .is_some_and(|p| p.stage == Stage::Admitted && p.role == Role::Member);
        if !staff || self.side_room.is_some() {
            fx.push(refuse(by, Refusal::NotAllowed));
            return;
        }
        if !member {
            fx.push(refuse(by, Refusal::NoSuchParticipant));
            return;
        }
        self.side_room = Some(SideRoom {
            host: by,
            member: who,
        });
        self.route_sides(false, fx);
        self.send_side_room(fx);
    }

    /// Any staff member ends it: everyone hears everyone again.
    pub(super) fn end_side_room_by(&mut self, by: ParticipantId, fx: &mut Vec<Effect>) {
        let staff = self.staff().contains(&by);
        if !staff || self.side_room.is_none() {
            fx.push(refuse(by, Refusal::NotAllowed));
            return;
        }
        self.end_side_room(fx);
    }

    /// End it (also when one of the two leaves or is sent back).
    pub(super) fn end_side_room(&mut self, fx: &mut Vec<Effect>) {
        if self.side_room.is_none() {
            return;
        }
        self.route_sides(true, fx);
        self.side_room = None;
        self.send_side_room(fx);
    }

    /// If `who` is one of the two, the side room ends.
    pub(super) fn leaving_side_room(&mut self, who: ParticipantId, fx: &mut Vec<Effect>) {
        if self.side_room.is_some_and(|s| s.holds(who)) {
            self.end_side_room(fx);
        }
    }

    /// Tell the media plane to stop (or resume) routing between the sides,
    /// for everyone in it.
    fn route_sides(&self, receive: bool, fx: &mut Vec<Effect>) {
        let Some(s) = self.side_room else { return };
        let in_media: Vec<ParticipantId> = self
            .people
            .iter()
            .filter(|(_, p)| p.stage == Stage::Admitted && p.in_media)
            .map(|(id, _)| *id)
            .collect();
        for a in &in_media {
            for b in &in_media {
                if s.holds(*a) != s.holds(*b) {
                    fx.push(Effect::MediaRoute {
                        subscriber: *a,
                        publisher: *b,
                        receive,
                    });
                }
            }
        }
    }

    /// `who` just entered the media plane: keep the sides apart for it too.
    pub(super) fn route_newcomer(&self, who: ParticipantId, fx: &mut Vec<Effect>) {
        if self.side_room.is_none() {
            return;
        }
        for (id, p) in &self.people {
            if *id != who && p.stage == Stage::Admitted && p.in_media && !self.hears(who, *id) {
                fx.push(Effect::MediaRoute {
                    subscriber: who,
                    publisher: *id,
                    receive: false,
                });
                fx.push(Effect::MediaRoute {
                    subscriber: *id,
                    publisher: who,
                    receive: false,
                });
            }
        }
    }

    /// Everyone admitted learns who is in the side room (or that it ended);
    /// each page words it for its side.
    pub(super) fn send_side_room(&self, fx: &mut Vec<Effect>) {
        let pair = self.side_room.map(|s| (s.host, s.member));
        let wording = self.settings.stepped_out_notice.clone();
        for id in self.admitted() {
            fx.push(notify(
                id,
                Notice::SideRoom {
                    pair,
                    wording: wording.clone(),
                },
            ));
        }
    }
}
