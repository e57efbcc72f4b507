//! Facilitators' logins at rest, so that a restart does not log anyone out:
//! the SHA-256 of each secret (a copy of the database logs nobody in), its
//! account, and when it began and was last used.

use rusqlite::params;

use super::{Store, StoreError};
use crate::room::AccountId;

/// One stored login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredLogin {
    /// SHA-256 of the secret.
    pub token_hash: [u8; 32],
    /// Whose.
    pub account: AccountId,
    /// When it began (Unix milliseconds).
    pub began_ms: u64,
    /// When it was last used (Unix milliseconds).
    pub seen_ms: u64,
}

fn ms(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

impl Store {
    /// Keep a login (new, or its last use moved on).
    pub fn save_login(&self, l: &StoredLogin) -> Result<(), StoreError> {
        self.db().execute(
            "INSERT INTO logins (token_hash, account_id, began_ms, seen_ms) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(token_hash) DO UPDATE SET seen_ms = excluded.seen_ms",
            params![
                &l.token_hash[..],
                l.account.0,
                ms(l.began_ms),
                ms(l.seen_ms)
            ],
        )?;
        Ok(())
    }

    /// Forget a login.
    pub fn delete_login(&self, token_hash: &[u8; 32]) -> Result<(), StoreError> {
        self.db().execute(
            "DELETE FROM logins WHERE token_hash = ?1",
            [&token_hash[..]],
        )?;
        Ok(())
    }

    /// Forget every login of an account.
    pub fn delete_logins_of(&self, account: AccountId) -> Result<(), StoreError> {
        self.db()
            .execute("DELETE FROM logins WHERE account_id = ?1", [account.0])?;
        Ok(())
    }

    /// Every stored login.
    pub fn logins(&self) -> Result<Vec<StoredLogin>, StoreError> {
        let db = self.db();
        let mut stmt =
            db.prepare("SELECT token_hash, account_id, began_ms, seen_ms FROM logins")?;
        let rows = stmt.query_map([], |r| {
            let hash: Vec<u8> = r.get(0)?;
            let began: i64 = r.get(2)?;
            let seen: i64 = r.get(3)?;
            Ok((hash, AccountId(r.get(1)?), began, seen))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (hash, account, began, seen) = row?;
            if let Ok(token_hash) = <[u8; 32]>::try_from(hash.as_slice()) {
                out.push(StoredLogin {
                    token_hash,
                    account,
                    began_ms: u64::try_from(began).unwrap_or(0),
                    seen_ms: u64::try_from(seen).unwrap_or(0),
                });
            }
        }
        Ok(out)
    }
}
