//! Rounds: the facilitator opens a check-in, a check-out or a plain round;
//! everyone admitted sees the order and whose turn it is; "Next" (the
//! moderator) moves on, and the person whose turn it is may pass. People
//! who leave drop out of the order; the round ends after the last turn.
//! Raised hands are not touched.

use super::*;

/// What kind of round (for its title on every page).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RoundKind {
    /// At the start of a session.
    CheckIn,
    /// At the end.
    CheckOut,
    /// Any other turn-taking.
    Round,
}

/// A round in progress, as everyone admitted sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoundView {
    /// Check-in, check-out or round.
    pub kind: RoundKind,
    /// Who speaks, in order, and whether they passed.
    pub order: Vec<(ParticipantId, bool)>,
    /// Whose turn it is.
    pub current: ParticipantId,
}

#[derive(Debug)]
pub(super) struct Round {
    kind: RoundKind,
    order: Vec<ParticipantId>,
    /// Index into `order` of whose turn it is.
    turn: usize,
    passed: Vec<ParticipantId>,
}

impl Room {
    /// The moderator opens a round: members in order of arrival, then staff.
    pub(super) fn start_round(&mut self, by: ParticipantId, kind: RoundKind, fx: &mut Vec<Effect>) {
        if !self.moderates(by, fx) {
            return;
        }
        let admitted = self.admitted();
        let (mut order, staff): (Vec<ParticipantId>, Vec<ParticipantId>) = admitted
            .into_iter()
            .partition(|id| self.people[id].role == Role::Member);
        order.extend(staff);
        self.round = Some(Round {
            kind,
            order,
            turn: 0,
            passed: Vec::new(),
        });
        self.send_round(fx);
    }

    /// The moderator moves to the next person (the last "Next" ends it).
    pub(super) fn next_turn(&mut self, by: ParticipantId, fx: &mut Vec<Effect>) {
        if !self.moderates(by, fx) {
            return;
        }
        if let Some(r) = &mut self.round {
            r.turn += 1;
            self.send_round(fx);
        }
    }

    /// The person whose turn it is passes.
    pub(super) fn pass_turn(&mut self, by: ParticipantId, fx: &mut Vec<Effect>) {
        let current = self.round_view().map(|v| v.current);
        match (&mut self.round, current) {
            (Some(r), Some(c)) if c == by => {
                r.passed.push(by);
                r.turn += 1;
                self.send_round(fx);
            }
            _ => fx.push(refuse(by, Refusal::NotAllowed)),
        }
    }

    /// The moderator ends the round early.
    pub(super) fn end_round(&mut self, by: ParticipantId, fx: &mut Vec<Effect>) {
        if self.moderates(by, fx) && self.round.take().is_some() {
            self.send_round(fx);
        }
    }

    /// The round as it stands: absent people skipped; none when over.
    fn round_view(&self) -> Option<RoundView> {
        let r = self.round.as_ref()?;
        let here = |id: &ParticipantId| {
            self.people
                .get(id)
                .is_some_and(|p| p.stage == Stage::Admitted)
        };
        let current = *r.order.iter().skip(r.turn).find(|id| here(id))?;
        Some(RoundView {
            kind: r.kind,
            order: r
                .order
                .iter()
                .filter(|id| here(id))
                .map(|id| (*id, r.passed.contains(id)))
                .collect(),
            current,
        })
    }

    /// Tell everyone admitted (after any change, or someone arriving); a
    /// round whose turns are all taken is over.
    pub(super) fn send_round(&mut self, fx: &mut Vec<Effect>) {
        let view = self.round_view();
        if view.is_none() {
            self.round = None;
        }
        for id in self.admitted() {
            fx.push(notify(id, Notice::Round(view.clone())));
        }
    }
}
