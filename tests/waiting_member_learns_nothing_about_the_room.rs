//! On the wire: a member in the waiting room receives nothing about the room
//! but its own state while three others talk (audio, video, chat, hands,
//! mutes, a fourth member arriving and leaving), and no peer connection is
//! created for it: its offer is refused and no answer ever comes.

mod common;

use std::time::Duration;

use common::{
    connect_media, hears_exactly, hello_member, hello_staff, wait_until, waiting_id, Console,
    Server, Ws,
};
use serde_json::json;

const TONES: [f32; 3] = [440.0, 660.0, 880.0];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiting_member_gets_no_name_no_head_count_no_chat_and_no_media() {
    let server = Server::start(&["ada"]).await;
    let console = Console::login(&server, "ada").await;
    let (group, token) = console.open_group("Monday group", 12).await;

    // The waiting member knocks first and stays in the waiting room.
    let mut waiting = Ws::connect(&server, None).await;
    waiting.send(hello_member(&token, "Wren")).await;
    waiting.expect_type("waiting").await;

    let mut fac = Ws::connect(&server, Some(&console.cookie)).await;
    fac.send(hello_staff(group, "Ada")).await;
    fac.expect_type("admitted").await;
    let mut talkers = Vec::new();
    for name in ["Sol", "Tam"] {
        let mut ws = Ws::connect(&server, None).await;
        ws.send(hello_member(&token, name)).await;
        ws.expect_type("waiting").await;
        let list = fac
            .expect(name, |v| {
                v["type"] == "waiting_list" && waiting_id(v, name).is_some()
            })
            .await;
        fac.send(json!({ "type": "admit", "participant": waiting_id(&list, name).unwrap() }))
            .await;
        ws.expect_type("admitted").await;
        talkers.push(ws);
    }
    let fac_media = connect_media(&mut fac, 0, 3, &TONES).await;
    let sol_media = connect_media(&mut talkers[0], 1, 3, &TONES).await;
    let tam_media = connect_media(&mut talkers[1], 2, 3, &TONES).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let senders: Vec<_> = [&fac_media, &sol_media, &tam_media]
        .iter()
        .zip(TONES)
        .map(|(c, t)| c.spawn_media(t, stop.clone()))
        .collect();
    wait_until("the three talk", || hears_exactly(&fac_media, &TONES[1..])).await;

    // Everything a room does, while Wren waits.
    talkers[0]
        .send(json!({ "type": "chat", "text": "hello everyone" }))
        .await;
    talkers[1]
        .send(json!({ "type": "raise_hand", "raised": true }))
        .await;
    let roster = fac
        .expect("a roster with Sol", |v| {
            v["type"] == "roster"
                && v["participants"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|p| p["name"] == "Sol"))
        })
        .await;
    let sol = roster["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "Sol")
        .unwrap()["id"]
        .clone();
    fac.send(json!({ "type": "mute", "participant": sol, "audio": true, "video": false, "may_unmute": true })).await;
    fac.send(json!({ "type": "lock", "locked": true })).await;
    fac.send(json!({ "type": "lock", "locked": false })).await;
    let mut late = Ws::connect(&server, None).await;
    late.send(hello_member(&token, "Uma")).await;
    late.expect_type("waiting").await;
    late.send(json!({ "type": "leave" })).await;
    // Wren tries to join the media plane without being admitted.
    waiting
        .send(json!({ "type": "offer", "sdp": "v=0\r\n" }))
        .await;
    waiting
        .expect("a refusal", |v| {
            v["type"] == "refused" && v["reason"] == "not_allowed"
        })
        .await;
    waiting.drain(Duration::from_secs(3)).await;

    let types: Vec<&str> = waiting
        .seen
        .iter()
        .map(|v| v["type"].as_str().unwrap())
        .collect();
    assert!(
        types
            .iter()
            .all(|t| ["welcome", "waiting", "refused"].contains(t)),
        "a waiting member was told more than its own state: {types:?}"
    );
    assert!(
        !types.contains(&"answer"),
        "a peer connection was set up for a waiting member"
    );
    let everything = serde_json::to_string(&waiting.seen).unwrap();
    for secret in ["Ada", "Sol", "Tam", "Uma", "hello everyone"] {
        assert!(
            !everything.contains(secret),
            "the waiting member learnt {secret:?}"
        );
    }
    assert!(
        !waiting.closed,
        "the waiting member should still be waiting"
    );

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in senders {
        let _ = s.await;
    }
}
