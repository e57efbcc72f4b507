//! HTTP hardening of the real binary: HTTPS with rustls when given a
//! certificate, with HSTS; the security headers on every page; rate limits
//! on login and knocks per address, also behind a trusted reverse proxy;
//! WebSockets only from Haven's own pages.

mod common;

use std::process::{Command, Stdio};
use std::time::Duration;

use common::{hello_member, hello_staff, Console, Options, Server, Ws, PASSWORD};
use serde_json::json;

fn curl_headers(args: &[&str]) -> String {
    let out = Command::new("curl")
        .args(["-s", "-D", "-", "-o", "/dev/null"])
        .args(args)
        .output()
        .expect("curl runs");
    String::from_utf8_lossy(&out.stdout).to_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_response_carries_the_security_headers() {
    let server = Server::start(&["ada"]).await;
    for path in [
        "/",
        "/join/sometoken",
        "/static/js/join.js",
        "/api/me",
        "/healthz",
    ] {
        let h = curl_headers(&[&format!("{}{path}", server.base)]);
        for expected in [
            "content-security-policy: default-src 'none'; script-src 'self'",
            "frame-ancestors 'none'",
            "x-content-type-options: nosniff",
            "referrer-policy: no-referrer",
            "permissions-policy: camera=(self), microphone=(self)",
        ] {
            assert!(h.contains(expected), "{path} lacks {expected}: {h}");
        }
        assert!(
            !h.contains("strict-transport-security"),
            "HSTS over plain HTTP"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_and_knocks_are_rate_limited_per_address() {
    let server = Server::start(&["ada"]).await;
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..8 {
        let r = http
            .post(format!("{}/api/login", server.base))
            .json(&json!({ "username": "ada", "password": "wrong-password" }))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..5], &[401; 5], "{statuses:?}");
    assert!(
        statuses[5..].iter().all(|s| *s == 429),
        "guessing was not slowed down: {statuses:?}"
    );
    // The right password from the same address must wait too.
    let r = http
        .post(format!("{}/api/login", server.base))
        .json(&json!({ "username": "ada", "password": PASSWORD }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 429);

    // Knocks: a burst of 20, then refused with a clear error.
    let server = Server::start(&["ada"]).await;
    let console = Console::login(&server, "ada").await;
    let (_, token) = console.open_group("Rate group", 12).await;
    let mut refused = 0;
    for i in 0..24 {
        let mut ws = Ws::connect(&server, None).await;
        ws.send(hello_member(&token, &format!("M{i}"))).await;
        let first = ws
            .expect("a reply", |v| {
                v["type"] == "welcome" || v["type"] == "error"
            })
            .await;
        if first["type"] == "error" {
            assert_eq!(first["code"], "rate_limited");
            refused += 1;
        }
    }
    assert_eq!(refused, 4);
}

/// Finding 4 of the hardening round: guessing links from a network (a
/// clinic's shared NAT) must not spend the knock budget of the real members
/// behind it. Unknown links have a bucket of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bogus_links_do_not_use_up_real_members_knocks() {
    let server = Server::start(&["ada"]).await;
    let console = Console::login(&server, "ada").await;
    let (_, token) = console.open_group("Shared NAT group", 12).await;
    let bogus = "A".repeat(43);
    let mut codes = Vec::new();
    for i in 0..25 {
        let mut ws = Ws::connect(&server, None).await;
        ws.send(hello_member(&bogus, &format!("Guess{i}"))).await;
        codes.push(ws.expect_type("error").await["code"].clone());
    }
    assert_eq!(codes[0], "bad_link");
    assert_eq!(
        codes.last().unwrap(),
        "rate_limited",
        "link guessing was not slowed: {codes:?}"
    );
    // A member with the real link, from the same address, still knocks.
    let mut member = Ws::connect(&server, None).await;
    member.send(hello_member(&token, "Real member")).await;
    member.expect_type("welcome").await;
    member.expect_type("waiting").await;
}

/// Finding 10: one rule for ending a session, over HTTP as over the
/// WebSocket: the group's facilitator, or whoever moderates now. A
/// co-facilitator who does not moderate gets 403 and the session goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_co_facilitator_who_does_not_moderate_cannot_end_the_session_over_http() {
    let server = Server::start(&["ada", "cole"]).await;
    let ada = Console::login(&server, "ada").await;
    let cole = Console::login(&server, "cole").await;
    let g = ada
        .group_with_co_facilitator("Wednesday group", &cole, "cole")
        .await;
    let group = g["id"].as_i64().unwrap();
    let session = format!("/api/groups/{group}/session");
    assert_eq!(ada.post(&session, json!({})).await.0, 201);
    let mut fac = Ws::connect(&server, Some(&ada.cookie)).await;
    fac.send(hello_staff(group, "Ada")).await;
    fac.expect_type("admitted").await;

    assert_eq!(cole.delete(&session).await, 403);
    let mut ws = Ws::connect(&server, Some(&cole.cookie)).await;
    ws.send(hello_staff(group, "Cole")).await;
    ws.expect_type("admitted").await;
    ws.send(json!({ "type": "end" })).await;
    ws.expect("refused", |v| {
        v["type"] == "refused" && v["reason"] == "not_allowed"
    })
    .await;
    assert_eq!(cole.delete(&session).await, 403);
    assert!(!fac.saw_type("session_ended"));

    assert_eq!(ada.delete(&session).await, 204);
    fac.expect_type("session_ended").await;
}

/// Minor finding 13: CSRF defence must not rest on `SameSite` alone. A
/// change without JSON, or from another site's page, is refused and
/// changes nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_need_json_from_our_own_pages() {
    let server = Server::start(&["ada"]).await;
    let console = Console::login(&server, "ada").await;
    let (status, g) = console
        .post("/api/groups", json!({ "name": "Group" }))
        .await;
    assert_eq!(status, 201);
    let id = g["id"].as_i64().unwrap();
    let send =
        |path: String, body: Option<&'static str>, headers: &[(&'static str, &'static str)]| {
            let mut req = console.http.post(format!("{}{path}", server.base));
            for (k, v) in headers {
                req = req.header(*k, *v);
            }
            if let Some(b) = body {
                req = req.body(b);
            }
            async move { req.send().await.unwrap().status().as_u16() }
        };
    let session = format!("/api/groups/{id}/session");
    let links = format!("/api/groups/{id}/links");
    assert_eq!(
        send(
            session.clone(),
            Some("{}"),
            &[("content-type", "text/plain")]
        )
        .await,
        415
    );
    assert_eq!(
        send(links.clone(), None, &[]).await,
        415,
        "a link made with no body"
    );
    let json = ("content-type", "application/json");
    assert_eq!(
        send(
            "/api/groups".into(),
            Some(r#"{"name":"Evil"}"#),
            &[json, ("origin", "https://evil.example")]
        )
        .await,
        403
    );
    assert_eq!(
        send(
            links.clone(),
            Some("{}"),
            &[json, ("sec-fetch-site", "cross-site")]
        )
        .await,
        403
    );
    let (_, groups) = console.get("/api/groups").await;
    assert_eq!(
        groups.as_array().unwrap().len(),
        1,
        "a refused request changed something"
    );
    let (_, made) = console.get(&links).await;
    assert_eq!(made.as_array().unwrap().len(), 0);
    // Our own page's request goes through.
    assert_eq!(
        send(
            session,
            Some("{}"),
            &[json, ("sec-fetch-site", "same-origin")]
        )
        .await,
        201
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_sites_page_cannot_open_a_websocket() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = Server::start(&["ada"]).await;
    let mut req = server.ws_url().into_client_request().unwrap();
    req.headers_mut()
        .insert("origin", "https://evil.example".parse().unwrap());
    match tokio_tungstenite::connect_async(req).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            assert_eq!(r.status().as_u16(), 403)
        }
        Err(e) => panic!("refused, but not plainly: {e}"),
        Ok(_) => panic!("a foreign origin opened a WebSocket"),
    }
    // Our own page's origin is welcome.
    let mut req = server.ws_url().into_client_request().unwrap();
    let own = server.base.clone();
    req.headers_mut().insert("origin", own.parse().unwrap());
    assert!(tokio_tungstenite::connect_async(req).await.is_ok());
}

