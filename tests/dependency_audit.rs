//! The `haven` binary's dependency tree holds no media container, muxer or
//! recording crate, and no crate that was not reviewed and added to
//! `recorder-disabled/allowed-crates.txt`.

mod common;

use std::collections::BTreeSet;
use std::process::Command;

use common::audit::{audit_dependencies, AuditFinding};

fn dependency_names() -> BTreeSet<String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree", "-p", "haven", "-e", "normal", "--prefix", "none", "--format", "{p}",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

fn allowed() -> BTreeSet<String> {
    include_str!("../recorder-disabled/allowed-crates.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

#[test]
fn no_recording_crate_and_nothing_unreviewed_in_the_binary() {
    let names = dependency_names();
    assert!(
        names.contains("str0m") && names.contains("axum"),
        "cargo tree output not understood: {names:?}"
    );
    let findings = audit_dependencies(&names, &allowed());
    assert!(findings.is_empty(), "dependency audit failed: {findings:?}");
}

/// The audit itself fails on what it must catch (a test of the test).
#[test]
fn the_audit_catches_a_recording_crate_and_an_unreviewed_one() {
    let allowed = allowed();
    let mut names = dependency_names();
    names.insert("hound".into());
    names.insert("gstreamer-app".into());
    names.insert("some-new-crate".into());
    let findings = audit_dependencies(&names, &allowed);
    assert!(findings.contains(&AuditFinding::Forbidden("hound".into())));
    assert!(findings.contains(&AuditFinding::Forbidden("gstreamer-app".into())));
    assert!(findings.contains(&AuditFinding::Unreviewed("some-new-crate".into())));
    // Even if someone adds a muxer to the allow-list, it stays forbidden.
    let mut permissive = allowed.clone();
    permissive.insert("webm".into());
    let findings = audit_dependencies(&BTreeSet::from(["webm".to_string()]), &permissive);
    assert_eq!(findings, vec![AuditFinding::Forbidden("webm".into())]);
}
