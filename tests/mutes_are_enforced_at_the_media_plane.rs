//! Issue 15, item 4, through the real binary with webrtc-rs clients that
//! keep sending whatever they are told: a member's own mute stops their
//! audio at the SFU (the others' inbound audio stops growing) and unmuting
//! brings it back; a facilitator's mute survives the member reconnecting
//! with their resume key and a new offer from a new peer connection.

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{connect_media, hello_member, hello_staff, waiting_id, Console, Server, Ws};
use haven_e2e::webrtc_client::ToneClient;
use serde_json::json;

const TONES: [f32; 2] = [440.0, 660.0];

/// Audio packets `client` received from anyone.
fn audio_in(client: &ToneClient) -> u64 {
    client.received.lock().unwrap().audio_packets.values().sum()
}

/// Whether `client`'s inbound audio grows (sampled after 500 ms for what is
/// in flight, then over 2 s).
async fn audio_flows(client: &ToneClient) -> bool {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = audio_in(client);
    tokio::time::sleep(Duration::from_secs(2)).await;
    audio_in(client) > before + 20
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_mutes_and_forced_mutes_stop_audio_at_the_sfu_also_after_a_reconnect() {
    let server = Server::start(&["ada"]).await;
    let console = Console::login(&server, "ada").await;
    let (group, token) = console.open_group("Thursday group", 12).await;
    let mut fac = Ws::connect(&server, Some(&console.cookie)).await;
    fac.send(hello_staff(group, "Ada")).await;
    fac.expect_type("admitted").await;
    let mut sam = Ws::connect(&server, None).await;
    sam.send(hello_member(&token, "Sam")).await;
    let key = sam.expect_type("welcome").await["resume"]
        .as_str()
        .unwrap()
        .to_owned();
    let list = fac
        .expect("Sam knocks", |v| {
            v["type"] == "waiting_list" && waiting_id(v, "Sam").is_some()
        })
        .await;
    let sam_id = waiting_id(&list, "Sam").unwrap();
    fac.send(json!({ "type": "admit", "participant": sam_id }))
        .await;
    sam.expect_type("admitted").await;

    let fac_media = connect_media(&mut fac, 0, 2, &TONES).await;
    let sam_media = connect_media(&mut sam, 1, 2, &TONES).await;
    let stop_fac = Arc::new(AtomicBool::new(false));
    let stop_sam = Arc::new(AtomicBool::new(false));
    let fac_sender = fac_media.spawn_media(TONES[0], stop_fac.clone());
    let sam_sender = sam_media.spawn_media(TONES[1], stop_sam.clone());
    assert!(audio_flows(&fac_media).await, "Sam never reached Ada");

    // Sam's own mute: the client keeps sending; the SFU drops it.
    sam.send(json!({ "type": "media", "audio": false, "video": true }))
        .await;
    assert!(
        !audio_flows(&fac_media).await,
        "Sam's self-mute is not enforced"
    );
    sam.send(json!({ "type": "media", "audio": true, "video": true }))
        .await;
    assert!(
        audio_flows(&fac_media).await,
        "Sam's unmute did not come through"
    );

    // The facilitator's mute, which Sam may not lift.
    fac.send(json!({ "type": "mute", "participant": sam_id, "audio": true, "video": false, "may_unmute": false }))
        .await;
    sam.expect_type("forced_mute").await;
    assert!(
        !audio_flows(&fac_media).await,
        "the forced mute is not enforced"
    );

    // Sam's network changes: a new socket with the resume key, a new peer
    // connection with a new offer, sending again at once.
    stop_sam.store(true, Ordering::Relaxed);
    let _ = sam_sender.await;
    drop(sam);
    drop(sam_media);
    let mut back = Ws::connect(&server, None).await;
    let mut hello = hello_member(&token, "Sam");
    hello["join"]["resume"] = json!(key);
    back.send(hello).await;
    back.expect_type("admitted").await;
    let sam_media = connect_media(&mut back, 1, 2, &TONES).await;
    let stop_sam = Arc::new(AtomicBool::new(false));
    let sam_sender = sam_media.spawn_media(TONES[1], stop_sam.clone());
    assert!(
        !audio_flows(&fac_media).await,
        "the forced mute was lost in the reconnect"
    );
    back.send(json!({ "type": "media", "audio": true, "video": true }))
        .await;
    back.expect("refusal", |v| {
        v["type"] == "refused" && v["reason"] == "muted_by_facilitator"
    })
    .await;
    assert!(!audio_flows(&fac_media).await, "Sam unmuted themself");
    // The facilitator lifts it: Sam is heard again.
    fac.send(json!({ "type": "mute", "participant": sam_id, "audio": false, "video": false, "may_unmute": true }))
        .await;
    assert!(
        audio_flows(&fac_media).await,
        "lifting the mute did not come through"
    );

    stop_fac.store(true, Ordering::Relaxed);
    stop_sam.store(true, Ordering::Relaxed);
    let _ = fac_sender.await;
    let _ = sam_sender.await;
}
