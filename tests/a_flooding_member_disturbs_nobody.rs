//! An admitted member who floods the room with messages (a broken client or
//! a hostile one) is slowed down with a clear error; the others get at most
//! a trickle of it, keep their connections and still talk.

mod common;

use std::time::{Duration, Instant};

use common::{hello_member, hello_staff, Console, Server, Ws};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_member_disturbs_nobody() {
    let server = Server::start(&["ada"]).await;
    let console = Console::login(&server, "ada").await;
    let (group, token) = console.open_group("Saturday group", 12).await;
    let mut fac = Ws::connect(&server, Some(&console.cookie)).await;
    fac.send(hello_staff(group, "Ada")).await;
    fac.expect_type("admitted").await;
    let mut flooder = Ws::connect(&server, None).await;
    flooder.send(hello_member(&token, "Flo")).await;
    flooder.expect_type("waiting").await;
    let mut kim = Ws::connect(&server, None).await;
    kim.send(hello_member(&token, "Kim")).await;
    kim.expect_type("waiting").await;
    fac.expect("two knocks", |v| {
        v["type"] == "waiting_list" && v["waiting"].as_array().is_some_and(|a| a.len() == 2)
    })
    .await;
    fac.send(json!({ "type": "admit_all" })).await;
    flooder.expect_type("admitted").await;
    kim.expect("a roster of three", |v| {
        v["type"] == "roster" && v["participants"].as_array().is_some_and(|a| a.len() == 3)
    })
    .await;

    let started = Instant::now();
    for i in 0..3000 {
        flooder
            .send(json!({ "type": "chat", "text": format!("spam {i}") }))
            .await;
    }
    let refusal = flooder
        .expect("being told to slow down", |v| v["code"] == "rate_limited")
        .await;
    assert!(refusal["message"].as_str().unwrap().contains("slow down"));

    // Ada and Kim still talk, on the connections they had.
    fac.send(json!({ "type": "chat", "text": "still with us?" }))
        .await;
    kim.expect("Ada's chat after the flood", |v| {
        v["type"] == "chat" && v["text"] == "still with us?"
    })
    .await;
    let elapsed = started.elapsed().as_secs_f64();
    kim.drain(Duration::from_millis(300)).await;
    assert!(
        !kim.closed && !fac.closed,
        "the flood cost someone else their connection"
    );
    let spam = kim
        .seen
        .iter()
        .filter(|v| {
            v["type"] == "chat" && v["text"].as_str().is_some_and(|t| t.starts_with("spam"))
        })
        .count();
    let allowed = 40.0 + 10.0 * (elapsed + 1.0);
    assert!(
        spam > 0 && (spam as f64) <= allowed,
        "{spam} of 3000 spam messages reached Kim in {elapsed:.1} s (at most {allowed:.0} expected)"
    );
}
