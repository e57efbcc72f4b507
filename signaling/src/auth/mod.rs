//! Facilitator authentication: argon2 password hashes, random secrets, and
//! login sessions that end on logout or after inactivity.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use base64::Engine;
use rand::RngCore;

use crate::room::AccountId;
use crate::store::{Store, StoredLogin};

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

/// Logged-in facilitators. A login ends after `idle_timeout` without a
/// request, and in any case [`Sessions::LIFETIME`] after it began (a laptop
/// left logged in does not stay so for days). Logins are found by the
/// SHA-256 of their secret; with a store ([`Sessions::persistent`]) they are
/// also kept in the database (hashed), so a restart logs nobody out.
pub struct Sessions {
    idle_timeout: Duration,
    by_hash: Mutex<HashMap<[u8; 32], Login>>,
    store: Option<Arc<Store>>,
}

struct Login {
    account: AccountId,
    began: Instant,
    /// When it began, in Unix milliseconds (compared with the store's
    /// `logins_valid_from_ms` after a password change or a disable).
    began_ms: u64,
    seen: Instant,
    /// When the store last heard it was used (Unix milliseconds).
    stored_seen_ms: u64,
}

/// A live login, as seen by a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LiveLogin {
    /// Whose.
    pub account: AccountId,
    /// When it began, in Unix milliseconds.
    pub began_ms: u64,
}

/// How stale the stored "last used" may get before it is written again.
const SEEN_WRITE_EVERY_MS: u64 = 30_000;

fn token_hash(token: &str) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

impl Sessions {
    /// The longest a login lasts, however active: a working day.
    pub const LIFETIME: Duration = Duration::from_secs(12 * 3600);

    /// Logins in memory only (a restart logs everyone out).
    pub fn new(idle_timeout: Duration) -> Self {
        Self {
            idle_timeout,
            by_hash: Mutex::new(HashMap::new()),
            store: None,
        }
    }

    /// Logins kept in `store` too, starting with those it holds that are
    /// still alive (the others are deleted).
    pub fn persistent(idle_timeout: Duration, store: Arc<Store>) -> Self {
        let now = Instant::now();
        let now_ms = crate::store::now_ms();
        let sessions = Self {
            idle_timeout,
            by_hash: Mutex::new(HashMap::new()),
            store: None,
        };
        let mut map = HashMap::new();
        for l in store.logins().unwrap_or_default() {
            let ago = |ms: u64| Duration::from_millis(now_ms.saturating_sub(ms));
            let login = Login {
                account: l.account,
                began: now.checked_sub(ago(l.began_ms)).unwrap_or(now),
                began_ms: l.began_ms,
                seen: now.checked_sub(ago(l.seen_ms)).unwrap_or(now),
                stored_seen_ms: l.seen_ms,
            };
            let old = ago(l.began_ms) >= Self::LIFETIME || ago(l.seen_ms) >= idle_timeout;
            if old || !sessions.alive(&login, now) {
                let _ = store.delete_login(&l.token_hash);
            } else {
                map.insert(l.token_hash, login);
            }
        }
        Self {
            idle_timeout,
            by_hash: Mutex::new(map),
            store: Some(store),
        }
    }

    fn keep(&self, hash: [u8; 32], l: &Login) {
        if let Some(store) = &self.store {
            let stored = StoredLogin {
                token_hash: hash,
                account: l.account,
                began_ms: l.began_ms,
                seen_ms: l.stored_seen_ms,
            };
            if let Err(e) = store.save_login(&stored) {
                tracing::warn!(error = %e, "a login cannot be stored: a restart would log it out");
            }
        }
    }

    fn drop_stored(&self, hash: &[u8; 32]) {
        if let Some(store) = &self.store {
            let _ = store.delete_login(hash);
        }
    }

    /// Start a session; returns its secret.
    pub fn start(&self, account: AccountId, now: Instant) -> String {
        let token = random_token();
        let hash = token_hash(&token);
        let now_ms = crate::store::now_ms();
        let login = Login {
            account,
            began: now,
            began_ms: now_ms,
            seen: now,
            stored_seen_ms: now_ms,
        };
        self.keep(hash, &login);
        let mut map = self.by_hash.lock().unwrap_or_else(|p| p.into_inner());
        let dead: Vec<[u8; 32]> = map
            .iter()
            .filter(|(_, l)| !self.alive(l, now))
            .map(|(h, _)| *h)
            .collect();
        for h in dead {
            map.remove(&h);
            self.drop_stored(&h);
        }
        map.insert(hash, login);
        token
    }

    /// The account of a live session (and mark it active).
    pub fn touch(&self, token: &str, now: Instant) -> Option<AccountId> {
        self.touch_login(token, now).map(|l| l.account)
    }

    /// A live session (and mark it active).
    pub fn touch_login(&self, token: &str, now: Instant) -> Option<LiveLogin> {
        let hash = token_hash(token);
        let mut map = self.by_hash.lock().unwrap_or_else(|p| p.into_inner());
        let login = map.get_mut(&hash)?;
        if !self.alive(login, now) {
            map.remove(&hash);
            self.drop_stored(&hash);
            return None;
        }
        login.seen = now;
        let live = LiveLogin {
            account: login.account,
            began_ms: login.began_ms,
        };
        let now_ms = crate::store::now_ms();
        if self.store.is_some() && now_ms >= login.stored_seen_ms + SEEN_WRITE_EVERY_MS {
            login.stored_seen_ms = now_ms;
            let login = Login { ..*login };
            drop(map);
            self.keep(hash, &login);
        }
        Some(live)
    }

    fn alive(&self, l: &Login, now: Instant) -> bool {
        now.saturating_duration_since(l.seen) < self.idle_timeout
            && now.saturating_duration_since(l.began) < Self::LIFETIME
    }

    /// End every login of an account (disabled, or its password changed).
    pub fn end_account(&self, account: AccountId) {
        self.by_hash
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|_, l| l.account != account);
        if let Some(store) = &self.store {
            let _ = store.delete_logins_of(account);
        }
    }

    /// End a session.
    pub fn end(&self, token: &str) {
        let hash = token_hash(token);
        self.by_hash
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&hash);
        self.drop_stored(&hash);
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

    #[test]
    fn a_login_survives_a_restart_and_the_store_keeps_only_its_hash() {
        let store = Arc::new(Store::in_memory().unwrap());
        let account = store.add_facilitator("ada", "hash").unwrap();
        let idle = Duration::from_secs(1800);
        let before = Sessions::persistent(idle, store.clone());
        let token = before.start(account, Instant::now());
        let ended = before.start(account, Instant::now());
        before.end(&ended);
        drop(before);
        // A new process: the same database.
        let after = Sessions::persistent(idle, store.clone());
        assert_eq!(after.touch(&token, Instant::now()), Some(account));
        assert_eq!(after.touch(&ended, Instant::now()), None);
        let stored = store.logins().unwrap();
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].token_hash, token_hash(&token));
        assert_ne!(&stored[0].token_hash[..], token.as_bytes());
        // Ending every login of the account reaches the store too.
        after.end_account(account);
        assert!(store.logins().unwrap().is_empty());
        assert_eq!(
            Sessions::persistent(idle, store).touch(&token, Instant::now()),
            None
        );
    }
}
