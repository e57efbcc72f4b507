//! Through the real binary: someone holding Marigold's personal link but not
//! the resume key her page was given must knock like anyone else, flagged
//! to the facilitator as a new device on a link in use, and learns nothing
//! (no admission, no roster, no chat). Marigold keeps her seat and her
//! connection, also while she is reconnecting; her own key still resumes her.

mod common;

use std::time::Duration;

use common::{hello_member, hello_staff, waiting_id, Console, Server, Ws};
use serde_json::{json, Value};

fn hello_with_key(token: &str, name: &str, key: &str) -> Value {
    let mut hello = hello_member(token, name);
    hello["join"]["resume"] = json!(key);
    hello
}

/// What an intruder must never see.
fn learned_about_the_room(ws: &Ws) -> bool {
    [
        "admitted",
        "roster",
        "chat",
        "slot",
        "active_speaker",
        "answer",
    ]
    .iter()
    .any(|t| ws.saw_type(t))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_link_without_its_resume_key_knocks_and_the_holder_keeps_her_seat() {
    let server = Server::start(&["ada"]).await;
    let console = Console::login(&server, "ada").await;
    let (group, _) = console.open_group("Thursday group", 12).await;
    let (_, token) = console.personal_link(group, "M").await;

    let mut fac = Ws::connect(&server, Some(&console.cookie)).await;
    fac.send(hello_staff(group, "Ada")).await;
    fac.expect_type("admitted").await;

    let mut marigold = Ws::connect(&server, None).await;
    marigold.send(hello_member(&token, "Marigold")).await;
    let key = marigold.expect_type("welcome").await["resume"]
        .as_str()
        .expect("a personal link gets a resume key too")
        .to_owned();
    marigold.expect_type("waiting").await;
    let list = fac
        .expect("Marigold knocks", |v| {
            v["type"] == "waiting_list" && waiting_id(v, "Marigold").is_some()
        })
        .await;
    let marigold_id = waiting_id(&list, "Marigold").unwrap();
    fac.send(json!({ "type": "admit", "participant": marigold_id }))
        .await;
    marigold.expect_type("admitted").await;

    // A second device with the bare link, while Marigold is connected.
    let mut intruder = Ws::connect(&server, None).await;
    intruder.send(hello_member(&token, "Intruder")).await;
    intruder.expect_type("waiting").await;
    let list = fac
        .expect("the knock, flagged", |v| {
            v["type"] == "waiting_list" && waiting_id(v, "Intruder").is_some()
        })
        .await;
    let entry = &list["waiting"][0];
    assert_eq!(
        entry["device_of"],
        json!(marigold_id),
        "not flagged: {entry}"
    );
    // Marigold is still here and still hears the room.
    fac.send(json!({ "type": "chat", "text": "still with us?" }))
        .await;
    marigold
        .expect("the chat", |v| {
            v["type"] == "chat" && v["text"] == "still with us?"
        })
        .await;
    intruder.drain(Duration::from_millis(500)).await;
    assert!(!learned_about_the_room(&intruder), "{:?}", intruder.seen);
    assert!(!intruder.closed && !marigold.closed);
    fac.send(json!({ "type": "deny", "participant": waiting_id(&list, "Intruder").unwrap() }))
        .await;
    intruder.expect_type("denied").await;

    // Inside Marigold's reconnect window the bare link knocks too.
    drop(marigold);
    fac.expect("Marigold reconnecting", |v| {
        v["type"] == "roster"
            && v["participants"].as_array().is_some_and(|a| {
                a.iter()
                    .any(|p| p["name"] == "Marigold" && p["connected"] == false)
            })
    })
    .await;
    let mut second = Ws::connect(&server, None).await;
    second.send(hello_member(&token, "Marigold")).await;
    second.expect_type("waiting").await;
    second.drain(Duration::from_millis(500)).await;
    assert!(!learned_about_the_room(&second), "{:?}", second.seen);

    // Her own key resumes her at once, without knocking; the denial of the
    // stranger did not lock her link.
    let mut back = Ws::connect(&server, None).await;
    back.send(hello_with_key(&token, "Marigold", &key)).await;
    let admitted = back.expect_type("admitted").await;
    assert_eq!(admitted["you"], json!(marigold_id));
    assert!(!back.saw_type("waiting"));
}
