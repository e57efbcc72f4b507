//! Finding 6 of the hardening round: a facilitator's WebSocket outlived
//! `POST /api/logout` and could still lock the room and admit. Now the
//! socket is closed with a plain `logged_out` error, and a command sent
//! after the logout is not carried out.

mod common;

use common::{hello_member, hello_staff, Console, Server, Ws};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_logout_the_staff_socket_closes_and_its_commands_are_not_carried_out() {
    let server = Server::start(&["ada"]).await;
    let console = Console::login(&server, "ada").await;
    let (group, token) = console.open_group("Friday group", 12).await;
    let mut fac = Ws::connect(&server, Some(&console.cookie)).await;
    fac.send(hello_staff(group, "Ada")).await;
    fac.expect_type("admitted").await;

    let (status, _) = console.post("/api/logout", json!({})).await;
    assert_eq!(status, 204);
    fac.send(json!({ "type": "lock", "locked": true })).await;
    let error = fac.expect("logged out", |v| v["type"] == "error").await;
    assert_eq!(error["code"], "logged_out");
    fac.drain(std::time::Duration::from_secs(1)).await;
    assert!(fac.closed, "the socket stayed open");
    assert!(
        !fac.seen
            .iter()
            .any(|v| v["type"] == "locked" && v["locked"] == true),
        "the lock was carried out"
    );

    // The room was not locked: a member can still knock.
    let mut member = Ws::connect(&server, None).await;
    member.send(hello_member(&token, "Sam")).await;
    member.expect_type("waiting").await;
}
