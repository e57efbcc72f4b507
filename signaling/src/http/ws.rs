//! One WebSocket per participant: `hello` first, then typed messages both
//! ways. Authentication happens here; what a participant may do is the
//! room's decision.

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use futures_util::{SinkExt, StreamExt};
use haven_sfu::MediaPlane;
use tokio::sync::mpsc;

use super::door;
use super::limits::{message_budget, offer_budget, ClientIp};
use super::AppState;
use crate::live::{RoomHandle, CONN_QUEUE};
use crate::protocol::{
    ClientMsg, ServerMsg, HELLO_TIMEOUT_SECS, MAX_MESSAGE_BYTES, PROTOCOL_VERSION,
};
use crate::room::{AccountId, Arrival, Command, PublicKey, Role};
use crate::turn::TurnSettings;

pub async fn upgrade<M: MediaPlane>(
    State(state): State<Arc<AppState<M>>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    if !same_origin(&headers, &state.settings.public_url) {
        // Another site's page trying to open a socket in a visitor's name.
        return (
            axum::http::StatusCode::FORBIDDEN,
            "WebSockets are only for Haven's own pages. If this is Haven's page, its address must be the configured public URL (--public-url).",
        )
            .into_response();
    }
    // The cookie is read at upgrade time; members need none. Staff keep
    // their login's token: the socket closes when the login ends.
    let login = super::session_cookie(&headers).and_then(|token| {
        let account = super::valid_login(&state.sessions, &state.store, &token)?;
        Some(StaffLogin {
            sessions: state.sessions.clone(),
            store: state.store.clone(),
            token,
            account,
        })
    });
    ws.max_message_size(MAX_MESSAGE_BYTES)
        .max_frame_size(MAX_MESSAGE_BYTES)
        .on_upgrade(move |socket| connection(state, login, ip, socket))
}

/// Whether a WebSocket request comes from one of Haven's own pages.
///
/// Browsers always send `Origin` with a WebSocket handshake and pages cannot
/// forge it, so a foreign origin means another site's page; it is refused
/// (the session cookie is `SameSite=Strict` as well: defence in depth).
/// Clients that are not browsers send no `Origin` and must prove who they
/// are in their hello like everyone else.
fn same_origin(headers: &HeaderMap, public_url: &str) -> bool {
    match headers.get(axum::http::header::ORIGIN) {
        None => true,
        Some(origin) => origin
            .to_str()
            .is_ok_and(|o| super::is_our_origin(o, public_url)),
    }
}

async fn send(socket: &mut WebSocket, msg: &ServerMsg) -> bool {
    match serde_json::to_string(msg) {
        Ok(text) => socket.send(Message::Text(text.into())).await.is_ok(),
        Err(_) => false,
    }
}

async fn refuse(mut socket: WebSocket, code: &str, message: &str) {
    let _ = send(&mut socket, &ServerMsg::error(code, message)).await;
    let _ = socket.close().await;
}

/// Parse one message; binary messages are errors, control frames nothing.
fn parse(msg: Message) -> Option<Result<ClientMsg, ServerMsg>> {
    match msg {
        Message::Text(t) => Some(crate::protocol::decode(t.as_str())),
        Message::Binary(_) => Some(Err(ServerMsg::error(
            "bad_message",
            "Messages are JSON text.",
        ))),
        Message::Ping(_) | Message::Pong(_) => None,
        Message::Close(_) => None,
    }
}

/// The login a staff socket was opened with. Being in a session counts as
/// activity (the socket keeps the login from idling out), but when the login
/// ends (logout, its absolute lifetime) the socket closes: a logged-out
/// laptop must not keep admitting and muting.
struct StaffLogin {
    sessions: Arc<crate::auth::Sessions>,
    store: Arc<crate::store::Store>,
    token: String,
    account: AccountId,
}

impl StaffLogin {
    /// Before each command: the login is still in memory (a logout ends it
    /// at once). Cheap: no database.
    fn alive(&self) -> bool {
        self.sessions.touch(&self.token, Instant::now()).is_some()
    }

    /// Every few seconds: also still allowed by the store (a disable or a
    /// password change by `haven facilitator`, which runs elsewhere).
    fn still_valid(&self) -> bool {
        super::valid_login(&self.sessions, &self.store, &self.token).is_some()
    }
}

