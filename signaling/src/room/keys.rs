//! End-to-end keys: who must be given a new media key, and when. The room
//! never holds a media key. It knows each admitted page's public key (an
//! ECDH key the page made for this connection) and which page is the key
//! holder (the moderator's: the facilitator's, or the co-facilitator's after
//! a take-over). Whenever the set of people who may listen changes, or the
//! holder does, the holder is asked to make a fresh key and wrap it for
//! each of them; the room relays the opaque wrapped keys to those people
//! only. Nobody waiting, removed or returned ever gets one.
//!
//! The rule is one function, [`Room::ask_for_rotation`], run after every
//! command: it compares who may listen now with whom the last key was
//! made for, so no path that changes the admitted set can forget it.

use std::collections::BTreeMap;
use std::fmt;

use super::*;

/// A page's ECDH public key: a P-256 point, uncompressed (65 bytes), in
/// base64url without padding, as the page exported it. Opaque to the
/// server, which only checks its shape. Not a secret, but it is an
/// identifier of a page, so `Debug` leaves it out of logs.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(String);

/// Characters of an uncompressed P-256 point in base64url without padding.
const PUBLIC_KEY_CHARS: usize = 87;
/// Most characters of one wrapped key (the key and the public keys it was
/// made for, encrypted): 14 public keys of 65 bytes plus 32 bytes of key,
/// in base64url, with room to spare.
pub const MAX_WRAPPED_KEY_CHARS: usize = 2048;

fn is_base64url(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

impl PublicKey {
    /// A key as a page sent it, if it has the shape of one: 87 base64url
    /// characters starting with `B` (the byte 0x04 of an uncompressed point).
    pub fn parse(text: &str) -> Option<Self> {
        (text.len() == PUBLIC_KEY_CHARS && text.starts_with('B') && is_base64url(text))
            .then(|| Self(text.to_owned()))
    }

    /// The key, to send to the key holder and to the pages it wraps for.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PublicKey(<not logged>)")
    }
}

/// A media key wrapped by the holder for one page: opaque bytes the server
/// relays and never reads, logs or stores.
#[derive(Clone, PartialEq, Eq)]
pub struct WrappedKey(String);

impl WrappedKey {
    /// A wrapped key as the holder sent it, if it has the shape of one.
    pub fn parse(text: &str) -> Option<Self> {
        (!text.is_empty() && text.len() <= MAX_WRAPPED_KEY_CHARS && is_base64url(text))
            .then(|| Self(text.to_owned()))
    }

    /// The blob, to relay.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for WrappedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WrappedKey(<not logged>)")
    }
}

/// Which key (a rotation number; pages use it as the key id of frames).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct KeyEpoch(pub u32);

/// Who the holder was last asked to make a key for.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Audience {
    holder: ParticipantId,
    holder_key: PublicKey,
    listeners: BTreeMap<ParticipantId, PublicKey>,
}

/// The room's memory of key rotations.
#[derive(Debug, Default)]
pub(super) struct KeyRing {
    epoch: KeyEpoch,
    asked: Option<Audience>,
}

impl KeyRing {
    /// After a restart: the next key is newer than any asked for before.
    pub(super) fn from_epoch(epoch: KeyEpoch) -> Self {
        Self { epoch, asked: None }
    }

    /// The last epoch asked for.
    pub(super) fn epoch(&self) -> KeyEpoch {
        self.epoch
    }
}

impl Room {
    /// The audience a key must be made for now, if there is a holder to
    /// make it: the moderator, connected, with a public key; and every
    /// other admitted participant connected with a public key. Someone
    /// reconnecting is left out until back (then a new key is made, which
    /// also reaches them).
    fn audience(&self) -> Option<Audience> {
        let holder = self.moderator?;
        let h = self.people.get(&holder)?;
        let holder_key = match (&h.public_key, h.stage, h.conn) {
            (Some(k), Stage::Admitted, Some(_)) => k.clone(),
            _ => return None,
        };
        let listeners = self
            .people
            .iter()
            .filter(|(id, p)| **id != holder && p.stage == Stage::Admitted && p.conn.is_some())
            .filter_map(|(id, p)| Some((*id, p.public_key.clone()?)))
            .collect();
        Some(Audience {
            holder,
            holder_key,
            listeners,
        })
    }

    /// After every command: if who may listen (or who holds the key) has
    /// changed since the last key, ask the holder for a new one. Without a
    /// holder present nothing can be asked; the next holder is asked.
    pub(super) fn ask_for_rotation(&mut self, fx: &mut Vec<Effect>) {
        let Some(now) = self.audience() else { return };
        if self.keys.asked.as_ref() == Some(&now) {
            return;
        }
        self.keys.epoch.0 = self.keys.epoch.0.wrapping_add(1);
        fx.push(notify(
            now.holder,
            Notice::RotateKey {
                epoch: self.keys.epoch,
                listeners: now
                    .listeners
                    .iter()
                    .map(|(id, k)| (*id, k.clone()))
                    .collect(),
            },
        ));
        self.keys.asked = Some(now);
    }

    /// The holder's wrapped keys for the latest epoch: each goes to its
    /// listener, if that listener is one it was asked for and still here.
    /// An answer to an older request is dropped (a newer one is on its way).
    pub(super) fn deliver_keys(
        &mut self,
        by: ParticipantId,
        epoch: KeyEpoch,
        wrapped: Vec<(ParticipantId, WrappedKey)>,
        fx: &mut Vec<Effect>,
    ) {
        let Some(asked) = self.keys.asked.as_ref().filter(|a| a.holder == by) else {
            fx.push(refuse(by, Refusal::NotAllowed));
            return;
        };
        if epoch != self.keys.epoch {
            return;
        }
        for (to, key) in wrapped {
            if asked.listeners.contains_key(&to) && self.is_admitted(to) {
                fx.push(notify(
                    to,
                    Notice::MediaKey {
                        epoch,
                        from: by,
                        holder_key: asked.holder_key.clone(),
                        wrapped: key,
                    },
                ));
            }
        }
    }
}
