//! The room's forwarding table: for every subscriber and each of its slots,
//! whom the slot carries, which layer of that publisher the layer choice
//! wants there, and which layer is forwarded now.
//!
//! It is the one place where slots and layers change. The participants keep
//! only what belongs to their own connection for each slot (its m-lines, the
//! sequence rewriters, the redundancy history), under the same slot index;
//! the room changes the table and tells the subscriber's connection what
//! follows (a stream restarts when its slot changes hands).

use std::collections::BTreeMap;

use super::layers::{Choice, Layer, LAYERS};
use crate::ids::ParticipantId;

/// One slot of one subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Whom the slot carries.
    pub publisher: Option<ParticipantId>,
    /// What the layer choice wants on it. A slot just occupied wants the
    /// lowest layer: the picture appears on the publisher's first keyframe
    /// and the next decision moves it.
    pub target: Choice,
    /// The publisher's layer forwarded now (`None` until a keyframe of the
    /// wanted layer starts it, and while paused).
    pub forwarding: Option<Layer>,
}

impl Entry {
    const EMPTY: Entry = Entry {
        publisher: None,
        target: Choice::Layer(Layer::LOW),
        forwarding: None,
    };
}

/// Subscriber × slot → publisher, wanted layer, forwarded layer.
#[derive(Debug, Default)]
pub struct ForwardingTable {
    rows: BTreeMap<ParticipantId, Vec<Entry>>,
}

impl ForwardingTable {
    /// A subscriber with `slots` empty slots.
    pub fn add_subscriber(&mut self, subscriber: ParticipantId, slots: usize) {
        self.rows.insert(subscriber, vec![Entry::EMPTY; slots]);
    }

    /// Forget a subscriber, and empty every slot that carried it; returns
    /// those slots (subscriber, index).
    pub fn remove(&mut self, participant: ParticipantId) -> Vec<(ParticipantId, usize)> {
        self.rows.remove(&participant);
        let emptied: Vec<(ParticipantId, usize)> = self.subscribers_of(participant).collect();
        for (sub, idx) in &emptied {
            self.occupy(*sub, *idx, None);
        }
        emptied
    }

    /// One slot, if the subscriber and the slot exist.
    pub fn entry(&self, subscriber: ParticipantId, idx: usize) -> Option<Entry> {
        self.rows.get(&subscriber)?.get(idx).copied()
    }

    /// The slot of `subscriber` that carries `publisher`, and its entry
    /// (one lookup: this is on the path of every forwarded packet).
    pub fn find(
        &self,
        subscriber: ParticipantId,
        publisher: ParticipantId,
    ) -> Option<(usize, Entry)> {
        self.rows
            .get(&subscriber)?
            .iter()
            .enumerate()
            .find(|(_, e)| e.publisher == Some(publisher))
            .map(|(i, e)| (i, *e))
    }

    /// The slot of `subscriber` that carries `publisher`.
    pub fn slot_of(&self, subscriber: ParticipantId, publisher: ParticipantId) -> Option<usize> {
        self.find(subscriber, publisher).map(|(idx, _)| idx)
    }

