//! Minor finding 13: there was no way to change a password or disable an
//! account, and a login lasted as long as it was used. Now
//! `haven facilitator passwd|disable|enable` act on the running server's
//! database: the account's logins end at their next request (an open
//! console's WebSocket closes with `logged_out`), a disabled account cannot
//! log in, and an enabled one can again.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use common::{hello_staff, Console, Server, Ws, PASSWORD};

fn facilitator(server: &Server, args: &[&str], stdin: Option<&str>) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_haven"))
        .arg("facilitator")
        .args(args)
        .arg("--data-dir")
        .arg(&server.data_dir)
        .env("HAVEN_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    if let Some(text) = stdin {
        writeln!(child.stdin.take().unwrap(), "{text}").unwrap();
    }
    assert!(
        child.wait().unwrap().success(),
        "haven facilitator {args:?}"
    );
}

async fn login_status(server: &Server, password: &str) -> u16 {
    common::login_status(&reqwest::Client::new(), server, "ada", password).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn disabling_ends_logins_and_a_new_password_replaces_the_old() {
    let server = Server::start(&["ada"]).await;
    let console = Console::login(&server, "ada").await;
    let (group, _) = console.open_group("Group", 12).await;
    let mut fac = Ws::connect(&server, Some(&console.cookie)).await;
    fac.send(hello_staff(group, "Ada")).await;
    fac.expect_type("admitted").await;

    facilitator(&server, &["disable", "ada"], None);
    let error = fac.expect("logged out", |v| v["type"] == "error").await;
    assert_eq!(error["code"], "logged_out");
    assert_eq!(console.get("/api/groups").await.0, 401);
    assert_eq!(
        login_status(&server, PASSWORD).await,
        403,
        "a disabled account logged in"
    );

    facilitator(&server, &["enable", "ada"], None);
    let again = Console::login(&server, "ada").await;
    assert_eq!(again.get("/api/groups").await.0, 200);

    let new_password = "another-long-password-for-tests";
    facilitator(
        &server,
        &["passwd", "ada", "--password-stdin"],
        Some(new_password),
    );
    assert_eq!(
        again.get("/api/groups").await.0,
        401,
        "a login outlived the password"
    );
    // One wrong try is not enough to be slowed down; the new one works.
    assert_eq!(login_status(&server, PASSWORD).await, 401);
    assert_eq!(login_status(&server, new_password).await, 200);
}
