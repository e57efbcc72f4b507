//! Facilitator accounts: adding them, their passwords, disabling, and
//! whether a login made at some moment still holds.

use rusqlite::{params, OptionalExtension};

use super::{Store, StoreError};
use crate::room::AccountId;

/// A facilitator account.
#[derive(Debug, Clone)]
pub struct Account {
    /// Row id.
    pub id: AccountId,
    /// Login name.
    pub username: String,
    /// Argon2 PHC string.
    pub password_hash: String,
    /// Disabled accounts cannot log in.
    pub disabled: bool,
}

/// Now, in Unix milliseconds.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Store {
    /// Set a facilitator's password; logins made before end. False if there
    /// is no such account.
    pub fn set_password(&self, username: &str, password_hash: &str) -> Result<bool, StoreError> {
        let n = self.db().execute(
            "UPDATE facilitators SET password_hash = ?1, logins_valid_from_ms = ?2 WHERE username = ?3",
            params![password_hash, now_ms(), username],
        )?;
        Ok(n > 0)
    }

    /// Disable (its logins end, it cannot log in) or enable an account.
    pub fn set_disabled(&self, username: &str, disabled: bool) -> Result<bool, StoreError> {
        let n = self.db().execute(
            "UPDATE facilitators SET disabled = ?1, \
             logins_valid_from_ms = CASE WHEN ?1 THEN ?2 ELSE logins_valid_from_ms END \
             WHERE username = ?3",
            params![disabled, now_ms(), username],
        )?;
        Ok(n > 0)
    }

    /// Whether a login that began at `began_ms` (Unix milliseconds) still
    /// holds: the account exists, is enabled, and its password has not
    /// changed since. Checked on every authenticated request, because the
    /// `haven facilitator` commands run in another process.
    pub fn login_allowed(&self, account: AccountId, began_ms: u64) -> Result<bool, StoreError> {
        let row: Option<(bool, i64)> = self
            .db()
            .query_row(
                "SELECT disabled, logins_valid_from_ms FROM facilitators WHERE id = ?1",
                [account.0],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        Ok(row.is_some_and(|(disabled, from)| {
            !disabled && i64::try_from(began_ms).unwrap_or(i64::MAX) >= from
        }))
    }

    /// Add a facilitator account.
    pub fn add_facilitator(
        &self,
        username: &str,
        password_hash: &str,
    ) -> Result<AccountId, StoreError> {
        let db = self.db();
        let taken: bool = db
            .query_row(
                "SELECT 1 FROM facilitators WHERE username = ?1",
                [username],
                |_| Ok(true),
            )
            .optional()?
            .unwrap_or(false);
        if taken {
            return Err(StoreError::UsernameTaken);
        }
        db.execute(
            "INSERT INTO facilitators (username, password_hash, created_at) VALUES (?1, ?2, unixepoch())",
            params![username, password_hash],
        )?;
        Ok(AccountId(db.last_insert_rowid()))
    }

    /// How many facilitator accounts exist.
    pub fn facilitator_count(&self) -> Result<i64, StoreError> {
        Ok(self
            .db()
            .query_row("SELECT count(*) FROM facilitators", [], |r| r.get(0))?)
    }

    /// An account by username.
    pub fn account_by_username(&self, username: &str) -> Result<Option<Account>, StoreError> {
        Ok(self
            .db()
            .query_row(
                "SELECT id, username, password_hash, disabled FROM facilitators WHERE username = ?1",
                [username],
                |r| {
                    Ok(Account {
                        id: AccountId(r.get(0)?),
                        username: r.get(1)?,
                        password_hash: r.get(2)?,
                        disabled: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// An account's username.
    pub fn username(&self, id: AccountId) -> Result<Option<String>, StoreError> {
        Ok(self
            .db()
            .query_row(
                "SELECT username FROM facilitators WHERE id = ?1",
                [id.0],
                |r| r.get(0),
            )
            .optional()?)
    }
}
