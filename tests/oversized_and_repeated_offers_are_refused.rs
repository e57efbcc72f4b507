//! Finding 12 of the hardening round: a 160 KB offer with 190 receive
//! slots cost a shared media worker ~36 ms, ten a second a third of it.
//! Offers with more m-lines than a room can use are refused before the
//! media plane sees them, and re-offers are limited per connection.

mod common;

use common::{hello_member, hello_staff, waiting_id, Console, Server, Ws};
use serde_json::json;

fn offer_with_m_lines(n: usize) -> String {
    let mut sdp = String::from("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n");
    for i in 0..n {
        sdp.push_str(&format!(
            "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:{i}\r\na=recvonly\r\n"
        ));
    }
    sdp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offers_a_room_cannot_use_and_offer_loops_are_refused() {
    let server = Server::start(&["ada"]).await;
    let console = Console::login(&server, "ada").await;
    let (group, token) = console.open_group("Monday group", 12).await;
    let mut fac = Ws::connect(&server, Some(&console.cookie)).await;
    fac.send(hello_staff(group, "Ada")).await;
    fac.expect_type("admitted").await;
    let mut m = Ws::connect(&server, None).await;
    m.send(hello_member(&token, "Sam")).await;
    let list = fac
        .expect("the knock", |v| {
            v["type"] == "waiting_list" && waiting_id(v, "Sam").is_some()
        })
        .await;
    fac.send(json!({ "type": "admit", "participant": waiting_id(&list, "Sam").unwrap() }))
        .await;
    m.expect_type("admitted").await;

    m.send(json!({ "type": "offer", "sdp": offer_with_m_lines(190) }))
        .await;
    let error = m.expect("refusal", |v| v["type"] == "error").await;
    assert_eq!(error["code"], "too_many_tracks", "{error}");

    // An offer loop: the first few go to the media plane, then no more.
    for _ in 0..6 {
        m.send(json!({ "type": "offer", "sdp": offer_with_m_lines(4) }))
            .await;
    }
    m.expect("offers slowed", |v| {
        v["type"] == "error" && v["code"] == "rate_limited"
    })
    .await;
}
