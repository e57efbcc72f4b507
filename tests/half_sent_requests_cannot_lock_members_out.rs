//! Finding 3 of the hardening round, through the real binary: with the
//! process limited to 256 open files, one address opens more half-sent
//! requests than it may hold. Before the fix they used up every open file
//! (no header timeout, no connection cap): nobody could knock. Now the
//! excess is closed at once, a member from another address still knocks,
//! and the half-sent requests are closed after the header timeout.

mod common;

use std::net::IpAddr;
use std::time::Duration;

use common::{hello_member, Console, Options, Server, Ws};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_gets_in_while_one_address_holds_hundreds_of_half_sent_requests() {
    let options = Options {
        open_files: Some(256),
        ..Options::default()
    };
    let server = Server::start_with(&["ada"], options).await;
    let console = Console::login(&server, "ada").await;
    let (_, token) = console.open_group("Thursday group", 12).await;
    let addr: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();

    // 300 requests that never finish their headers, from 127.0.0.1.
    let mut held = Vec::new();
    for _ in 0..300 {
        let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
            continue;
        };
        let _ = s
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: haven\r\n")
            .await;
        held.push(s);
    }

    // A member on another network knocks and waits, as usual.
    let member_ip: IpAddr = [127, 0, 0, 2].into();
    let mut member = Ws::connect_from(&server, member_ip)
        .await
        .expect("the member's connection was accepted");
    member.send(hello_member(&token, "Marigold")).await;
    member.expect_type("waiting").await;

    // The half-sent requests do not stay open.
    let mut first = held.swap_remove(0);
    let mut buf = [0u8; 256];
    let closed = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match first.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {} // a 408 may come first
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "a half-sent request stayed open for 20 s");
}