/// How often an open staff socket checks its login while nothing is said.
const LOGIN_CHECK: Duration = Duration::from_secs(2);

async fn connection<M: MediaPlane>(
    state: Arc<AppState<M>>,
    login: Option<StaffLogin>,
    ip: Option<std::net::IpAddr>,
    mut socket: WebSocket,
) {
    let hello = tokio::time::timeout(Duration::from_secs(HELLO_TIMEOUT_SECS), socket.recv()).await;
    let (join, public_key) = match hello {
        Ok(Some(Ok(msg))) => match parse(msg) {
            Some(Ok(ClientMsg::Hello {
                v,
                join,
                public_key,
            })) if v == PROTOCOL_VERSION => (join, public_key),
            Some(Ok(ClientMsg::Hello { .. })) => {
                return refuse(
                    socket,
                    "version",
                    "This client speaks another protocol version; reload the page.",
                )
                .await
            }
            Some(Ok(_)) => return refuse(socket, "hello_first", "Say hello first.").await,
            Some(Err(e)) => {
                let _ = send(&mut socket, &e).await;
                return refuse(socket, "hello_first", "Say hello first.").await;
            }
            None => return,
        },
        Ok(Some(Err(_))) => return refuse(socket, "too_large", "That message is too large.").await,
        Ok(None) => return,
        Err(_) => return refuse(socket, "timeout", "No hello within 10 seconds.").await,
    };
    // A page without a key joins but is never given a media key (it hears
    // and sees nothing it can decrypt); a malformed key is refused.
    let public_key = match public_key.as_deref().map(PublicKey::parse) {
        None => None,
        Some(Some(key)) => Some(key),
        Some(None) => {
            return refuse(
                socket,
                "bad_public_key",
                "That public key is not a P-256 key in base64url.",
            )
            .await
        }
    };
    let account = login.as_ref().map(|l| l.account);
    let door = match door::check(&state, account, ip, join, Instant::now()) {
        Ok(door) => door,
        Err(turned_away) => return refuse(socket, turned_away.code, turned_away.message).await,
    };
    let member = door.role == Role::Member;
    let welcome = ServerMsg::Welcome {
        v: PROTOCOL_VERSION,
        resume: member.then(|| door.resume_secret.clone()),
    };
    if !send(&mut socket, &welcome).await {
        return;
    }
    let conn = state.live.new_conn();
    let (outbox, mut outgoing) = mpsc::channel(CONN_QUEUE);
    let enter = Command::Enter(Arrival {
        conn,
        id: state.live.new_participant(),
        seat: door.seat,
        role: door.role,
        name: door.name,
        key: door.key,
        public_key,
    });
    let room = door.room;
    if !room.connect(conn, outbox, enter).await {
        return refuse(socket, "ended", "This session has ended.").await;
    }
    // Only staff doors use the login; a member's socket never closes for it.
    let login = login.filter(|_| !member);
    pump(
        &room,
        conn,
        socket,
        &mut outgoing,
        state.turn.as_ref(),
        login,
    )
    .await;
    room.lost(conn).await;
}

