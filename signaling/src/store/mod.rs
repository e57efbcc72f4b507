//! Persistence in SQLite (one file in the data directory): facilitator
//! accounts, groups, personal links and the audit log. Nothing else: no
//! chat, no media, no display names of members.
//!
//! Calls are synchronous and short (indexed lookups on a local file); the
//! server makes them from its handlers behind one mutex.

mod accounts;
mod logins;
mod schema;
mod sealed;

pub use accounts::{now_ms, Account};
pub use logins::StoredLogin;

pub use sealed::KEY_FILE;
use sealed::{token_hash, LinkKey};

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};

use crate::room::{AccountId, AuditAction, GroupId, LinkId, ParticipantId};

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "haven.sqlite3";

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database could not be opened, migrated or queried.
    #[error("database error: {0}")]
    Db(#[from] rusqlite::Error),
    /// The username is taken.
    #[error("a facilitator with that username already exists")]
    UsernameTaken,
    /// The data directory could not be created.
    #[error("cannot create the data directory: {0}")]
    DataDir(std::io::Error),
    /// The key that seals invite links at rest is missing or unusable.
    #[error("the invite link key (link.key in the data directory): {0}")]
    Key(&'static str),
}

/// When a group meets (UTC): sessions can only start inside this window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WeeklyWindow {
    /// 0 = Monday ... 6 = Sunday.
    pub weekday: u8,
    /// Minutes after midnight UTC when it opens.
    pub start_minute: u16,
    /// How long it stays open.
    pub duration_minutes: u16,
}

/// A group that meets weekly.
#[derive(Debug, Clone)]
pub struct Group {
    /// Row id.
    pub id: GroupId,
    /// Name (shown to the facilitator and, in the waiting room, to members).
    pub name: String,
    /// The facilitator who owns it.
    pub facilitator: AccountId,
    /// Optional co-facilitator (who accepted the invitation).
    pub co_facilitator: Option<AccountId>,
    /// A co-facilitator invited and not (yet) accepted, as the facilitator
    /// typed the name; the same whether or not such an account exists.
    pub co_invited: Option<String>,
    /// Members admitted at most at once.
    pub capacity: usize,
    /// The group invite link's token, to show in the console (`None` when
    /// the key that sealed it is gone: the link works, a new one can be made).
    pub invite_token: Option<String>,
    /// Optional weekly window.
    pub window: Option<WeeklyWindow>,
    /// The group agreement, one point per line (`None`: Haven's default).
    pub agreement: Option<String>,
    /// What the group sees while someone is in the side room, with
    /// `{member}` and `{facilitator}`; `""` shows nothing; `None`: Haven's
    /// default.
    pub stepped_out_notice: Option<String>,
}

/// A personal invite link.
#[derive(Debug, Clone)]
pub struct Link {
    /// Row id.
    pub id: LinkId,
    /// Its group.
    pub group: GroupId,
    /// The secret in the URL, to show in the console (see `invite_token`).
    pub token: Option<String>,
    /// The facilitator's label (initials are enough).
    pub label: String,
    /// Revoked links never work again.
    pub revoked: bool,
}

/// What an invite token opens.
#[derive(Debug, Clone)]
pub enum Invite {
    /// The group link.
    Group(Group),
    /// A personal link (not revoked).
    Personal(Group, LinkId),
}

/// One audit row: (session, action, actor, subject).
pub type AuditRow = (u64, String, Option<u64>, u64);

/// The database.
pub struct Store {
    db: Mutex<Connection>,
    key: LinkKey,
}

