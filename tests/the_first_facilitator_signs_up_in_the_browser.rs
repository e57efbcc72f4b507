//! Issue 12, point 2 (first run in the browser): with no account yet,
//! `haven serve` prints a one-time setup link. It makes exactly one account
//! (and logs it in), only from Haven's own page at the public URL, and then
//! opens nothing.

mod common;

use common::{Options, Server};
use serde_json::{json, Value};

async fn setup(server: &Server, origin: Option<&str>, body: Value) -> (u16, Option<String>) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/api/setup", server.base))
        .json(&body);
    if let Some(o) = origin {
        req = req.header("origin", o);
    }
    let resp = req.send().await.unwrap();
    let cookie = resp
        .headers()
        .get("set-cookie")
        .and_then(|c| c.to_str().ok())
        .map(|c| c.split(';').next().unwrap().to_owned());
    (resp.status().as_u16(), cookie)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_printed_link_makes_one_account_and_then_nothing() {
    let options = Options {
        capture_stdout: true,
        ..Options::default()
    };
    let server = Server::start_with(&[], options).await;
    let printed = server.stdout.clone().unwrap();
    common::wait_until("the setup link is printed", || {
        printed.lock().unwrap().contains("/setup/")
    })
    .await;
    let text = printed.lock().unwrap().clone();
    let link = text
        .split_whitespace()
        .find(|w| w.contains("/setup/"))
        .unwrap()
        .to_owned();
    let token = link.rsplit('/').next().unwrap().to_owned();
    // The public URL here is http://localhost:PORT; the page's origin.
    let origin = link.split("/setup/").next().unwrap().to_owned();

    let page = reqwest::get(format!("{}/setup/{token}", server.base))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let wrong = reqwest::get(format!("{}/setup/{}", server.base, "x".repeat(43)))
        .await
        .unwrap();
    assert_eq!(wrong.status(), 404);

    let body =
        json!({ "token": token, "username": "ada", "password": "a-long-password-for-tests" });
    // Not from Haven's own page: refused, and the link still works after.
    assert_eq!(setup(&server, None, body.clone()).await.0, 404);
    assert_eq!(
        setup(&server, Some("https://evil.example"), body.clone())
            .await
            .0,
        403
    );
    let short = json!({ "token": token, "username": "ada", "password": "short" });
    assert_eq!(setup(&server, Some(&origin), short).await.0, 400);

    let (status, cookie) = setup(&server, Some(&origin), body.clone()).await;
    assert_eq!(status, 201);
    let me = reqwest::Client::new()
        .get(format!("{}/api/me", server.base))
        .header("cookie", cookie.expect("logged in"))
        .send()
        .await
        .unwrap();
    assert_eq!(me.json::<Value>().await.unwrap()["username"], "ada");

    // Used: the link opens nothing any more.
    let again = json!({ "token": token, "username": "eve", "password": "another-long-password" });
    assert_eq!(setup(&server, Some(&origin), again).await.0, 404);
    let page = reqwest::get(format!("{}/setup/{token}", server.base))
        .await
        .unwrap();
    assert_eq!(page.status(), 404);
}