/// Wrong-password logins "from" `client` as a proxy on loopback reports it.
async fn login_statuses(server: &Server, client: &str, tries: usize) -> Vec<u16> {
    let http = reqwest::Client::new();
    let mut statuses = Vec::new();
    for _ in 0..tries {
        let r = http
            .post(format!("{}/api/login", server.base))
            .header("x-forwarded-for", client)
            .json(&json!({ "username": "ada", "password": "wrong-password" }))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_one_guesser_does_not_lock_out_the_others() {
    // The test stands for a reverse proxy on 127.0.0.1 that names the client.
    let options = Options {
        env: vec![("HAVEN_TRUSTED_PROXIES", "127.0.0.1".into())],
        ..Options::default()
    };
    let server = Server::start_with(&["ada"], options).await;
    let guesser = login_statuses(&server, "198.51.100.7", 7).await;
    assert_eq!(&guesser[5..], &[429, 429], "{guesser:?}");
    let colleague = login_statuses(&server, "198.51.100.8", 1).await;
    assert_eq!(colleague, [401], "a different client was limited too");
    // A client cannot dodge its limit by sending its own header: the proxy
    // appends the real address, which is the one that counts.
    let dodging = login_statuses(&server, "203.0.113.1, 198.51.100.7", 1).await;
    assert_eq!(dodging, [429]);

    // Without the setting the header is not believed: one address for all.
    let server = Server::start(&["ada"]).await;
    let guesser = login_statuses(&server, "198.51.100.7", 6).await;
    assert_eq!(guesser[5], 429, "{guesser:?}");
    let colleague = login_statuses(&server, "198.51.100.8", 1).await;
    assert_eq!(
        colleague,
        [429],
        "an untrusted X-Forwarded-For was believed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_with_rustls_and_hsts_when_given_a_certificate() {
    let dir = std::env::temp_dir().join(format!("haven-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    self_signed(&cert, &key, "localhost");
    let data = dir.join("data");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_haven"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--media-port",
            "0",
        ])
        .arg("--data-dir")
        .arg(&data)
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env("HAVEN_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let url = format!("https://127.0.0.1:{port}/healthz");
    let mut headers = String::new();
    for _ in 0..50 {
        headers = curl_headers(&["-k", &url]);
        if headers.starts_with("http/") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let plain = curl_headers(&[&format!("http://127.0.0.1:{port}/healthz")]);
    // A renewed certificate is taken up on SIGHUP, without a restart.
    let before = served_subject(port);
    self_signed(&cert, &key, "renewed.localhost");
    let hup = Command::new("kill")
        .args(["-HUP", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(hup.success());
    let mut after = String::new();
    for _ in 0..50 {
        after = served_subject(port);
        if after.contains("renewed") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let still_running = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        headers.starts_with("http/") && headers.contains(" 200"),
        "no HTTPS answer: {headers:?}"
    );
    assert!(
        headers.contains("strict-transport-security: max-age=31536000"),
        "no HSTS under TLS: {headers}"
    );
    assert!(
        !plain.contains(" 200"),
        "plain HTTP answered on the TLS port: {plain}"
    );
    assert!(
        before.contains("CN=localhost") || before.contains("CN = localhost"),
        "{before}"
    );
    assert!(still_running, "SIGHUP stopped the server");
    assert!(
        after.contains("renewed.localhost"),
        "the renewed certificate is not served: {after}"
    );
}

/// A self-signed certificate for `cn`, written over `cert` and `key`.
fn self_signed(cert: &std::path::Path, key: &std::path::Path, cn: &str) {
    let ok = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args([
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
        ])
        .arg(format!("/CN={cn}"))
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(ok.success());
}

/// The subject of the certificate the server presents on `port`.
fn served_subject(port: u16) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -connect 127.0.0.1:{port} </dev/null 2>/dev/null | openssl x509 -noout -subject"
        ))
        .output()
        .expect("openssl runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}
