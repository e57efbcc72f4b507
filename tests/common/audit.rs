//! Checks behind the confidentiality tests, kept apart so that each can be
//! shown to fail on what it must catch.

use std::collections::BTreeSet;

/// Name fragments of media container, muxer, codec-to-file and recording
/// crates. None may enter the `haven` binary.
pub const FORBIDDEN_CRATE_FRAGMENTS: &[&str] = &[
    "webm",
    "matroska",
    "mkv",
    "mp4",
    "ffmpeg",
    "gstreamer",
    "hound",
    "symphonia",
    "ogg",
    "mp3",
    "flac",
    "vorbis",
    "muxer",
    "wav",
    "ivf",
    "y4m",
    "mpeg",
    "avi",
    "screencap",
    "recorder",
];

/// Crates whose name contains a fragment above for an innocent reason.
const NOT_MEDIA: &[&str] = &["haven-recorder-disabled"];

#[derive(Debug, PartialEq, Eq)]
pub enum AuditFinding {
    /// A media container/recording crate.
    Forbidden(String),
    /// A crate nobody reviewed.
    Unreviewed(String),
}

pub fn audit_dependencies(
    names: &BTreeSet<String>,
    allowed: &BTreeSet<String>,
) -> Vec<AuditFinding> {
    let mut findings = Vec::new();
    for name in names {
        let lower = name.to_lowercase();
        if !NOT_MEDIA.contains(&name.as_str())
            && FORBIDDEN_CRATE_FRAGMENTS.iter().any(|f| lower.contains(f))
        {
            findings.push(AuditFinding::Forbidden(name.clone()));
        } else if !allowed.contains(name) {
            findings.push(AuditFinding::Unreviewed(name.clone()));
        }
    }
    findings
}

/// What the client and server sources must not contain: ways to record,
/// capture or download media.
pub const FORBIDDEN_WEB_APIS: &[&str] = &[
    "MediaRecorder",
    "captureStream",
    "createObjectURL",
    ".download",
    "download=",
    "showSaveFilePicker",
    "ImageCapture",
    "toDataURL",
    "toBlob",
    "getDisplayMedia",
    "insertable",
    "createEncodedStreams",
    "RTCRtpScriptTransform",
];

/// The one exception: end-to-end encryption needs encoded transforms. Only
/// `e2ee.js` may create one, and only `e2ee-worker.js` receives the frames,
/// which [`scan_frame_worker`] checks can go nowhere but back into the
/// browser's own media pipeline.
pub const ENCRYPTION_ONLY: (&str, &str) = ("e2ee.js", "RTCRtpScriptTransform");

/// What the frame worker must not contain: any way to send or keep data
/// (network, storage, other contexts), or to post anything but its counts.
pub const FORBIDDEN_IN_FRAME_WORKER: &[&str] = &[
    "fetch(",
    "WebSocket",
    "XMLHttpRequest",
    "sendBeacon",
    "importScripts",
    "indexedDB",
    "caches",
    "localStorage",
    "BroadcastChannel",
    "MessageChannel",
    "WebTransport",
    "RTCDataChannel",
    "FileSystem",
];

/// Findings in the frame worker: a forbidden API, or a `postMessage` that
/// is not the counts (numbers, never frames).
pub fn scan_frame_worker(body: &str) -> Vec<String> {
    let mut found: Vec<String> = FORBIDDEN_IN_FRAME_WORKER
        .iter()
        .filter(|api| body.contains(*api))
        .map(|api| api.to_string())
        .collect();
    let posts = body.matches("postMessage(").count();
    let counts = body
        .matches(
            "postMessage({ type: 'counts', id: msg.id, counts: { ...counts, keys: [...held] } })",
        )
        .count();
    if posts != counts || counts != 1 {
        found.push(format!(
            "{posts} postMessage calls, not the one that posts counts"
        ));
    }
    found
}

/// Findings of forbidden APIs in (file name, contents) pairs.
pub fn scan_client(files: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (name, body) in files {
        for api in FORBIDDEN_WEB_APIS {
            let (allowed_file, allowed_api) = ENCRYPTION_ONLY;
            if *api == allowed_api && name.ends_with(&format!("/{allowed_file}")) {
                continue;
            }
            if body.contains(api) {
                found.push(format!("{name}: {api}"));
            }
        }
    }
    found
}

/// Whether the server sources declare anything that records: a route, a
/// command-line flag or a Cargo feature whose name says so.
pub fn scan_server(files: &[(String, String)]) -> Vec<String> {
    let mut found = Vec::new();
    for (name, body) in files {
        let manifest = name.ends_with("Cargo.toml");
        let mut section = String::new();
        for (i, line) in body.lines().enumerate() {
            let l = line.to_lowercase();
            if l.trim_start().starts_with('[') {
                section = l.trim().to_owned();
            }
            let declares = if manifest {
                section == "[features]" || section == "[[bin]]"
            } else {
                l.contains(".route(") || l.contains("#[arg(") || l.contains("long =")
            };
            let records = ["record", "capture", "archive", "dump"]
                .iter()
                .any(|w| l.contains(w))
                && !l.contains("recorder-disabled")
                && !l.contains("recorder_disabled");
            if declares && records {
                found.push(format!("{name}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    found
}

/// Which of `secrets` appear in `log`.
pub fn leaked<'a>(log: &str, secrets: &[&'a str]) -> Vec<&'a str> {
    secrets
        .iter()
        .copied()
        .filter(|s| !s.is_empty() && log.contains(s))
        .collect()
}
