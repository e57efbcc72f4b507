//! A member whose network only lets them reach a TURN server (relay-only
//! ICE, as behind a firewall that blocks UDP to the clinic's server) joins
//! through the clinic's real coturn with the time-limited credentials Haven
//! hands out on admission, and talks with the facilitator. Credentials never
//! reach the waiting room.

mod common;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use common::coturn::Coturn;
use common::{free_port, hello_member, hello_staff, wait_until, Console, Options, Server, Ws};
use haven_e2e::webrtc_client::{RTCIceServer, ToneClient};
use serde_json::json;

const SECRET: &str = "a-secret-shared-with-coturn";
const TONES: [f32; 2] = [440.0, 660.0];

/// Deletes a file when the test ends, however it ends.
struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn member_behind_a_udp_blocking_firewall_joins_through_turn() {
    let turn_port = free_port();
    let coturn = Coturn::start(turn_port, SECRET);
    let secret_file = std::env::temp_dir().join(format!("haven-turn-secret-{turn_port}"));
    std::fs::write(&secret_file, format!("{SECRET}\n")).unwrap();
    let _remove_secret = RemoveOnDrop(secret_file.clone());
    let turn_url = format!("turn:127.0.0.1:{turn_port}?transport=udp");
    let options = Options {
        env: vec![
            ("HAVEN_TURN_URLS", turn_url.clone()),
            (
                "HAVEN_TURN_SECRET_FILE",
                secret_file.to_string_lossy().into_owned(),
            ),
        ],
        ..Options::default()
    };
    let server = Server::start_with(&["ada"], options).await;
    let console = Console::login(&server, "ada").await;
    let (group, token) = console.open_group("Friday group", 12).await;

    let mut fac = Ws::connect(&server, Some(&console.cookie)).await;
    fac.send(hello_staff(group, "Ada")).await;
    fac.expect_type("admitted").await;
    let mut sam = Ws::connect(&server, None).await;
    sam.send(hello_member(&token, "Sam")).await;
    sam.expect_type("waiting").await;
    let list = fac
        .expect("Sam's knock", |v| {
            v["type"] == "waiting_list" && v["waiting"].as_array().is_some_and(|a| a.len() == 1)
        })
        .await;
    // Nothing the waiting member received mentions the TURN server.
    sam.drain(Duration::from_millis(500)).await;
    let before = serde_json::to_string(&sam.seen).unwrap();
    assert!(
        !before.contains("turn:") && !before.contains("ice_servers"),
        "the waiting room learnt about TURN: {before}"
    );

    let sam_id = list["waiting"][0]["id"].as_u64().unwrap();
    fac.send(json!({ "type": "admit", "participant": sam_id }))
        .await;
    let admitted = sam.expect_type("admitted").await;
    let ice = &admitted["ice_servers"][0];
    assert_eq!(ice["urls"], json!([turn_url]));
    let username = ice["username"].as_str().unwrap();
    let expiry: u64 = username.strip_suffix(":haven").unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(
        (now + 4 * 3600 - 60..=now + 4 * 3600 + 60).contains(&expiry),
        "credentials valid for about 4 hours: {username}"
    );
    let server_for_sam = RTCIceServer {
        urls: vec![turn_url.clone()],
        username: username.to_owned(),
        credential: ice["credential"].as_str().unwrap().to_owned(),
    };

    // Ada connects directly; Sam only through the relay.
    let stop = Arc::new(AtomicBool::new(false));
    let ada_media = common::connect_media(&mut fac, 0, 2, &TONES).await;
    let mut sam_media =
        ToneClient::with_ice(1, 2, TONES.to_vec(), vec![server_for_sam], true).await;
    let candidates: Vec<&str> = sam_media
        .offer_text()
        .lines()
        .filter(|l| l.starts_with("a=candidate"))
        .collect();
    assert!(
        !candidates.is_empty() && candidates.iter().all(|l| l.contains("typ relay")),
        "a relay-only client offers relay candidates only: {candidates:?}"
    );
    sam.send(json!({ "type": "offer", "sdp": sam_media.take_offer() }))
        .await;
    let answer = sam.expect_type("answer").await;
    sam_media
        .accept_answer(answer["sdp"].as_str().unwrap().to_owned())
        .await;
    let senders = [
        ada_media.spawn_media(TONES[0], stop.clone()),
        sam_media.spawn_media(TONES[1], stop.clone()),
    ];
    wait_until("Ada and Sam hear each other through the relay", || {
        common::hears_exactly(&ada_media, &TONES[1..])
            && common::hears_exactly(&sam_media, &TONES[..1])
    })
    .await;
    let log = coturn.log.lock().unwrap().clone();
    assert!(
        log.contains("ALLOCATE processed, success"),
        "coturn allocated no relay: {log}"
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in senders {
        let _ = s.await;
    }
}
