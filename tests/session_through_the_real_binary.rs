//! The real `haven serve` binary on loopback, real WebSockets, real WebRTC
//! media (webrtc-rs clients publishing Opus tones): a facilitator starts a
//! session, three members knock, one is denied, two are admitted and talk
//! with the facilitator; a mute stops that member's packets at the SFU;
//! return-to-waiting stops a member's media; a removed member's link is
//! refused; ending the session ends it for everyone.

mod common;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use common::{hello_member, hello_staff, wait_until, waiting_id, Console, Server, Ws};
use haven_e2e::webrtc_client::ToneClient;
use serde_json::json;

const TONES: [f32; 3] = [440.0, 660.0, 880.0];

/// Packets received so far on the track that carries `tone`.
/// Everything a client has received: audio and video packets from anyone.
fn received(client: &ToneClient) -> (u64, u64) {
    let r = client.received.lock().unwrap();
    (
        r.audio_packets.values().sum(),
        r.video_packets.values().sum(),
    )
}

/// Whether `client` still receives media: sampled 500 ms after the cause
/// (for packets in flight), then again 2 s later.
async fn still_receives(client: &ToneClient) -> bool {
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (a, v) = received(client);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (a2, v2) = received(client);
    a2 > a + 2 || v2 > v + 2
}

/// `haven_participants` on the metrics endpoint.
async fn participants(metrics_port: u16) -> f64 {
    let text = reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("haven_participants "))
        .and_then(|v| v.trim().parse().ok())
        .expect("haven_participants")
}