    /// Every (subscriber, slot) that carries `publisher`.
    pub fn subscribers_of(
        &self,
        publisher: ParticipantId,
    ) -> impl Iterator<Item = (ParticipantId, usize)> + '_ {
        self.rows.iter().flat_map(move |(sub, row)| {
            row.iter()
                .enumerate()
                .filter(move |(_, e)| e.publisher == Some(publisher))
                .map(move |(i, _)| (*sub, i))
        })
    }

    /// The occupied slots of `subscriber`: (index, publisher).
    pub fn occupied(&self, subscriber: ParticipantId) -> Vec<(usize, ParticipantId)> {
        self.rows.get(&subscriber).map_or_else(Vec::new, |row| {
            row.iter()
                .enumerate()
                .filter_map(|(i, e)| e.publisher.map(|p| (i, p)))
                .collect()
        })
    }

    /// The first empty slot of `subscriber` among those `usable` allows.
    pub fn free_slot(
        &self,
        subscriber: ParticipantId,
        usable: impl Fn(usize) -> bool,
    ) -> Option<usize> {
        self.rows
            .get(&subscriber)?
            .iter()
            .enumerate()
            .position(|(i, e)| e.publisher.is_none() && usable(i))
    }

    /// Put `publisher` (or nobody) in a slot: it starts afresh (lowest
    /// layer wanted, nothing forwarded until a keyframe).
    pub fn occupy(
        &mut self,
        subscriber: ParticipantId,
        idx: usize,
        publisher: Option<ParticipantId>,
    ) {
        if let Some(e) = self.rows.get_mut(&subscriber).and_then(|r| r.get_mut(idx)) {
            *e = Entry {
                publisher,
                ..Entry::EMPTY
            };
        }
    }

    /// The layer choice for a slot changed. A pause stops what it forwards.
    pub fn want(&mut self, subscriber: ParticipantId, idx: usize, target: Choice) {
        if let Some(e) = self.rows.get_mut(&subscriber).and_then(|r| r.get_mut(idx)) {
            e.target = target;
            if target == Choice::Paused {
                e.forwarding = None;
            }
        }
    }

    /// A keyframe of `layer` started on the slot: it forwards that layer now.
    pub fn switched(&mut self, subscriber: ParticipantId, idx: usize, layer: Layer) {
        if let Some(e) = self.rows.get_mut(&subscriber).and_then(|r| r.get_mut(idx)) {
            e.forwarding = Some(layer);
        }
    }

    /// The layers of `publisher` that some slot wants or still forwards
    /// (indexed by layer, lowest first): the others need not be sent.
    pub fn kept_layers(&self, publisher: ParticipantId) -> [bool; LAYERS] {
        let mut kept = [false; LAYERS];
        for e in self.rows.values().flatten() {
            if e.publisher != Some(publisher) {
                continue;
            }
            if let Choice::Layer(l) = e.target {
                kept[l.index()] = true;
            }
            if let Some(l) = e.forwarding {
                kept[l.index()] = true;
            }
        }
        kept
    }

    /// How many slots in the room carry `publisher`.
    pub fn slots_naming(&self, publisher: ParticipantId) -> usize {
        self.subscribers_of(publisher).count()
    }

    /// How many slots in the room carry anyone.
    pub fn occupied_slots(&self) -> usize {
        self.rows
            .values()
            .flatten()
            .filter(|e| e.publisher.is_some())
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: ParticipantId = ParticipantId(1);
    const B: ParticipantId = ParticipantId(2);
    const C: ParticipantId = ParticipantId(3);

    #[test]
    fn a_slot_changing_hands_starts_afresh() {
        let mut t = ForwardingTable::default();
        t.add_subscriber(A, 2);
        t.occupy(A, 0, Some(B));
        t.want(A, 0, Choice::Layer(Layer::HIGH));
        t.switched(A, 0, Layer::HIGH);
        t.occupy(A, 0, Some(C));
        assert_eq!(
            t.entry(A, 0),
            Some(Entry {
                publisher: Some(C),
                target: Choice::Layer(Layer::LOW),
                forwarding: None
            })
        );
    }

    #[test]
    fn a_pause_stops_what_the_slot_forwards() {
        let mut t = ForwardingTable::default();
        t.add_subscriber(A, 1);
        t.occupy(A, 0, Some(B));
        t.switched(A, 0, Layer::MID);
        t.want(A, 0, Choice::Paused);
        assert_eq!(t.entry(A, 0).unwrap().forwarding, None);
    }

    #[test]
    fn kept_layers_are_those_wanted_or_still_forwarded() {
        let mut t = ForwardingTable::default();
        for p in [A, B, C] {
            t.add_subscriber(p, 2);
        }
        t.occupy(A, 0, Some(C));
        t.occupy(B, 1, Some(C));
        t.want(A, 0, Choice::Layer(Layer::HIGH));
        t.switched(A, 0, Layer::HIGH);
        // B switches down: the old layer is kept until the new one starts.
        t.switched(B, 1, Layer::MID);
        t.want(B, 1, Choice::Layer(Layer::LOW));
        assert_eq!(t.kept_layers(C), [true, true, true]);
        t.switched(B, 1, Layer::LOW);
        assert_eq!(t.kept_layers(C), [true, false, true]);
        t.want(B, 1, Choice::Paused);
        t.want(A, 0, Choice::Paused);
        assert_eq!(t.kept_layers(C), [false; LAYERS]);
        assert_eq!(t.kept_layers(A), [false; LAYERS]);
    }

    #[test]
    fn a_departure_empties_its_slots_everywhere_and_its_own_row() {
        let mut t = ForwardingTable::default();
        for p in [A, B, C] {
            t.add_subscriber(p, 2);
        }
        t.occupy(A, 1, Some(C));
        t.occupy(B, 0, Some(C));
        t.occupy(C, 0, Some(A));
        assert_eq!(t.slots_naming(C), 2);
        let mut emptied = t.remove(C);
        emptied.sort();
        assert_eq!(emptied, vec![(A, 1), (B, 0)]);
        assert_eq!(t.slots_naming(C), 0);
        assert_eq!(t.occupied_slots(), 0);
        assert_eq!(t.entry(C, 0), None);
        assert_eq!(t.free_slot(A, |_| true), Some(0));
        assert_eq!(t.free_slot(A, |i| i == 1), Some(1));
    }
}
