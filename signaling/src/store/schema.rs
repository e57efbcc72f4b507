//! Schema migrations, run at start-up. Each migration runs once, in order,
//! inside a transaction; `schema_version` records how far the file is.

use rusqlite::Connection;

/// The first schema (for tests of the conversion of older databases).
#[cfg(test)]
pub const FIRST: &str = MIGRATIONS[0];

const MIGRATIONS: &[&str] = &[
    // 1: accounts, groups, personal links, audit log.
    "CREATE TABLE facilitators (
        id INTEGER PRIMARY KEY,
        username TEXT NOT NULL UNIQUE,
        password_hash TEXT NOT NULL,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE groups (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        facilitator_id INTEGER NOT NULL REFERENCES facilitators(id),
        co_facilitator_id INTEGER REFERENCES facilitators(id),
        capacity INTEGER NOT NULL,
        invite_token TEXT NOT NULL UNIQUE,
        weekday INTEGER,
        start_minute INTEGER,
        duration_minutes INTEGER,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE links (
        id INTEGER PRIMARY KEY,
        group_id INTEGER NOT NULL REFERENCES groups(id),
        token TEXT NOT NULL UNIQUE,
        label TEXT NOT NULL,
        revoked INTEGER NOT NULL DEFAULT 0,
        created_at INTEGER NOT NULL
    );
    CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at INTEGER NOT NULL,
        group_id INTEGER NOT NULL,
        session INTEGER NOT NULL,
        action TEXT NOT NULL,
        actor INTEGER,
        subject INTEGER NOT NULL
    );",
    // 2: invite links at rest: `invite_token`/`token` now hold the SHA-256
    // of the token (lookups), the sealed columns a copy for showing it
    // (see `sealed.rs`; existing rows are converted at start-up).
    "ALTER TABLE groups ADD COLUMN invite_sealed TEXT;
    ALTER TABLE links ADD COLUMN token_sealed TEXT;",
    // 3: accounts can be disabled; a password change or a disable ends the
    // logins made before it (Unix milliseconds).
    "ALTER TABLE facilitators ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE facilitators ADD COLUMN logins_valid_from_ms INTEGER NOT NULL DEFAULT 0;",
    // 4: a co-facilitator is invited and accepts; until then the group
    // names nobody. `co_invite_name` is what the facilitator typed (shown
    // back to them whether or not such an account exists), `co_invite_id`
    // the account it names, if any (cleared when it declines).
    "ALTER TABLE groups ADD COLUMN co_invite_name TEXT;
    ALTER TABLE groups ADD COLUMN co_invite_id INTEGER REFERENCES facilitators(id);",
    // 5: the facilitator's own words: the group agreement members accept
    // before they knock, and the line the group sees while someone is in
    // the side room ("" hides it). NULL: Haven's defaults.
    "ALTER TABLE groups ADD COLUMN agreement TEXT;
    ALTER TABLE groups ADD COLUMN stepped_out_notice TEXT;",
    // 6: facilitators' logins survive a restart: the SHA-256 of each login
    // secret (never the secret), its account, and when it began and was
    // last used (Unix milliseconds).
    "CREATE TABLE logins (
        token_hash BLOB PRIMARY KEY,
        account_id INTEGER NOT NULL REFERENCES facilitators(id),
        began_ms INTEGER NOT NULL,
        seen_ms INTEGER NOT NULL
    );",
];

/// Bring the database up to the latest schema.
pub fn migrate(db: &Connection) -> rusqlite::Result<()> {
    db.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")?;
    let current: i64 = db.query_row(
        "SELECT coalesce(max(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current.max(0) as usize) {
        let tx = db.unchecked_transaction()?;
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version) VALUES (?1)",
            [(i + 1) as i64],
        )?;
        tx.commit()?;
        tracing::info!(version = i + 1, "database migrated");
    }
    Ok(())
}