fn packets_of(client: &ToneClient, tone: f32) -> u64 {
    let r = client.received.lock().unwrap();
    r.track_with_tone(tone)
        .and_then(|ssrc| r.audio_packets.get(&ssrc).copied())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn facilitator_runs_a_session_with_real_media() {
    let metrics_port = common::free_port();
    let options = common::Options {
        metrics_port: Some(metrics_port),
        ..common::Options::default()
    };
    let server = Server::start_with(&["ada"], options).await;
    let console = Console::login(&server, "ada").await;
    let (group, group_token) = console.open_group("Tuesday group", 12).await;
    let (_, sam_token) = console.personal_link(group, "S").await;
    let (_, kim_token) = console.personal_link(group, "K").await;

    let mut fac = Ws::connect(&server, Some(&console.cookie)).await;
    fac.send(hello_staff(group, "Ada")).await;
    fac.expect_type("admitted").await;

    let mut sam = Ws::connect(&server, None).await;
    sam.send(hello_member(&sam_token, "Sam")).await;
    sam.expect_type("waiting").await;
    let mut kim = Ws::connect(&server, None).await;
    kim.send(hello_member(&kim_token, "Kim")).await;
    kim.expect_type("waiting").await;
    let mut lee = Ws::connect(&server, None).await;
    lee.send(hello_member(&group_token, "Lee")).await;
    lee.expect_type("waiting").await;

    let list = fac
        .expect("three knocks", |v| {
            v["type"] == "waiting_list" && v["waiting"].as_array().is_some_and(|a| a.len() == 3)
        })
        .await;
    let names: Vec<&str> = list["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Sam", "Kim", "Lee"], "knocks in arrival order");
    let known: Vec<bool> = list["waiting"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["known"].as_bool().unwrap())
        .collect();
    assert_eq!(
        known,
        [true, true, false],
        "personal links are known, the group link is not"
    );
    let (sam_id, kim_id, lee_id) = (
        waiting_id(&list, "Sam").unwrap(),
        waiting_id(&list, "Kim").unwrap(),
        waiting_id(&list, "Lee").unwrap(),
    );

    fac.send(json!({ "type": "deny", "participant": lee_id }))
        .await;
    lee.expect_type("denied").await;
    lee.drain(Duration::from_secs(1)).await;
    assert!(lee.closed, "a denied member's connection is closed");
    // While waiting, Lee learnt nothing about the room.
    let lee_types: Vec<&str> = lee
        .seen
        .iter()
        .map(|v| v["type"].as_str().unwrap())
        .collect();
    assert_eq!(lee_types, ["welcome", "waiting", "denied"]);

    fac.send(json!({ "type": "admit", "participant": sam_id }))
        .await;
    fac.send(json!({ "type": "admit", "participant": kim_id }))
        .await;
    sam.expect_type("admitted").await;
    kim.expect_type("admitted").await;
    sam.expect("a roster of three", |v| {
        v["type"] == "roster" && v["participants"].as_array().is_some_and(|a| a.len() == 3)
    })
    .await;

    // Real media for all three, through the SFU the signaling drives.
    let stop = Arc::new(AtomicBool::new(false));
    let fac_media = common::connect_media(&mut fac, 0, 3, &TONES).await;
    let sam_media = common::connect_media(&mut sam, 1, 3, &TONES).await;
    let kim_media = common::connect_media(&mut kim, 2, 3, &TONES).await;
    let mut senders = Vec::new();
    for (c, tone) in [
        (&fac_media, TONES[0]),
        (&sam_media, TONES[1]),
        (&kim_media, TONES[2]),
    ] {
        senders.push(c.spawn_media(tone, stop.clone()));
    }
    wait_until("everyone hears the two others", || {
        [(&fac_media, 0), (&sam_media, 1), (&kim_media, 2)]
            .iter()
            .all(|(c, me)| {
                let r = c.received.lock().unwrap();
                let mut heard: Vec<f32> = r.tones.values().flatten().copied().collect();
                heard.sort_by(f32::total_cmp);
                heard
                    == TONES
                        .iter()
                        .copied()
                        .filter(|t| *t != TONES[*me])
                        .collect::<Vec<_>>()
            })
    })
    .await;
    // The facilitator was told which slot carries whom, and the slot says
    // true: the tone decoded on each announced audio m-line is the tone of
    // the participant it was announced for (slot → mid → SSRC → tone).
    let slot = fac
        .expect("a slot for Sam", |v| {
            v["type"] == "slot" && v["participant"] == sam_id
        })
        .await;
    assert!(slot["audio_mid"].is_string() && slot["video_mid"].is_string());
    fac.expect("a slot for Kim", |v| {
        v["type"] == "slot" && v["participant"] == kim_id
    })
    .await;
    let tone_of = |id: &serde_json::Value| {
        if *id == sam_id {
            Some(TONES[1])
        } else if *id == kim_id {
            Some(TONES[2])
        } else {
            None
        }
    };
    let mut checked = 0;
    for s in fac.seen.iter().filter(|v| v["type"] == "slot") {
        let Some(want) = tone_of(&s["participant"]) else {
            continue;
        };
        let mid = s["audio_mid"].as_str().unwrap();
        let heard = fac_media.received.lock().unwrap().tone_on_mid(mid);
        assert_eq!(heard, Some(want), "slot {s} carries another voice");
        checked += 1;
    }
    assert!(checked >= 2, "no slot was checked");

    // Mute Sam: the SFU stops Sam's packets; Kim keeps flowing.
    fac.send(json!({ "type": "mute", "participant": sam_id, "audio": true, "video": false, "may_unmute": false })).await;
    sam.expect_type("forced_mute").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (sam_at_fac, kim_at_fac) = (
        packets_of(&fac_media, TONES[1]),
        packets_of(&fac_media, TONES[2]),
    );
    let sam_at_kim = packets_of(&kim_media, TONES[1]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        packets_of(&fac_media, TONES[1]) <= sam_at_fac + 2,
        "muted Sam still reaches the facilitator"
    );
    assert!(
        packets_of(&kim_media, TONES[1]) <= sam_at_kim + 2,
        "muted Sam still reaches Kim"
    );
    assert!(
        packets_of(&fac_media, TONES[2]) > kim_at_fac + 50,
        "Kim stopped reaching the facilitator"
    );
    // Sam may not unmute themself.
    sam.send(json!({ "type": "media", "audio": true, "video": true }))
        .await;
    sam.expect("refusal", |v| {
        v["type"] == "refused" && v["reason"] == "muted_by_facilitator"
    })
    .await;

    assert!(
        still_receives(&kim_media).await,
        "Kim receives nothing before any move"
    );
    assert_eq!(participants(metrics_port).await, 3.0);

    // Return Kim to the waiting room: Kim's media stops, both ways.
    fac.send(json!({ "type": "return_to_waiting", "participant": kim_id }))
        .await;
    kim.expect_type("returned_to_waiting").await;
    assert!(
        !still_receives(&kim_media).await,
        "Kim, back in the waiting room, still receives the room's media"
    );
    assert_eq!(participants(metrics_port).await, 2.0);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let kim_at_fac = packets_of(&fac_media, TONES[2]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        packets_of(&fac_media, TONES[2]) <= kim_at_fac + 2,
        "a returned member's media still flows"
    );

    // Remove Sam: the link is refused for the rest of the session.
    fac.send(json!({ "type": "remove", "participant": sam_id }))
        .await;
    sam.expect_type("removed").await;
    sam.drain(Duration::from_secs(1)).await;
    assert!(sam.closed);
    assert!(
        !still_receives(&sam_media).await,
        "removed Sam still receives the room's media"
    );
    assert_eq!(participants(metrics_port).await, 1.0);
    let mut sam_again = Ws::connect(&server, None).await;
    sam_again.send(hello_member(&sam_token, "Sam")).await;
    sam_again
        .expect("refusal", |v| {
            v["type"] == "refused" && v["reason"] == "blocked"
        })
        .await;

    // End the session: the member still waiting is told and disconnected,
    // and the facilitator's media stops too.
    fac.send(json!({ "type": "end" })).await;
    kim.expect_type("session_ended").await;
    kim.drain(Duration::from_secs(1)).await;
    assert!(kim.closed);
    assert!(
        !still_receives(&fac_media).await,
        "media still flows after the end"
    );
    assert_eq!(participants(metrics_port).await, 0.0);

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in senders {
        let _ = s.await;
    }
}
