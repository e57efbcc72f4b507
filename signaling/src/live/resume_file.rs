//! The resume file of an open session: what a restarted server needs to
//! put everyone back where they were (see `room/resume.rs` for what that
//! is, and is not). One small JSON file per open session in the data
//! directory, `session-<group>.resume`, mode 0600, replaced atomically
//! (written beside, synced, renamed) after every change, deleted when the
//! session ends. It holds ids, roles, flags and hashes: no names, no chat,
//! no resume secrets, no addresses.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::room::{
    AccountId, GroupId, KeyEpoch, LinkId, ParticipantId, ResumeKey, Role, RoomSnapshot, Seat,
    SeatSnapshot,
};

/// The file format's version.
const VERSION: u32 = 1;
const PREFIX: &str = "session-";
const SUFFIX: &str = ".resume";

/// An open session as written to disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedSession {
    /// The group.
    pub group: GroupId,
    /// When the session opened (for the facilitators' clock).
    pub opened: SystemTime,
    /// Members admitted at most at once.
    pub capacity: usize,
    /// Scheduled length.
    pub length: Duration,
    /// The room.
    pub room: RoomSnapshot,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV1 {
    version: u32,
    group: i64,
    opened_unix: u64,
    capacity: usize,
    length_seconds: u64,
    moderator: Option<u64>,
    locked: bool,
    chat_enabled: bool,
    next_order: u64,
    key_epoch: u32,
    blocked_links: Vec<i64>,
    blocked_keys: Vec<String>,
    people: Vec<PersonV1>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PersonV1 {
    id: u64,
    /// `staff:<account>`, `personal:<link>` or `group`.
    seat: String,
    /// SHA-256 of the resume secret, hex.
    key: String,
    device_of: Option<u64>,
    role: String,
    waiting: Option<u64>,
    audio: bool,
    video: bool,
    forced_audio: bool,
    forced_video: bool,
    may_unmute: bool,
    away: bool,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn seat_text(seat: &Seat) -> String {
    match seat {
        Seat::Staff(a) => format!("staff:{}", a.0),
        Seat::Personal(l) => format!("personal:{}", l.0),
        Seat::Group => "group".into(),
    }
}

fn seat_of(text: &str) -> Option<Seat> {
    match text.split_once(':') {
        Some(("staff", a)) => a.parse().ok().map(|a| Seat::Staff(AccountId(a))),
        Some(("personal", l)) => l.parse().ok().map(|l| Seat::Personal(LinkId(l))),
        None if text == "group" => Some(Seat::Group),
        _ => None,
    }
}

fn role_text(role: Role) -> &'static str {
    match role {
        Role::Facilitator => "facilitator",
        Role::CoFacilitator => "co_facilitator",
        Role::Member => "member",
    }
}

fn role_of(text: &str) -> Option<Role> {
    match text {
        "facilitator" => Some(Role::Facilitator),
        "co_facilitator" => Some(Role::CoFacilitator),
        "member" => Some(Role::Member),
        _ => None,
    }
}

/// The file's text for a session.
pub fn encode(s: &SavedSession) -> String {
    let unix = |t: SystemTime| t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let file = FileV1 {
        version: VERSION,
        group: s.group.0,
        opened_unix: unix(s.opened),
        capacity: s.capacity,
        length_seconds: s.length.as_secs(),
        moderator: s.room.moderator.map(|m| m.0),
        locked: s.room.locked,
        chat_enabled: s.room.chat_enabled,
        next_order: s.room.next_order,
        key_epoch: s.room.key_epoch.0,
        blocked_links: s.room.blocked_links.iter().map(|l| l.0).collect(),
        blocked_keys: s
            .room
            .blocked_keys
            .iter()
            .map(|k| hex(&k.digest()))
            .collect(),
        people: s
            .room
            .people
            .iter()
            .map(|p| PersonV1 {
                id: p.id.0,
                seat: seat_text(&p.seat),
                key: hex(&p.key.digest()),
                device_of: p.device_of.map(|d| d.0),
                role: role_text(p.role).into(),
                waiting: p.waiting,
                audio: p.self_media.0,
                video: p.self_media.1,
                forced_audio: p.forced.0,
                forced_video: p.forced.1,
                may_unmute: p.may_unmute,
                away: p.away,
            })
            .collect(),
    };
    serde_json::to_string_pretty(&file).expect("plain data serializes")
}

/// A session from a file's text, or `None` if it is not one.
pub fn decode(text: &str) -> Option<SavedSession> {
    let f: FileV1 = serde_json::from_str(text).ok()?;
    if f.version != VERSION {
        return None;
    }
    let key = |h: &str| unhex(h).map(ResumeKey::from_digest);
    let people = f
        .people
        .iter()
        .map(|p| {
            Some(SeatSnapshot {
                id: ParticipantId(p.id),
                seat: seat_of(&p.seat)?,
                key: key(&p.key)?,
                device_of: p.device_of.map(ParticipantId),
                role: role_of(&p.role)?,
                waiting: p.waiting,
                self_media: (p.audio, p.video),
                forced: (p.forced_audio, p.forced_video),
                may_unmute: p.may_unmute,
                away: p.away,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    Some(SavedSession {
        group: GroupId(f.group),
        opened: UNIX_EPOCH + Duration::from_secs(f.opened_unix),
        capacity: f.capacity,
        length: Duration::from_secs(f.length_seconds),
        room: RoomSnapshot {
            people,
            moderator: f.moderator.map(ParticipantId),
            locked: f.locked,
            chat_enabled: f.chat_enabled,
            blocked_links: f.blocked_links.into_iter().map(LinkId).collect(),
            blocked_keys: f
                .blocked_keys
                .iter()
                .map(|k| key(k))
                .collect::<Option<_>>()?,
            next_order: f.next_order,
            key_epoch: KeyEpoch(f.key_epoch),
        },
    })
}

/// Where a group's session is kept in `dir`.
pub fn path_for(dir: &Path, group: GroupId) -> PathBuf {
    dir.join(format!("{PREFIX}{}{SUFFIX}", group.0))
}

/// Replace the file with `text` atomically: a crash leaves the old file or
/// the new one, never half of either.
pub fn write_atomically(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("resume.tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Every session kept in `dir`; files that cannot be read are named in the
/// log (by file name only) and removed, so one bad file cannot stop a start.
pub fn load_all(dir: &Path) -> Vec<SavedSession> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !(name.starts_with(PREFIX) && name.ends_with(SUFFIX)) {
            continue;
        }
        match std::fs::read_to_string(entry.path())
            .ok()
            .and_then(|t| decode(&t))
        {
            Some(s) => out.push(s),
            None => {
                tracing::warn!(file = %name, "a session's resume file cannot be read; it is removed");
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SavedSession {
        SavedSession {
            group: GroupId(3),
            opened: UNIX_EPOCH + Duration::from_secs(1_800_000_000),
            capacity: 12,
            length: Duration::from_secs(90 * 60),
            room: RoomSnapshot {
                people: vec![
                    SeatSnapshot {
                        id: ParticipantId(1),
                        seat: Seat::Staff(AccountId(1)),
                        key: ResumeKey::new("staff-secret".into()),
                        device_of: None,
                        role: Role::Facilitator,
                        waiting: None,
                        self_media: (true, true),
                        forced: (false, false),
                        may_unmute: true,
                        away: false,
                    },
                    SeatSnapshot {
                        id: ParticipantId(2),
                        seat: Seat::Personal(LinkId(7)),
                        key: ResumeKey::new("the-members-resume-secret".into()),
                        device_of: None,
                        role: Role::Member,
                        waiting: Some(4),
                        self_media: (true, false),
                        forced: (true, false),
                        may_unmute: false,
                        away: true,
                    },
                ],
                moderator: Some(ParticipantId(1)),
                locked: true,
                chat_enabled: false,
                blocked_links: vec![LinkId(9)],
                blocked_keys: vec![ResumeKey::new("a-denied-device".into())],
                next_order: 4,
                key_epoch: KeyEpoch(7),
            },
        }
    }

    #[test]
    fn a_saved_session_reads_back_as_it_was() {
        let s = sample();
        assert_eq!(decode(&encode(&s)), Some(s));
    }

    #[test]
    fn the_file_holds_ids_roles_flags_and_hashes_only() {
        let text = encode(&sample());
        // No secret, only its hash.
        assert!(!text.contains("the-members-resume-secret"));
        assert!(text.contains(&hex(
            &ResumeKey::new("the-members-resume-secret".into()).digest()
        )));
        // Every field is one of these (no name, chat, address or SDP).
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let top: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let allowed_top = [
            "version",
            "group",
            "opened_unix",
            "capacity",
            "length_seconds",
            "moderator",
            "locked",
            "chat_enabled",
            "next_order",
            "key_epoch",
            "blocked_links",
            "blocked_keys",
            "people",
        ];
        assert!(top.iter().all(|k| allowed_top.contains(k)), "{top:?}");
        let allowed_person = [
            "id",
            "seat",
            "key",
            "device_of",
            "role",
            "waiting",
            "audio",
            "video",
            "forced_audio",
            "forced_video",
            "may_unmute",
            "away",
        ];
        for p in v["people"].as_array().unwrap() {
            for k in p.as_object().unwrap().keys() {
                assert!(allowed_person.contains(&k.as_str()), "{k}");
            }
        }
        // A file with anything more is refused, not half-read.
        let with_name = text.replacen("\"away\"", "\"name\": \"Sam\", \"away\"", 1);
        assert_eq!(decode(&with_name), None);
    }

    #[test]
    fn a_write_is_all_or_nothing_and_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("haven-resume-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = path_for(&dir, GroupId(3));
        let first = encode(&sample());
        write_atomically(&path, &first).unwrap();
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // A write that cannot complete (its temporary file's place is taken
        // by a directory) leaves the previous file whole.
        std::fs::create_dir_all(path.with_extension("resume.tmp")).unwrap();
        assert!(write_atomically(&path, "{ half").is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), first);
        std::fs::remove_dir(path.with_extension("resume.tmp")).unwrap();
        // Loading finds it; a damaged file is removed, not trusted.
        let bad = path_for(&dir, GroupId(4));
        std::fs::write(&bad, "{ not json").unwrap();
        let loaded = load_all(&dir);
        assert_eq!(loaded, vec![sample()]);
        assert!(!bad.exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
