//! The store against a real SQLite file or database in memory.

use super::*;

#[test]
fn the_data_directory_and_database_are_private_to_the_service() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let base = std::env::temp_dir().join(format!("haven-store-mode-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&base);
    // Created by Haven.
    let fresh = base.join("fresh");
    drop(Store::open(&fresh).unwrap());
    assert_eq!(mode(&fresh), 0o700);
    assert_eq!(mode(&fresh.join(DB_FILE)), 0o600);
    // Created by someone else, open to all.
    let open = base.join("open");
    std::fs::create_dir_all(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o755)).unwrap();
    drop(Store::open(&open).unwrap());
    assert_eq!(mode(&open) & 0o007, 0, "others keep access");
    assert_eq!(mode(&open.join(DB_FILE)), 0o600);
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn revoked_link_opens_nothing_and_group_link_keeps_working() {
    let s = Store::in_memory().unwrap();
    let f = s.add_facilitator("ada", "hash").unwrap();
    assert!(matches!(
        s.add_facilitator("ada", "x"),
        Err(StoreError::UsernameTaken)
    ));
    let g = s
        .create_group("Tuesday group", f, None, 12, "grouptoken", None)
        .unwrap();
    let l = s.create_link(g, "personaltoken", "S.K.").unwrap();
    assert!(matches!(s.invite("personaltoken").unwrap(), Some(Invite::Personal(_, id)) if id == l));
    assert!(s.revoke_link(g, l).unwrap());
    assert!(s.invite("personaltoken").unwrap().is_none());
    assert!(matches!(
        s.invite("grouptoken").unwrap(),
        Some(Invite::Group(_))
    ));
    assert!(s.invite("nope").unwrap().is_none());
    s.audit(
        g,
        1,
        AuditAction::Admitted,
        Some(ParticipantId(1)),
        ParticipantId(2),
    )
    .unwrap();
    assert_eq!(
        s.audit_log(g).unwrap(),
        vec![(1, "admitted".to_string(), Some(1), 2)]
    );
}

#[test]
fn a_rotated_group_link_opens_nothing_and_the_new_one_works() {
    let s = Store::in_memory().unwrap();
    let f = s.add_facilitator("ada", "hash").unwrap();
    let g = s
        .create_group("Tuesday group", f, None, 12, "old-group-token", None)
        .unwrap();
    assert!(s.rotate_invite(g, "new-group-token").unwrap());
    assert!(s.invite("old-group-token").unwrap().is_none());
    assert!(matches!(
        s.invite("new-group-token").unwrap(),
        Some(Invite::Group(_))
    ));
    let shown = s.group(g).unwrap().unwrap().invite_token;
    assert_eq!(shown.as_deref(), Some("new-group-token"));
}

/// Finding 9 of the hardening round: the database file held every
/// invite token in clear. A database written by an older Haven is
/// converted at start-up, and its links keep working.
#[test]
fn the_database_file_holds_no_invite_token_in_clear() {
    let dir = std::env::temp_dir().join(format!("haven-store-sealed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    // As an older Haven left it: schema 1, tokens in clear.
    {
        let db = Connection::open(dir.join(DB_FILE)).unwrap();
        db.execute_batch(schema::FIRST).unwrap();
        db.execute_batch(
            "CREATE TABLE schema_version (version INTEGER NOT NULL);
             INSERT INTO schema_version VALUES (1);
             INSERT INTO facilitators VALUES (1, 'ada', 'hash', 0);
             INSERT INTO groups (id, name, facilitator_id, capacity, invite_token, created_at)
               VALUES (1, 'Old group', 1, 12, 'legacy-group-token-in-clear', 0);
             INSERT INTO links (id, group_id, token, label, created_at)
               VALUES (1, 1, 'legacy-personal-token-in-clear', 'S', 0);",
        )
        .unwrap();
    }
    let s = Store::open(&dir).unwrap();
    assert!(matches!(
        s.invite("legacy-group-token-in-clear").unwrap(),
        Some(Invite::Group(_))
    ));
    assert!(matches!(
        s.invite("legacy-personal-token-in-clear").unwrap(),
        Some(Invite::Personal(..))
    ));
    let g = s
        .create_group(
            "New group",
            AccountId(1),
            None,
            12,
            "fresh-group-token-xyz",
            None,
        )
        .unwrap();
    s.create_link(g, "fresh-personal-token-xyz", "K").unwrap();
    assert_eq!(
        s.links(g).unwrap()[0].token.as_deref(),
        Some("fresh-personal-token-xyz"),
        "the console can still show it"
    );
    drop(s);
    let bytes = std::fs::read(dir.join(DB_FILE)).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    for token in [
        "legacy-group-token-in-clear",
        "legacy-personal-token-in-clear",
        "fresh-group-token-xyz",
        "fresh-personal-token-xyz",
    ] {
        assert!(!text.contains(token), "{token} is in the database file");
    }
    // Opened again (no second conversion), everything still works.
    let s = Store::open(&dir).unwrap();
    assert!(matches!(
        s.invite("fresh-group-token-xyz").unwrap(),
        Some(Invite::Group(_))
    ));
    assert!(matches!(
        s.invite("legacy-group-token-in-clear").unwrap(),
        Some(Invite::Group(_))
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_group_keeps_its_facilitators_own_words() {
    let s = Store::in_memory().unwrap();
    let f = s.add_facilitator("ada", "hash").unwrap();
    let g = s
        .create_group("Tuesday group", f, None, 12, "grouptoken", None)
        .unwrap();
    let got = s.group(g).unwrap().unwrap();
    assert_eq!(
        (got.agreement, got.stepped_out_notice),
        (None, None),
        "Haven's defaults"
    );
    s.set_group_words(g, Some("We listen.\nWe stay."), Some(""))
        .unwrap();
    let Some(Invite::Group(got)) = s.invite("grouptoken").unwrap() else {
        panic!("the group link opens the group")
    };
    assert_eq!(got.agreement.as_deref(), Some("We listen.\nWe stay."));
    assert_eq!(
        got.stepped_out_notice.as_deref(),
        Some(""),
        "no line at all"
    );
}