/// Move messages both ways until either side is done.
async fn pump(
    room: &RoomHandle,
    conn: crate::room::ConnId,
    socket: WebSocket,
    outgoing: &mut mpsc::Receiver<ServerMsg>,
    turn: Option<&TurnSettings>,
    login: Option<StaffLogin>,
) {
    let (mut sink, mut stream) = socket.split();
    let mut budget = message_budget(Instant::now());
    let mut offers = offer_budget(Instant::now());
    let mut last_warning: Option<Instant> = None;
    let mut login_check = tokio::time::interval(LOGIN_CHECK);
    let logged_out = || login.as_ref().is_some_and(|l| !l.alive());
    loop {
        tokio::select! {
            _ = login_check.tick(), if login.is_some() => {
                if login.as_ref().is_some_and(|l| !l.still_valid()) {
                    return close_logged_out(sink).await;
                }
            },
            out = outgoing.recv() => match out {
                Some(mut msg) => {
                    if let (ServerMsg::Admitted { ice_servers, .. }, Some(turn)) = (&mut msg, turn) {
                        *ice_servers = vec![turn.credentials(unix_now())];
                    }
                    let Ok(text) = serde_json::to_string(&msg) else { continue };
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        return;
                    }
                }
                // The room closed this connection (removed, denied, ended,
                // replaced by another device).
                None => {
                    let _ = sink.close().await;
                    return;
                }
            },
            incoming = stream.next() => match incoming {
                Some(Ok(msg)) => match parse(msg) {
                    Some(Ok(_)) if !budget.take(Instant::now()) => {
                        // Dropped, with at most one warning a second.
                        let now = Instant::now();
                        if last_warning.is_none_or(|t| now.duration_since(t) >= Duration::from_secs(1)) {
                            last_warning = Some(now);
                            let error = ServerMsg::error("rate_limited", "Too many messages at once; some were not delivered. Please slow down.");
                            let Ok(text) = serde_json::to_string(&error) else { continue };
                            if sink.send(Message::Text(text.into())).await.is_err() {
                                return;
                            }
                        }
                    }
                    Some(Ok(_)) if logged_out() => return close_logged_out(sink).await,
                    Some(Ok(ClientMsg::Offer { .. })) if !offers.take(Instant::now()) => {
                        let error = ServerMsg::error("rate_limited", "Too many new media connections at once; wait a few seconds and reload the page.");
                        let Ok(text) = serde_json::to_string(&error) else { continue };
                        if sink.send(Message::Text(text.into())).await.is_err() {
                            return;
                        }
                    }
                    Some(Ok(msg)) => {
                        let delivered = room.message(conn, msg).await;
                        if !delivered {
                            return;
                        }
                    }
                    Some(Err(error)) => {
                        let Ok(text) = serde_json::to_string(&error) else { continue };
                        if sink.send(Message::Text(text.into())).await.is_err() {
                            return;
                        }
                    }
                    None => {}
                },
                Some(Err(_)) => {
                    // Oversized or broken frames end this connection only.
                    let error = ServerMsg::error("too_large", "That message is too large or malformed; the connection is closed.");
                    if let Ok(text) = serde_json::to_string(&error) {
                        let _ = sink.send(Message::Text(text.into())).await;
                    }
                    let _ = sink.close().await;
                    return;
                }
                None => return,
            },
        }
    }
}

async fn close_logged_out(mut sink: futures_util::stream::SplitSink<WebSocket, Message>) {
    let error = ServerMsg::error(
        "logged_out",
        "You were logged out. Log in again to return to the session.",
    );
    if let Ok(text) = serde_json::to_string(&error) {
        let _ = sink.send(Message::Text(text.into())).await;
    }
    let _ = sink.close().await;
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn only_our_own_pages_may_open_a_socket() {
        let public = "https://haven.clinic.example";
        // No Origin: not a browser; the hello decides.
        assert!(same_origin(&headers(&[]), public));
        assert!(same_origin(
            &headers(&[("origin", "https://haven.clinic.example")]),
            public
        ));
        for evil in [
            "https://evil.example",
            "https://haven.clinic.example.evil.example",
            "http://haven.clinic.example",
            "null",
        ] {
            assert!(
                !same_origin(
                    &headers(&[("origin", evil), ("host", "haven.clinic.example")]),
                    public
                ),
                "{evil} was let in"
            );
        }
        // DNS rebinding: the page's origin and the Host it sends agree, and
        // are not ours.
        assert!(!same_origin(
            &headers(&[
                ("origin", "http://rebound.example"),
                ("host", "rebound.example")
            ]),
            public
        ));
        // A production server is not reached from a loopback page.
        assert!(!same_origin(
            &headers(&[
                ("origin", "http://127.0.0.1:8080"),
                ("host", "127.0.0.1:8080")
            ]),
            public
        ));
        // On a laptop (public URL on loopback), any loopback page is ours,
        // also through a local relay on another port.
        let laptop = "http://localhost:8080";
        for ok in [
            "http://127.0.0.1:41234",
            "http://localhost:8080",
            "http://[::1]:9",
        ] {
            assert!(same_origin(&headers(&[("origin", ok)]), laptop), "{ok}");
        }
        assert!(!same_origin(
            &headers(&[("origin", "http://10.0.0.5:8080")]),
            laptop
        ));
    }
}
