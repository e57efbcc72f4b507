//! Typed identifiers and values of the control plane.

use std::fmt;

pub use haven_sfu::{ParticipantId, RoomId};

/// A facilitator account (row id in the store).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AccountId(pub i64);

/// A group (row id in the store).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroupId(pub i64);

/// A personal invite link (row id in the store).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub i64);

/// What a person came in with: which door they used. It decides whether
/// they are "known" to the facilitator and what is blocked when they are
/// removed or denied. It is never enough to take a seat that is already
/// occupied: that needs the occupant's [`ResumeKey`].
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Seat {
    /// A facilitator or co-facilitator account (authenticated by login).
    Staff(AccountId),
    /// A member's personal link. A link is an invitation to knock: copied
    /// to a second device (or stolen), it knocks again.
    Personal(LinkId),
    /// A member who came by the group link.
    Group,
}

impl Seat {
    /// Whether the facilitator issued this person their own link.
    pub fn is_known(&self) -> bool {
        !matches!(self, Seat::Group)
    }
}

/// The per-connection secret handed out in `welcome`: presenting it again
/// (after a drop, a reload, a network change) resumes the participant it
/// was given to, without knocking. Nothing else does. Never logged (its
/// `Debug` is redacted).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResumeKey(String);

impl ResumeKey {
    /// A key the server generated or a client presented (already checked
    /// to look like a token by the caller).
    pub fn new(secret: String) -> Self {
        Self(secret)
    }

    /// The secret, to hand to its owner in `welcome` (never to logs).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compare in time that does not depend on where the keys differ.
    pub fn matches(&self, other: &ResumeKey) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }
}

impl fmt::Debug for ResumeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResumeKey(<redacted>)")
    }
}

/// A display name as the person typed it: 1–40 characters, no control
/// characters. Never logged (its `Debug` is redacted).
#[derive(Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Longest accepted name, in characters.
    pub const MAX_CHARS: usize = 40;

    /// Check and trim a name.
    pub fn parse(raw: &str) -> Option<Self> {
        let name = raw.trim();
        let ok = !name.is_empty()
            && name.chars().count() <= Self::MAX_CHARS
            && !name.chars().any(char::is_control);
        ok.then(|| Self(name.to_owned()))
    }

    /// The name, for the people in the room (never for logs).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DisplayName(<redacted>)")
    }
}

/// Chat text: 1–1000 characters. Never stored, never logged.
#[derive(Clone, PartialEq, Eq)]
pub struct ChatText(String);

impl ChatText {
    /// Longest accepted message, in characters.
    pub const MAX_CHARS: usize = 1000;

    /// Check a message.
    pub fn parse(raw: &str) -> Option<Self> {
        let ok = !raw.trim().is_empty() && raw.chars().count() <= Self::MAX_CHARS;
        ok.then(|| Self(raw.to_owned()))
    }

    /// The text, for its recipients.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ChatText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ChatText(<redacted>)")
    }
}

/// A participant's role in the room.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// Runs the room.
    Facilitator,
    /// Can take over when the facilitator hands over or drops.
    CoFacilitator,
    /// A group member.
    Member,
}

/// What a role may do. Permissions are derived from roles, never spelled as
/// strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capabilities {
    /// Admit, deny, message waiting members; mute, remove, return to waiting;
    /// lock; end the session; turn chat off; hand over.
    pub moderate: bool,
    /// Take over facilitation when the facilitator is absent.
    pub take_over: bool,
}

impl Role {
    /// The capabilities of this role.
    pub fn capabilities(self) -> Capabilities {
        match self {
            Role::Facilitator => Capabilities {
                moderate: true,
                take_over: false,
            },
            Role::CoFacilitator => Capabilities {
                moderate: false,
                take_over: true,
            },
            Role::Member => Capabilities {
                moderate: false,
                take_over: false,
            },
        }
    }

    /// Staff enter the room directly; members knock.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Member)
    }
}
