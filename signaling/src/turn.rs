//! Time-limited TURN credentials, so that members behind firewalls that
//! block UDP can still reach the media port through the clinic's TURN server
//! (coturn with `use-auth-secret`; see `docs/configuration.md`).
//!
//! The scheme is the one coturn calls the TURN REST API: the username is the
//! expiry time (Unix seconds), the password is base64(HMAC-SHA1(secret,
//! username)). Haven and coturn share only the secret; no per-user state,
//! nothing stored. The username carries no name or id of the participant.
//! Credentials are handed out only with `admitted`, never to the waiting room.

use std::time::Duration;

use aws_lc_rs::hmac;
use base64::Engine;

use crate::protocol::IceServer;

/// How long handed-out credentials stay valid: longer than a process group
/// (90 minutes, rarely more than three hours), so a relayed connection never
/// has to renew them; a reconnect or re-admission gets new ones. After a
/// removal they work for at most this long, and only to reach Haven's media
/// port (coturn's `allowed-peer-ip`), where a stranger's packets are dropped.
/// (Browsers keep an allocation's first credentials for its whole life, so
/// refreshing them mid-session would need an ICE restart: not worth it.)
pub const CREDENTIAL_LIFETIME: Duration = Duration::from_secs(4 * 3600);

/// What is wrong with the TURN settings.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TurnError {
    /// A URL that is not a TURN URL.
    #[error("TURN URL {0:?} must start with turn: or turns:")]
    BadUrl(String),
    /// The shared secret is empty.
    #[error("the TURN secret is empty")]
    EmptySecret,
    /// URLs without a secret or the other way round.
    #[error("TURN URLs were given without a TURN secret, or a secret without URLs")]
    Incomplete,
}

/// The clinic's TURN server(s) and the secret shared with them.
pub struct TurnSettings {
    urls: Vec<String>,
    key: hmac::Key,
}

impl std::fmt::Debug for TurnSettings {
    // Never print the secret.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnSettings")
            .field("urls", &self.urls)
            .finish_non_exhaustive()
    }
}

impl TurnSettings {
    /// Check the URLs (`turn:host:port?transport=udp|tcp`, `turns:...`) and
    /// keep the secret as an HMAC key.
    pub fn new(urls: Vec<String>, secret: &str) -> Result<Self, TurnError> {
        let secret = secret.trim();
        if urls.is_empty() {
            return Err(TurnError::Incomplete);
        }
        if secret.is_empty() {
            return Err(TurnError::EmptySecret);
        }
        for url in &urls {
            let rest = url
                .strip_prefix("turn:")
                .or_else(|| url.strip_prefix("turns:"));
            if rest.is_none_or(|r| r.is_empty() || r.chars().any(char::is_whitespace)) {
                return Err(TurnError::BadUrl(url.clone()));
            }
        }
        Ok(Self {
            urls,
            key: hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret.as_bytes()),
        })
    }

    /// Credentials valid until `now_unix + CREDENTIAL_LIFETIME`.
    pub fn credentials(&self, now_unix: u64) -> IceServer {
        let username = format!("{}:haven", now_unix + CREDENTIAL_LIFETIME.as_secs());
        let tag = hmac::sign(&self.key, username.as_bytes());
        IceServer {
            urls: self.urls.clone(),
            username,
            credential: base64::engine::general_purpose::STANDARD.encode(tag.as_ref()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_follow_the_turn_rest_scheme() {
        let turn = TurnSettings::new(
            vec!["turn:turn.clinic.example:3478?transport=udp".into()],
            "north-wing-secret\n",
        )
        .unwrap();
        let now = 1_795_680_000 - CREDENTIAL_LIFETIME.as_secs();
        let ice = turn.credentials(now);
        assert_eq!(ice.username, "1795680000:haven");
        // base64(HMAC-SHA1("north-wing-secret", "1795680000:haven")), computed
        // independently with Python's hmac module.
        assert_eq!(ice.credential, "m6tSCqY28ek8GNqRpR63mr5kOec=");
        assert_eq!(ice.urls, ["turn:turn.clinic.example:3478?transport=udp"]);
        assert!(!format!("{turn:?}").contains("north-wing"));
    }

    #[test]
    fn bad_settings_are_refused_plainly() {
        let ok = || vec!["turns:turn.example:443?transport=tcp".to_string()];
        assert_eq!(
            TurnSettings::new(vec!["stun:x:3478".into()], "s").unwrap_err(),
            TurnError::BadUrl("stun:x:3478".into())
        );
        assert!(TurnSettings::new(vec!["turn:".into()], "s").is_err());
        assert_eq!(
            TurnSettings::new(ok(), "  \n").unwrap_err(),
            TurnError::EmptySecret
        );
        assert_eq!(
            TurnSettings::new(vec![], "s").unwrap_err(),
            TurnError::Incomplete
        );
        assert!(TurnSettings::new(ok(), "s").is_ok());
    }
}
