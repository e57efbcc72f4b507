//! The checks a hello passes before it reaches a room's gate
//! (`room/gate.rs`), in the order they are applied. Each refusal says what
//! the person can do about it.

use std::net::IpAddr;
use std::time::Instant;

use haven_sfu::MediaPlane;

use super::AppState;
use crate::auth::{looks_like_token, random_token};
use crate::live::RoomHandle;
use crate::protocol::Join;
use crate::room::{AccountId, DisplayName, GroupId, ResumeKey, Role, Seat};
use crate::store::Invite;

/// Who a hello says it is, once checked, and the session it may knock on.
pub struct Checked {
    /// The open session.
    pub room: RoomHandle,
    /// Which door they came by.
    pub seat: Seat,
    /// Their role.
    pub role: Role,
    /// The name they chose.
    pub name: DisplayName,
    /// The key they presented, or a fresh one.
    pub key: ResumeKey,
    /// Its secret, handed out in `welcome` (the room keeps only its hash).
    pub resume_secret: String,
}

/// A hello turned away: a machine-readable code and words for the person.
pub struct TurnedAway {
    /// Error code on the wire.
    pub code: &'static str,
    /// Plain-language explanation.
    pub message: &'static str,
}

fn away(code: &'static str, message: &'static str) -> TurnedAway {
    TurnedAway { code, message }
}

const RATE_LIMITED: TurnedAway = TurnedAway {
    code: "rate_limited",
    message: "Too many attempts from your network; wait a minute and try again.",
};

/// Check a hello. `ip` is the client's address (for the rate limits only).
pub fn check<M: MediaPlane>(
    state: &AppState<M>,
    account: Option<AccountId>,
    ip: Option<IpAddr>,
    join: Join,
    now: Instant,
) -> Result<Checked, TurnedAway> {
    match join {
        Join::Staff { group, name } => {
            // 1. A login; 2. staff of this group; 3. a name; 4. a session.
            let account = account.ok_or(away("login_required", "Log in first."))?;
            let g = state
                .store
                .group(GroupId(group))
                .ok()
                .flatten()
                .ok_or(away("no_such_group", "No such group."))?;
            let role = if g.facilitator == account {
                Role::Facilitator
            } else if g.co_facilitator == Some(account) {
                Role::CoFacilitator
            } else {
                return Err(away("no_such_group", "No such group."));
            };
            let name = DisplayName::parse(&name)
                .ok_or(away("bad_name", "A name is 1 to 40 characters."))?;
            let room = state
                .live
                .session(g.id)
                .ok_or(away("no_session", "Start the session first."))?;
            Ok(Checked {
                room,
                seat: Seat::Staff(account),
                role,
                name,
                // Staff resume by their login, not a key; each still gets
                // its own, so that no two arrivals share one.
                key: ResumeKey::new(random_token()),
                resume_secret: String::new(),
            })
        }
        Join::Member {
            token,
            name,
            agreed,
            resume,
        } => {
            // 1. The link exists. Failures are charged to their own bucket,
            //    so guessing links cannot spend real members' knocks.
            let invite = looks_like_token(&token)
                .then(|| state.store.invite(&token).ok().flatten())
                .flatten();
            let Some(invite) = invite else {
                if ip.is_some_and(|ip| !state.bad_link_limit.allow(ip, now)) {
                    return Err(RATE_LIMITED);
                }
                return Err(away(
                    "bad_link",
                    "This invite link is not valid, or it was revoked.",
                ));
            };
            // 2. The network's knock budget (flooding the waiting room).
            if ip.is_some_and(|ip| !state.knock_limit.allow(ip, now)) {
                return Err(RATE_LIMITED);
            }
            // 3. The agreement; 4. a name; 5. a well-formed resume key.
            if !agreed {
                return Err(away(
                    "agreement_required",
                    "Please read and accept the group agreement first.",
                ));
            }
            let name = DisplayName::parse(&name).ok_or(away(
                "bad_name",
                "A name is 1 to 40 characters (a pseudonym is fine).",
            ))?;
            let resume_secret = match resume {
                Some(r) if looks_like_token(&r) => r,
                Some(_) => return Err(away("bad_resume", "The resume key is not valid.")),
                None => random_token(),
            };
            let key = ResumeKey::new(resume_secret.clone());
            let (group, seat) = match invite {
                Invite::Personal(g, link) => (g, Seat::Personal(link)),
                Invite::Group(g) => (g, Seat::Group),
            };
            // 6. A session is open.
            let room = state.live.session(group.id).ok_or(away(
                "no_session",
                "The session has not started yet. Please come back at the group's time.",
            ))?;
            Ok(Checked {
                room,
                seat,
                role: Role::Member,
                name,
                key,
                resume_secret,
            })
        }
    }
}
