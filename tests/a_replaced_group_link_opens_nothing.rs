//! Finding 5 of the hardening round: a group invite link could never be
//! revoked or replaced. Now the facilitator makes a new one; the old one
//! answers like an unknown link, and the new one works.

mod common;

use common::{hello_member, token_of, Console, Server, Ws};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_old_group_link_answers_like_an_unknown_one_and_the_new_one_works() {
    let server = Server::start(&["ada", "cole"]).await;
    let ada = Console::login(&server, "ada").await;
    let cole = Console::login(&server, "cole").await;
    let g = ada
        .group_with_co_facilitator("Evening group", &cole, "cole")
        .await;
    let group = g["id"].as_i64().unwrap();
    let old = token_of(g["invite_link"].as_str().unwrap());
    assert_eq!(
        ada.post(&format!("/api/groups/{group}/session"), json!({}))
            .await
            .0,
        201
    );

    let rotate = format!("/api/groups/{group}/invite");
    assert_eq!(
        cole.post(&rotate, json!({})).await.0,
        403,
        "only the facilitator"
    );
    let (status, fresh) = ada.post(&rotate, json!({})).await;
    assert_eq!(status, 200, "{fresh}");
    let new = token_of(fresh["invite_link"].as_str().unwrap());
    assert_ne!(new, old);

    let mut stale = Ws::connect(&server, None).await;
    stale.send(hello_member(&old, "Sam")).await;
    let error = stale.expect_type("error").await;
    assert_eq!(error["code"], "bad_link");

    let mut member = Ws::connect(&server, None).await;
    member.send(hello_member(&new, "Sam")).await;
    member.expect_type("waiting").await;

    // The console shows the new link from now on.
    let (_, groups) = ada.get("/api/groups").await;
    assert_eq!(groups[0]["invite_link"], fresh["invite_link"]);
}
