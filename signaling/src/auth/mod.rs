//! Facilitator authentication: argon2 password hashes, random secrets, and
//! login sessions that end on logout or after inactivity.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;

use crate::room::AccountId;

/// Shortest password accepted for a facilitator account.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Hash a password with argon2id and a random salt (PHC string).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Check a password against a stored hash.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A random secret for URLs and cookies: 32 bytes, base64url.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether a facilitator username is acceptable: 1 to 64 letters, digits
/// or `. _ - @` (a login name, never shown to members).
pub fn valid_username(username: &str) -> bool {
    (1..=64).contains(&username.len())
        && username
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
}

/// Whether a string could be one of our tokens (cheap check before a lookup).
pub fn looks_like_token(s: &str) -> bool {
    (16..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Logged-in facilitators, by session secret. Kept in memory only: a restart
/// logs everyone out, which is the safe direction. A login ends after
/// `idle_timeout` without a request, and in any case [`Sessions::LIFETIME`]
/// after it began (a laptop left logged in does not stay so for days).
pub struct Sessions {
    idle_timeout: Duration,
    by_token: Mutex<HashMap<String, Login>>,
}

struct Login {
    account: AccountId,
    began: Instant,
    /// When it began, in Unix milliseconds (compared with the store's
    /// `logins_valid_from_ms` after a password change or a disable).
    began_ms: u64,
    seen: Instant,
}

/// A live login, as seen by a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveLogin {
    /// Whose.
    pub account: AccountId,
    /// When it began, in Unix milliseconds.
    pub began_ms: u64,
}

impl Sessions {
    /// The longest a login lasts, however active: a working day.
    pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);

    /// Sessions that end after `idle_timeout` without a request.
    pub fn new(idle_timeout: Duration) -> Self {
        Self {
            idle_timeout,
            by_token: Mutex::new(HashMap::new()),
        }
    }

    /// Start a session; returns its secret.
    pub fn start(&self, account: AccountId, now: Instant) -> String {
        let token = random_token();
        let mut map = self.by_token.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, l| self.alive(l, now));
        map.insert(
            token.clone(),
            Login {
                account,
                began: now,
                began_ms: crate::store::now_ms(),
                seen: now,
            },
        );
        token
    }

    /// The account of a live session (and mark it active).
    pub fn touch(&self, token: &str, now: Instant) -> Option<AccountId> {
        self.touch_login(token, now).map(|l| l.account)
    }

    /// A live session (and mark it active).
    pub fn touch_login(&self, token: &str, now: Instant) -> Option<LiveLogin> {
        let mut map = self.by_token.lock().unwrap_or_else(|p| p.into_inner());
        let login = map.get_mut(token)?;
        if !self.alive(login, now) {
            map.remove(token);
            return None;
        }
        login.seen = now;
        Some(LiveLogin {
            account: login.account,
            began_ms: login.began_ms,
        })
    }

    fn alive(&self, l: &Login, now: Instant) -> bool {
        now.saturating_duration_since(l.seen) < self.idle_timeout
            && now.saturating_duration_since(l.began) < Self::LIFETIME
    }

    /// End every login of an account (disabled, or its password changed).
    pub fn end_account(&self, account: AccountId) {
        self.by_token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, l| l.account != account);
    }

    /// End a session.
    pub fn end(&self, token: &str) {
        self.by_token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(token);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_sessions_expire_when_idle() {
        let h = hash_password("correct horse battery").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse battery", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));

        let s = Sessions::new(Duration::from_secs(60));
        let t0 = Instant::now();
        let tok = s.start(AccountId(1), t0);
        assert!(looks_like_token(&tok));
        assert_eq!(
            s.touch(&tok, t0 + Duration::from_secs(59)),
            Some(AccountId(1))
        );
        assert_eq!(
            s.touch(&tok, t0 + Duration::from_secs(100)),
            Some(AccountId(1))
        );
        assert_eq!(s.touch(&tok, t0 + Duration::from_secs(200)), None);
        let tok = s.start(AccountId(2), t0);
        s.end(&tok);
        assert_eq!(s.touch(&tok, t0), None);
        // However active, a login ends after its lifetime.
        let tok = s.start(AccountId(3), t0);
        let mut t = t0;
        while t < t0 + Sessions::LIFETIME - Duration::from_secs(30) {
            t += Duration::from_secs(30);
            assert_eq!(s.touch(&tok, t), Some(AccountId(3)));
        }
        assert_eq!(s.touch(&tok, t0 + Sessions::LIFETIME), None);
        let tok = s.start(AccountId(4), t0);
        s.end_account(AccountId(4));
        assert_eq!(s.touch(&tok, t0), None);
    }
}
