//! Getting participants into a room: through Haven's own signaling (HTTP
//! API + WebSocket), through Haven's media plane in this process, or through
//! Janus VideoRoom over HTTP.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use haven_sfu::io::{MediaAddr, MediaConfig, MediaServer};
use haven_sfu::{MediaPlane, ParticipantId, RoomId};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use crate::participant::{MediaPlan, Participant, Peer};

/// What every room function needs to know.
pub struct RoomSpec<'a> {
    /// Room number (1-based).
    pub room: u64,
    /// Participants in it.
    pub size: usize,
    /// Address the participants bind.
    pub ip: IpAddr,
    /// What they send.
    pub plan: &'a MediaPlan,
    /// Common clock for latency.
    pub epoch: Instant,
    /// When the run ends.
    pub until: Instant,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A fresh in-process media plane (the `MediaPlane` interface directly).
pub fn in_process(ip: IpAddr) -> Result<MediaServer, String> {
    let mut config = MediaConfig::new(vec![MediaAddr::same((ip, 0).into())]);
    config.workers = 1;
    let (server, mut events) = MediaServer::start(config).map_err(|e| e.to_string())?;
    tokio::spawn(async move { while events.recv().await.is_some() {} });
    Ok(server)
}

/// One room of `size` through the in-process media plane.
pub async fn room_in_process(
    media: &MediaServer,
    spec: &RoomSpec<'_>,
    spawn: &mut dyn FnMut(Participant),
) -> Result<(), String> {
    let RoomSpec {
        room,
        size,
        ip,
        plan,
        epoch,
        ..
    } = *spec;
    for i in 0..size {
        let id = (room * 100 + i as u64) as u32;
        let mut p = Participant::new(id, plan.clone(), epoch);
        let (mut peer, offer) = Peer::offerer(ip, true, size - 1)
            .await
            .map_err(|e| e.to_string())?;
        p.offered_at = Instant::now();
        let answer = media
            .add_participant(RoomId(room), ParticipantId(u64::from(id)), offer)
            .await
            .map_err(|e| e.to_string())?;
        peer.accept_answer(&answer)?;
        p.peers.push(peer);
        spawn(p);
    }
    Ok(())
}

async fn next_json(ws: &mut Ws, want: &str) -> Result<Value, String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        match tokio::time::timeout_at(deadline, ws.next()).await {
            Ok(Some(Ok(Message::Text(t)))) => {
                let v: Value = serde_json::from_str(t.as_str()).map_err(|e| e.to_string())?;
                if v["type"] == want {
                    return Ok(v);
                }
                if v["type"] == "error" {
                    return Err(format!("server error: {v}"));
                }
            }
            Ok(Some(Ok(_))) => {}
            _ => return Err(format!("no {want} from the server")),
        }
    }
}

async fn send(ws: &mut Ws, v: Value) -> Result<(), String> {
    ws.send(Message::Text(v.to_string().into()))
        .await
        .map_err(|e| e.to_string())
}

/// Keep a WebSocket read until the run ends (the server drops media of a
/// participant whose socket closes).
fn keep_open(mut ws: Ws, until: Instant) {
    tokio::spawn(async move {
        let _ = tokio::time::timeout_at(until.into(), async {
            while let Some(Ok(_)) = ws.next().await {}
        })
        .await;
    });
}

/// A logged-in facilitator of a running Haven (one login for all rooms:
/// Haven rate-limits logins).
pub struct HavenLogin {
    base: String,
    http: reqwest::Client,
    cookie: String,
}

impl HavenLogin {
    /// Log in.
    pub async fn new(base: &str, user: &str, password: &str) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .map_err(|e| e.to_string())?;
        let login = http
            .post(format!("{base}/api/login"))
            .json(&json!({ "username": user, "password": password }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !login.status().is_success() {
            return Err(format!("login failed: {}", login.status()));
        }
        let cookie = login
            .headers()
            .get("set-cookie")
            .and_then(|c| c.to_str().ok())
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .to_owned();
        Ok(Self {
            base: base.to_owned(),
            http,
            cookie,
        })
    }
}

/// One room of `size` through Haven's signaling: a facilitator opens a
/// group's session, `size - 1` members knock and are admitted.
pub async fn room_haven(
    login: &HavenLogin,
    spec: &RoomSpec<'_>,
    spawn: &mut dyn FnMut(Participant),
) -> Result<(), String> {
    let RoomSpec {
        room,
        size,
        ip,
        plan,
        epoch,
        until,
    } = *spec;
    let (base, http, cookie) = (login.base.as_str(), &login.http, login.cookie.clone());
    let group: Value = http
        .post(format!("{base}/api/groups"))
        .json(&json!({ "name": format!("loadgen {room}"), "capacity": 12 }))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json()
        .await
        .map_err(|e| e.to_string())?;
    let gid = group["id"].as_i64().ok_or(format!("no group: {group}"))?;
    let token = group["invite_link"]
        .as_str()
        .unwrap_or("")
        .rsplit('/')
        .next()
        .unwrap_or("")
        .to_owned();
    http.post(format!("{base}/api/groups/{gid}/session"))
        .json(&json!({}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let ws_url = base.replace("http", "ws") + "/ws";
    let mut sockets = Vec::new();
    let mut req = ws_url
        .as_str()
        .into_client_request()
        .map_err(|e| e.to_string())?;
    req.headers_mut()
        .insert("cookie", cookie.parse().map_err(|_| "bad cookie")?);
    let (mut fac, _) = tokio_tungstenite::connect_async(req)
        .await
        .map_err(|e| e.to_string())?;
    send(
        &mut fac,
        json!({ "type": "hello", "v": 1, "join": { "kind": "staff", "group": gid, "name": "lg" } }),
    )
    .await?;
    next_json(&mut fac, "admitted").await?;
    for i in 1..size {
        let (mut ws, _) = tokio_tungstenite::connect_async(ws_url.as_str())
            .await
            .map_err(|e| e.to_string())?;
        let hello = json!({ "type": "hello", "v": 1, "join": { "kind": "member", "token": token, "name": format!("m{i}"), "agreed": true } });
        send(&mut ws, hello).await?;
        next_json(&mut ws, "waiting").await?;
        sockets.push(ws);
    }
    send(&mut fac, json!({ "type": "admit_all" })).await?;
    sockets.insert(0, fac);
    for (i, mut ws) in sockets.into_iter().enumerate() {
        if i > 0 {
            next_json(&mut ws, "admitted").await?;
        }
        let id = (room * 100 + i as u64) as u32;
        let mut p = Participant::new(id, plan.clone(), epoch);
        let (mut peer, offer) = Peer::offerer(ip, true, size - 1)
            .await
            .map_err(|e| e.to_string())?;
        p.offered_at = Instant::now();
        send(&mut ws, json!({ "type": "offer", "sdp": offer })).await?;
        let answer = next_json(&mut ws, "answer").await?;
        peer.accept_answer(answer["sdp"].as_str().unwrap_or(""))?;
        p.peers.push(peer);
        keep_open(ws, until);
        spawn(p);
    }
    Ok(())
}
