//! Minor finding 13: naming a co-facilitator told the facilitator whether
//! a username exists, and named a colleague in a group without asking. Now
//! the answer is the same for any name; the named colleague sees an
//! invitation and becomes co-facilitator only by accepting it.

mod common;

use common::{hello_staff, Console, Server, Ws};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_username_is_revealed_and_nobody_co_facilitates_without_accepting() {
    let server = Server::start(&["ada", "cole"]).await;
    let ada = Console::login(&server, "ada").await;
    let cole = Console::login(&server, "cole").await;

    let (s1, real) = ada
        .post(
            "/api/groups",
            json!({ "name": "Monday", "co_facilitator": "cole" }),
        )
        .await;
    let (s2, ghost) = ada
        .post(
            "/api/groups",
            json!({ "name": "Tuesday", "co_facilitator": "nobody-here" }),
        )
        .await;
    assert_eq!((s1, s2), (201, 201), "{real} {ghost}");
    for g in [&real, &ghost] {
        assert_eq!(g["co_facilitator"], json!(null));
        assert!(g["co_facilitator_invited"].is_string(), "{g}");
    }
    let group = real["id"].as_i64().unwrap();

    // Not yet: the group is not cole's, and cole cannot enter its session.
    let (_, groups) = cole.get("/api/groups").await;
    assert_eq!(groups, json!([]));
    assert_eq!(
        ada.post(&format!("/api/groups/{group}/session"), json!({}))
            .await
            .0,
        201
    );
    let mut ws = Ws::connect(&server, Some(&cole.cookie)).await;
    ws.send(hello_staff(group, "Cole")).await;
    assert_eq!(ws.expect_type("error").await["code"], "no_such_group");

    // Cole sees the invitation, names and all, and accepts.
    let (_, invitations) = cole.get("/api/invitations").await;
    assert_eq!(
        invitations,
        json!([{ "group": group, "name": "Monday", "facilitator": "ada" }])
    );
    cole.accept_invitation(group).await;
    let (_, groups) = cole.get("/api/groups").await;
    assert_eq!(groups[0]["role"], "co_facilitator");
    let (_, mine) = ada.get("/api/groups").await;
    let monday = mine
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == group)
        .unwrap();
    assert_eq!(monday["co_facilitator"], "cole");
    let mut ws = Ws::connect(&server, Some(&cole.cookie)).await;
    ws.send(hello_staff(group, "Cole")).await;
    ws.expect_type("admitted").await;

    // An invitation that is not yours cannot be answered.
    let ghost_id = ghost["id"].as_i64().unwrap();
    let (status, _) = cole
        .post(
            &format!("/api/invitations/{ghost_id}"),
            json!({ "accept": true }),
        )
        .await;
    assert_eq!(status, 404);
}
