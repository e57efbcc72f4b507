//! The real `haven serve`, locked down, runs a session with media and chat;
//! from outside the process the test proves that it cannot write outside its
//! data directory, is not dumpable and cannot dump core, that the session
//! left nothing but the database (and its link key) behind, and that with tracing at `trace`
//! level no display name, address, SDP, token or chat reached the log.

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

use common::audit::leaked;
use common::{
    connect_media, hears_exactly, hello_member, hello_staff, is_root, wait_until, waiting_id,
    Console, Options, Server, Ws,
};
use serde_json::json;

const TONES: [f32; 3] = [440.0, 660.0, 880.0];
const CHAT: &str = "the-chat-phrase-7731";
const PRIVATE: &str = "a-private-word-5521";

fn assert_not_dumpable(pid: u32) {
    let status = format!("/proc/{pid}/status");
    if is_root() {
        // The server runs as nobody; the kernel hands /proc/PID of a
        // non-dumpable process to root.
        let text = std::fs::read_to_string(&status).unwrap();
        let uid_line = text.lines().find(|l| l.starts_with("Uid:")).unwrap();
        assert!(
            uid_line.contains("65534"),
            "the server should run as nobody: {uid_line}"
        );
        assert_eq!(
            std::fs::metadata(&status).unwrap().uid(),
            0,
            "/proc/{pid} is owned by the process's user: it is dumpable"
        );
    } else {
        // Same user: a dumpable process's environment would be readable.
        let err = std::fs::read(format!("/proc/{pid}/environ")).unwrap_err();
        assert_eq!(
            err.kind(),
            std::io::ErrorKind::PermissionDenied,
            "the process is dumpable"
        );
    }
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let core = limits
        .lines()
        .find(|l| l.starts_with("Max core file size"))
        .unwrap();
    assert_eq!(
        core.split_whitespace().collect::<Vec<_>>()[4..6],
        ["0", "0"],
        "core dumps are allowed: {core}"
    );
}

/// Every file the process has open is in its data directory (or a device).
fn assert_open_files_confined(pid: u32, data_dir: &Path) {
    let data_dir = data_dir.canonicalize().unwrap();
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        let Ok(target) = std::fs::read_link(fd.path()) else {
            continue;
        };
        let t = target.to_string_lossy();
        let special = t.starts_with("socket:")
            || t.starts_with("pipe:")
            || t.starts_with("anon_inode:")
            || t.starts_with("/dev/");
        assert!(
            special || target.starts_with(&data_dir),
            "the server has {t} open"
        );
    }
}

