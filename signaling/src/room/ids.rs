//! Typed identifiers and values of the control plane.

use std::fmt;

pub use haven_sfu::{ParticipantId, RoomId, SlotIndex, TileView, MAX_ROOM_SIZE};

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
/// was given to, without knocking. Nothing else does. The room keeps only
/// its SHA-256 (so a resume file written for a restart holds no secret);
/// never logged (its `Debug` is redacted).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct ResumeKey([u8; 32]);

impl ResumeKey {
    /// The key for a secret the server generated or a client presented
    /// (already checked to look like a token by the caller).
    pub fn new(secret: String) -> Self {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, secret.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(digest.as_ref());
        Self(out)
    }

    /// A key from its SHA-256, as a resume file keeps it.
    pub fn from_digest(digest: [u8; 32]) -> Self {
        Self(digest)
    }

    /// The SHA-256 of the secret (for the resume file; not the secret).
    pub fn digest(&self) -> [u8; 32] {
        self.0
    }

    /// Compare in time that does not depend on where the keys differ.
    pub fn matches(&self, other: &ResumeKey) -> bool {
        self.0
            .iter()
            .zip(&other.0)
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
    }
}

impl fmt::Debug for ResumeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ResumeKey(<redacted>)")
    }
}

/// A display name as the person typed it: 1–40 characters, no control
/// characters, and none of the invisible ones that let a name pass for
/// another in the roster (bidirectional overrides that reverse what
/// follows, zero-width joiners and spaces, fillers); runs of spaces are
/// one space. Never logged (its `Debug` is redacted).
#[derive(Clone, PartialEq, Eq)]
pub struct DisplayName(String);

impl DisplayName {
    /// Longest accepted name, in characters.
    pub const MAX_CHARS: usize = 40;

    /// Check and trim a name.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.chars().any(|c| c.is_control() || is_invisible(c)) {
            return None;
        }
        let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        let ok = !name.is_empty() && name.chars().count() <= Self::MAX_CHARS;
        ok.then_some(Self(name))
    }

    /// The name, for the people in the room (never for logs).
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Characters that show nothing (or reorder what is shown): Unicode's format
/// characters and the blank fillers a name could hide behind.
fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}'
        | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}'
        | '\u{3164}' | '\u{FEFF}' | '\u{FFA0}'
        | '\u{FFF9}'..='\u{FFFB}'
        | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}')
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

#[cfg(test)]
mod tests {
    use super::DisplayName;

    #[test]
    fn names_that_could_pass_for_another_are_refused() {
        let ok = |raw: &str| DisplayName::parse(raw).map(|n| n.as_str().to_owned());
        assert_eq!(ok("  Sam   Lee "), Some("Sam Lee".into()));
        assert_eq!(ok("Zoë Ødegård"), Some("Zoë Ødegård".into()));
        assert_eq!(
            ok("Rosa \u{2764}\u{FE0F}"),
            Some("Rosa \u{2764}\u{FE0F}".into())
        );
        for evil in [
            "Marigold\u{202E}dlogiraM", // right-to-left override
            "Mari\u{200B}gold",         // zero-width space
            "Ada\u{2066}",              // isolate
            "\u{3164}",                 // Hangul filler, looks empty
            "Ma\u{00AD}rigold",         // soft hyphen
            "Tab\tName",
            "   ",
        ] {
            assert_eq!(ok(evil), None, "{evil:?} was accepted");
        }
        assert_eq!(ok(&"x".repeat(41)), None);
    }
}
