//! Bad input against the real binary: malformed JSON, unknown message types,
//! oversized frames, replayed or revoked credentials, and a member sending
//! facilitator commands. Each gets a clear error, the offending request or
//! connection is refused, and the session of everyone else goes on.

mod common;

use std::time::Duration;

use common::{hello_member, hello_staff, waiting_id, Console, Server, Ws};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_error_and_disturbs_nobody() {
    let server = Server::start(&["ada", "bo"]).await;
    let console = Console::login(&server, "ada").await;
    let (group, group_token) = console.open_group("Thursday group", 12).await;
    let (link_id, revoked_token) = console.personal_link(group, "R").await;

    let mut fac = Ws::connect(&server, Some(&console.cookie)).await;
    fac.send(hello_staff(group, "Ada")).await;
    fac.expect_type("admitted").await;
    let mut member = Ws::connect(&server, None).await;
    member.send(hello_member(&group_token, "Mo")).await;
    member.expect_type("waiting").await;
    let list = fac
        .expect("Mo knocking", |v| {
            v["type"] == "waiting_list" && waiting_id(v, "Mo").is_some()
        })
        .await;
    let mo = waiting_id(&list, "Mo").unwrap();
    fac.send(json!({ "type": "admit", "participant": mo }))
        .await;
    member.expect_type("admitted").await;

    // Malformed JSON and unknown message types: an error, the connection stays.
    member.send_raw(Message::Text("{not json".into())).await;
    member
        .expect("a JSON error", |v| {
            v["type"] == "error" && v["code"] == "bad_message"
        })
        .await;
    member.seen.clear();
    member.send(json!({ "type": "launch_rockets" })).await;
    member
        .expect("an unknown-type error", |v| {
            v["type"] == "error" && v["code"] == "bad_message"
        })
        .await;
    member.seen.clear();
    member.send(json!({ "type": "chat", "text": "" })).await;
    member
        .expect("a text error", |v| {
            v["type"] == "error" && v["code"] == "bad_text"
        })
        .await;

    // A member sending facilitator commands is refused, plainly.
    for cmd in [
        json!({ "type": "admit_all" }),
        json!({ "type": "mute", "participant": 1, "audio": true, "video": true, "may_unmute": false }),
        json!({ "type": "remove", "participant": 1 }),
        json!({ "type": "lock", "locked": true }),
        json!({ "type": "end" }),
    ] {
        member.seen.clear();
        member.send(cmd.clone()).await;
        member
            .expect("a refusal", |v| {
                v["type"] == "refused" && v["reason"] == "not_allowed"
            })
            .await;
    }

    // An oversized frame closes only that connection.
    let mut big = Ws::connect(&server, None).await;
    big.send_raw(Message::Text("x".repeat(400_000).into()))
        .await;
    big.drain(Duration::from_secs(2)).await;
    assert!(big.closed, "an oversized frame must close that connection");

    // Bad hellos: wrong version, no agreement, bad or revoked links, staff
    // without a login, staff of someone else's group.
    assert_eq!(
        console
            .delete(&format!("/api/groups/{group}/links/{link_id}"))
            .await,
        204
    );
    let bad_hellos = [
        (
            json!({ "type": "hello", "v": 99, "join": { "kind": "member", "token": group_token, "name": "X", "agreed": true } }),
            "version",
        ),
        (
            json!({ "type": "hello", "v": 1, "join": { "kind": "member", "token": group_token, "name": "X", "agreed": false } }),
            "agreement_required",
        ),
        (
            hello_member("not-a-real-token-at-all-000000", "X"),
            "bad_link",
        ),
        (hello_member(&revoked_token, "X"), "bad_link"),
        (hello_member(&group_token, ""), "bad_name"),
        (hello_staff(group, "Eve"), "login_required"),
        (json!({ "type": "admit", "participant": 1 }), "hello_first"),
    ];
    for (hello, code) in bad_hellos {
        let mut ws = Ws::connect(&server, None).await;
        ws.send(hello.clone()).await;
        ws.expect(code, |v| v["type"] == "error" && v["code"] == code)
            .await;
        ws.drain(Duration::from_secs(1)).await;
        assert!(ws.closed, "refused hello {hello} left the connection open");
    }
    let bo = Console::login(&server, "bo").await;
    let mut other = Ws::connect(&server, Some(&bo.cookie)).await;
    other.send(hello_staff(group, "Bo")).await;
    other
        .expect("no access", |v| {
            v["type"] == "error" && v["code"] == "no_such_group"
        })
        .await;

    // A replayed session cookie after logout is refused by the API and the socket.
    let replay = bo.cookie.clone();
    let resp = bo
        .http
        .post(format!("{}/api/logout", server.base))
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    let resp = reqwest::Client::new()
        .get(format!("{}/api/groups", server.base))
        .header("cookie", &replay)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let mut replayed = Ws::connect(&server, Some(&replay)).await;
    replayed.send(hello_staff(group, "Bo")).await;
    replayed
        .expect("login required", |v| v["code"] == "login_required")
        .await;

    // Malformed API requests get a JSON error.
    let (status, body) = console
        .post("/api/groups", json!({ "name": "", "capacity": 99 }))
        .await;
    assert_eq!(status, 400);
    assert!(body["message"].is_string());
    let (status, _) = console.post("/api/groups", json!({ "nme": "typo" })).await;
    assert_eq!(status, 400);

    // Nobody else was affected: the facilitator and the member still talk.
    fac.send(json!({ "type": "chat", "text": "still here?" }))
        .await;
    member
        .expect("the facilitator's chat", |v| {
            v["type"] == "chat" && v["text"] == "still here?"
        })
        .await;
    member
        .send(json!({ "type": "raise_hand", "raised": true }))
        .await;
    fac.expect("the raised hand", |v| {
        v["type"] == "roster"
            && v["participants"]
                .as_array()
                .is_some_and(|a| a.iter().any(|p| p["hand"] == 1))
    })
    .await;
}