/// An offer with a private note where a media type belongs: str0m's SDP
/// parser quotes such lines in its warnings.
const HOSTILE_SDP: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=Marigold-Private-Note-4711 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locked_down_server_keeps_nothing_but_its_database_and_logs_no_secrets() {
    let options = Options {
        as_nobody: true,
        log_level: Some("trace"),
        capture_log: true,
        ..Options::default()
    };
    let mut server = Server::start_with(&["ada"], options).await;
    let pid = server.pid();
    let console = Console::login(&server, "ada").await;
    let (group, group_token) = console.open_group("Friday group", 12).await;
    let (_, personal_token) = console.personal_link(group, "Q").await;

    let mut fac = Ws::connect(&server, Some(&console.cookie)).await;
    fac.send(hello_staff(group, "Ondine")).await;
    fac.expect_type("admitted").await;
    let mut q = Ws::connect(&server, None).await;
    q.send(hello_member(&personal_token, "Quillon")).await;
    q.expect_type("waiting").await;
    let mut z = Ws::connect(&server, None).await;
    z.send(hello_member(&group_token, "Zephyrine")).await;
    let resume = z.expect_type("welcome").await["resume"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut m = Ws::connect(&server, None).await;
    m.send(hello_member(&group_token, "Marigold")).await;
    m.expect_type("waiting").await;
    let list = fac
        .expect("three knocks", |v| {
            v["type"] == "waiting_list" && v["waiting"].as_array().is_some_and(|a| a.len() == 3)
        })
        .await;
    for name in ["Quillon", "Zephyrine"] {
        fac.send(json!({ "type": "admit", "participant": waiting_id(&list, name).unwrap() }))
            .await;
    }
    fac.send(json!({ "type": "message_waiting", "participant": waiting_id(&list, "Marigold").unwrap(), "text": PRIVATE })).await;
    q.expect_type("admitted").await;
    z.expect_type("admitted").await;

    let fac_media = connect_media(&mut fac, 0, 3, &TONES).await;
    let q_media = connect_media(&mut q, 1, 3, &TONES).await;
    let z_media = connect_media(&mut z, 2, 3, &TONES).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let senders: Vec<_> = [(&fac_media, 0), (&q_media, 1), (&z_media, 2)]
        .iter()
        .map(|(c, i)| c.spawn_media(TONES[*i], stop.clone()))
        .collect();
    wait_until("everyone hears the others", || {
        hears_exactly(&fac_media, &TONES[1..])
            && hears_exactly(&q_media, &[TONES[0], TONES[2]])
            && hears_exactly(&z_media, &TONES[..2])
    })
    .await;
    q.send(json!({ "type": "chat", "text": CHAT })).await;
    z.expect("the chat", |v| v["type"] == "chat" && v["text"] == CHAT)
        .await;
    // A hostile offer whose text a parser would quote back in a warning.
    z.send(json!({ "type": "offer", "sdp": HOSTILE_SDP })).await;
    z.expect("the offer refused", |v| v["type"] == "error")
        .await;

    // From outside, while the session runs.
    assert_not_dumpable(pid);
    assert_open_files_confined(pid, &server.data_dir);
    let log = server.log.clone().unwrap();
    assert!(std::process::Command::new("kill")
        .args(["-USR1", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    wait_until("the probe reports", || {
        log.lock().unwrap().contains("lock-down probe")
    })
    .await;
    assert!(log
        .lock()
        .unwrap()
        .contains("lock-down probe: a write outside the data directory was refused"));
    let parent = server.data_dir.parent().unwrap();
    let probes: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!(".haven-lockdown-probe-{pid}"))
        })
        .collect();
    assert!(
        probes.is_empty(),
        "a probe file was written outside the data directory"
    );

    fac.send(json!({ "type": "end" })).await;
    q.expect_type("session_ended").await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in senders {
        let _ = s.await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    server.terminate();

    // Nothing but the database and its link key stayed behind.
    let mut left: Vec<String> = std::fs::read_dir(&server.data_dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["haven.sqlite3", "link.key"]);

    // The log was at trace level and holds none of the secrets.
    let log = log.lock().unwrap().clone();
    assert!(
        log.contains("participant joined the media plane")
            && log.contains("TRACE")
            && log.contains("DEBUG"),
        "tracing was not at trace level: {log}"
    );
    let cookie_value = console.cookie.split('=').nth(1).unwrap().to_owned();
    let secrets = [
        "Ondine",
        "Quillon",
        "Zephyrine",
        "Marigold",
        CHAT,
        PRIVATE,
        "Marigold-Private-Note-4711",
        &group_token,
        &personal_token,
        &cookie_value,
        &resume,
        "127.0.0.1",
        "a=ice-ufrag",
        "a=fingerprint",
        "m=audio",
        "a=candidate",
    ];
    let found = leaked(&log, &secrets);
    assert!(found.is_empty(), "the log contains {found:?}");
    let _ = m;
}

/// The log check catches what it must (a test of the test).
#[test]
fn the_log_check_catches_a_leak() {
    let log = "INFO haven: admitted Quillon from 127.0.0.1:5000 with v=0\r\na=ice-ufrag:abc";
    assert_eq!(
        leaked(log, &["Quillon", "127.0.0.1", "a=ice-ufrag", "Marigold"]),
        ["Quillon", "127.0.0.1", "a=ice-ufrag"]
    );
}