impl Store {
    /// Open (creating if needed) the database in `data_dir` and migrate it.
    ///
    /// The directory is made private to the service account (0700, and an
    /// existing one loses any access for others) and the database file 0600:
    /// it holds password hashes and invite links.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(data_dir)
            .map_err(StoreError::DataDir)?;
        let dir_mode = std::fs::metadata(data_dir)
            .map_err(StoreError::DataDir)?
            .permissions()
            .mode();
        if dir_mode & 0o007 != 0 {
            let private = std::fs::Permissions::from_mode(dir_mode & 0o770);
            std::fs::set_permissions(data_dir, private).map_err(StoreError::DataDir)?;
            tracing::warn!("the data directory was open to other users; it no longer is");
        }
        let path = data_dir.join(DB_FILE);
        let db = Connection::open(&path)?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(StoreError::DataDir)?;
        Self::init(db, LinkKey::load_or_create(data_dir)?)
    }

    /// A private in-memory database (for tests of the HTTP layer).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Connection::open_in_memory()?, LinkKey::ephemeral()?)
    }

    fn init(db: Connection, key: LinkKey) -> Result<Self, StoreError> {
        db.pragma_update(None, "foreign_keys", "ON")?;
        // Rollback journal, deleted after each transaction: the data
        // directory holds the database file and the link key, nothing else.
        db.pragma_update(None, "journal_mode", "DELETE")?;
        // What is deleted or replaced (an old token, a revoked link) is
        // overwritten, not left in free pages of the file.
        db.pragma_update(None, "secure_delete", "ON")?;
        schema::migrate(&db)?;
        let store = Self {
            db: Mutex::new(db),
            key,
        };
        store.seal_plain_tokens()?;
        Ok(store)
    }

    /// Databases from before links were sealed hold tokens in clear:
    /// replace each by its hash and a sealed copy (once; idempotent).
    fn seal_plain_tokens(&self) -> Result<(), StoreError> {
        let db = self.db();
        let tx = db.unchecked_transaction()?;
        for (table, plain, sealed) in [
            ("groups", "invite_token", "invite_sealed"),
            ("links", "token", "token_sealed"),
        ] {
            let rows: Vec<(i64, String)> = {
                let mut stmt = tx.prepare(&format!(
                    "SELECT id, {plain} FROM {table} WHERE {sealed} IS NULL"
                ))?;
                let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
                rows.collect::<Result<_, _>>()?
            };
            for (id, token) in rows {
                tx.execute(
                    &format!("UPDATE {table} SET {plain} = ?1, {sealed} = ?2 WHERE id = ?3"),
                    params![token_hash(&token), self.key.seal(&token)?, id],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn db(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Create a group.
    pub fn create_group(
        &self,
        name: &str,
        facilitator: AccountId,
        co_facilitator: Option<AccountId>,
        capacity: usize,
        invite_token: &str,
        window: Option<WeeklyWindow>,
    ) -> Result<GroupId, StoreError> {
        let db = self.db();
        db.execute(
            "INSERT INTO groups (name, facilitator_id, co_facilitator_id, capacity, invite_token, \
             invite_sealed, weekday, start_minute, duration_minutes, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, unixepoch())",
            params![
                name,
                facilitator.0,
                co_facilitator.map(|a| a.0),
                capacity as i64,
                token_hash(invite_token),
                self.key.seal(invite_token)?,
                window.map(|w| w.weekday),
                window.map(|w| w.start_minute),
                window.map(|w| w.duration_minutes),
            ],
        )?;
        Ok(GroupId(db.last_insert_rowid()))
    }

    const GROUP_COLUMNS: &'static str =
        "id, name, facilitator_id, co_facilitator_id, capacity, invite_sealed, \
                                         weekday, start_minute, duration_minutes, co_invite_name, \
                                         agreement, stepped_out_notice";

    fn group_from_row(&self, r: &rusqlite::Row<'_>) -> rusqlite::Result<Group> {
        let weekday: Option<u8> = r.get(6)?;
        let start: Option<u16> = r.get(7)?;
        let duration: Option<u16> = r.get(8)?;
        Ok(Group {
            id: GroupId(r.get(0)?),
            name: r.get(1)?,
            facilitator: AccountId(r.get(2)?),
            co_facilitator: r.get::<_, Option<i64>>(3)?.map(AccountId),
            co_invited: r.get(9)?,
            capacity: r.get::<_, i64>(4)?.max(0) as usize,
            invite_token: r
                .get::<_, Option<String>>(5)?
                .and_then(|s| self.key.open(&s)),
            window: match (weekday, start, duration) {
                (Some(weekday), Some(start_minute), Some(duration_minutes)) => Some(WeeklyWindow {
                    weekday,
                    start_minute,
                    duration_minutes,
                }),
                _ => None,
            },
            agreement: r.get(10)?,
            stepped_out_notice: r.get(11)?,
        })
    }

    /// The facilitator's own words for a group (see [`Group`]).
    pub fn set_group_words(
        &self,
        group: GroupId,
        agreement: Option<&str>,
        stepped_out_notice: Option<&str>,
    ) -> Result<(), StoreError> {
        self.db().execute(
            "UPDATE groups SET agreement = ?1, stepped_out_notice = ?2 WHERE id = ?3",
            params![agreement, stepped_out_notice, group.0],
        )?;
        Ok(())
    }

    /// A group by id.
    pub fn group(&self, id: GroupId) -> Result<Option<Group>, StoreError> {
        let sql = format!("SELECT {} FROM groups WHERE id = ?1", Self::GROUP_COLUMNS);
        Ok(self
            .db()
            .query_row(&sql, [id.0], |r| self.group_from_row(r))
            .optional()?)
    }

    /// Groups an account facilitates or co-facilitates.
    pub fn groups_of(&self, account: AccountId) -> Result<Vec<Group>, StoreError> {
        let sql = format!(
            "SELECT {} FROM groups WHERE facilitator_id = ?1 OR co_facilitator_id = ?1 ORDER BY id",
            Self::GROUP_COLUMNS
        );
        let db = self.db();
        let mut stmt = db.prepare(&sql)?;
        let rows = stmt.query_map([account.0], |r| self.group_from_row(r))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Create a personal link.
    pub fn create_link(
        &self,
        group: GroupId,
        token: &str,
        label: &str,
    ) -> Result<LinkId, StoreError> {
        let db = self.db();
        db.execute(
            "INSERT INTO links (group_id, token, token_sealed, label, revoked, created_at) \
             VALUES (?1, ?2, ?3, ?4, 0, unixepoch())",
            params![group.0, token_hash(token), self.key.seal(token)?, label],
        )?;
        Ok(LinkId(db.last_insert_rowid()))
    }

    /// Invite a co-facilitator by the name the facilitator typed; `invitee`
    /// is the account it names, if any. Replaces an earlier invitation and
    /// takes the role from whoever had it.
    pub fn invite_co_facilitator(
        &self,
        group: GroupId,
        name: &str,
        invitee: Option<AccountId>,
    ) -> Result<(), StoreError> {
        self.db().execute(
            "UPDATE groups SET co_invite_name = ?1, co_invite_id = ?2, co_facilitator_id = NULL WHERE id = ?3",
            params![name, invitee.map(|a| a.0), group.0],
        )?;
        Ok(())
    }

    /// Invitations to co-facilitate waiting for `account`'s answer:
    /// (group, group name, inviting facilitator's username).
    pub fn invitations(
        &self,
        account: AccountId,
    ) -> Result<Vec<(GroupId, String, String)>, StoreError> {
        let db = self.db();
        let mut stmt = db.prepare(
            "SELECT g.id, g.name, f.username FROM groups g JOIN facilitators f ON f.id = g.facilitator_id \
             WHERE g.co_invite_id = ?1 ORDER BY g.id",
        )?;
        let rows = stmt.query_map([account.0], |r| {
            Ok((GroupId(r.get(0)?), r.get(1)?, r.get(2)?))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Accept or decline an invitation; false if there is none for
    /// `account`. A declined invitation still reads "invited" to the
    /// facilitator, so that it tells them nothing about who exists.
    pub fn answer_invitation(
        &self,
        group: GroupId,
        account: AccountId,
        accept: bool,
    ) -> Result<bool, StoreError> {
        let sql = if accept {
            "UPDATE groups SET co_facilitator_id = co_invite_id, co_invite_id = NULL, co_invite_name = NULL \
             WHERE id = ?1 AND co_invite_id = ?2"
        } else {
            "UPDATE groups SET co_invite_id = NULL WHERE id = ?1 AND co_invite_id = ?2"
        };
        Ok(self.db().execute(sql, params![group.0, account.0])? > 0)
    }

    /// Give a group a new invite link; the old one then opens nothing.
    pub fn rotate_invite(&self, group: GroupId, token: &str) -> Result<bool, StoreError> {
        let n = self.db().execute(
            "UPDATE groups SET invite_token = ?1, invite_sealed = ?2 WHERE id = ?3",
            params![token_hash(token), self.key.seal(token)?, group.0],
        )?;
        Ok(n > 0)
    }

    /// Revoke a personal link of a group. Returns whether one was revoked.
    pub fn revoke_link(&self, group: GroupId, link: LinkId) -> Result<bool, StoreError> {
        let n = self.db().execute(
            "UPDATE links SET revoked = 1 WHERE id = ?1 AND group_id = ?2",
            params![link.0, group.0],
        )?;
        Ok(n > 0)
    }

    /// A group's personal links.
    pub fn links(&self, group: GroupId) -> Result<Vec<Link>, StoreError> {
        let db = self.db();
        let mut stmt = db.prepare(
            "SELECT id, group_id, token_sealed, label, revoked FROM links WHERE group_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([group.0], |r| {
            Ok(Link {
                id: LinkId(r.get(0)?),
                group: GroupId(r.get(1)?),
                token: r
                    .get::<_, Option<String>>(2)?
                    .and_then(|s| self.key.open(&s)),
                label: r.get(3)?,
                revoked: r.get::<_, i64>(4)? != 0,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// What an invite token opens: a group link, or a personal link that is
    /// not revoked.
    pub fn invite(&self, token: &str) -> Result<Option<Invite>, StoreError> {
        let sql = format!(
            "SELECT {} FROM groups WHERE invite_token = ?1",
            Self::GROUP_COLUMNS
        );
        let hash = token_hash(token);
        if let Some(g) = self
            .db()
            .query_row(&sql, [&hash], |r| self.group_from_row(r))
            .optional()?
        {
            return Ok(Some(Invite::Group(g)));
        }
        let link: Option<(i64, i64)> = self
            .db()
            .query_row(
                "SELECT id, group_id FROM links WHERE token = ?1 AND revoked = 0",
                [&hash],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?;
        let Some((link, group)) = link else {
            return Ok(None);
        };
        Ok(self
            .group(GroupId(group))?
            .map(|g| Invite::Personal(g, LinkId(link))))
    }

    /// Append to the audit log: pseudonymous ids only, never names or words.
    pub fn audit(
        &self,
        group: GroupId,
        session: u64,
        action: AuditAction,
        actor: Option<ParticipantId>,
        subject: ParticipantId,
    ) -> Result<(), StoreError> {
        self.db().execute(
            "INSERT INTO audit (at, group_id, session, action, actor, subject) VALUES (unixepoch(), ?1, ?2, ?3, ?4, ?5)",
            params![group.0, session as i64, action.as_str(), actor.map(|a| a.0 as i64), subject.0 as i64],
        )?;
        Ok(())
    }

    /// The audit log of a group: (session, action, actor, subject), oldest first.
    pub fn audit_log(&self, group: GroupId) -> Result<Vec<AuditRow>, StoreError> {
        let db = self.db();
        let mut stmt = db.prepare(
            "SELECT session, action, actor, subject FROM audit WHERE group_id = ?1 ORDER BY id",
        )?;
        let rows = stmt.query_map([group.0], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get(1)?,
                r.get::<_, Option<i64>>(2)?.map(|a| a as u64),
                r.get::<_, i64>(3)? as u64,
            ))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests;
