//! Janus VideoRoom over HTTP (see shared/peer-janus.md): the peer SFU for
//! side-by-side figures. Each participant publishes on one peer connection
//! and subscribes to everyone else on a second one (Janus offers).

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::participant::{Participant, Peer};
use crate::signal::RoomSpec;

/// One Janus session (a long-poll event stream) with one plugin handle.
struct Handle {
    http: reqwest::Client,
    base: String,
    session: u64,
    handle: u64,
    events: Vec<Value>,
}

fn tx() -> String {
    format!("{:x}", rand_u64())
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(Instant::now().elapsed().as_nanos());
    h.finish()
}

/// Send a request and read its JSON body.
async fn json_of(request: reqwest::RequestBuilder) -> Result<Value, String> {
    let response = request.send().await.map_err(|e| e.to_string())?;
    response.json().await.map_err(|e| e.to_string())
}

async fn post(http: &reqwest::Client, url: &str, mut body: Value) -> Result<Value, String> {
    body["transaction"] = json!(tx());
    let v = json_of(http.post(url).json(&body)).await?;
    if v["janus"] == "error" {
        return Err(format!("janus: {v}"));
    }
    Ok(v)
}

impl Handle {
    async fn new(base: &str) -> Result<Self, String> {
        let http = reqwest::Client::new();
        let created = post(&http, base, json!({ "janus": "create" })).await?;
        let session = created["data"]["id"].as_u64().ok_or("no session")?;
        let attached = post(
            &http,
            &format!("{base}/{session}"),
            json!({ "janus": "attach", "plugin": "janus.plugin.videoroom" }),
        )
        .await?;
        let handle = attached["data"]["id"].as_u64().ok_or("no handle")?;
        Ok(Self {
            http,
            base: base.to_owned(),
            session,
            handle,
            events: Vec::new(),
        })
    }

    async fn message(&self, body: Value, jsep: Option<Value>) -> Result<Value, String> {
        let mut m = json!({ "janus": "message", "body": body });
        if let Some(j) = jsep {
            m["jsep"] = j;
        }
        post(
            &self.http,
            &format!("{}/{}/{}", self.base, self.session, self.handle),
            m,
        )
        .await
    }

    async fn trickle_done(&self) -> Result<(), String> {
        let m = json!({ "janus": "trickle", "candidate": { "completed": true } });
        post(
            &self.http,
            &format!("{}/{}/{}", self.base, self.session, self.handle),
            m,
        )
        .await
        .map(|_| ())
    }

    /// Wait (long poll) for an event matching `pred`.
    async fn event(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Result<Value, String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(i) = self.events.iter().position(&pred) {
                return Ok(self.events.remove(i));
            }
            if Instant::now() > deadline {
                return Err(format!("janus: no {what}"));
            }
            let url = format!("{}/{}?maxev=10", self.base, self.session);
            let v = json_of(self.http.get(&url)).await?;
            match v {
                Value::Array(evs) => self.events.extend(evs),
                other => self.events.push(other),
            }
        }
    }

    /// Keep the session alive (an open long poll counts) until `until`.
    fn keep_alive(self, until: Instant) {
        tokio::spawn(async move {
            while Instant::now() < until {
                let url = format!("{}/{}?maxev=10", self.base, self.session);
                let _ =
                    tokio::time::timeout(Duration::from_secs(35), self.http.get(&url).send()).await;
            }
        });
    }
}

/// One room of `size` through Janus at `base` (e.g. http://IP:8088/janus).
pub async fn room_janus(
    base: &str,
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
    // Unique per run: Janus keeps rooms until destroyed.
    let room_id = u64::from(std::process::id() % 100_000) * 1000 + room;
    let mut publishers = Vec::new();
    let mut feeds = Vec::new();
    for i in 0..size {
        let mut h = Handle::new(base).await?;
        if i == 0 {
            let create = json!({ "request": "create", "room": room_id, "publishers": 14, "bitrate": 0, "fir_freq": 0,
                                 "audiocodec": "opus", "videocodec": "vp8" });
            h.message(create, None).await?;
        }
        h.message(json!({ "request": "join", "ptype": "publisher", "room": room_id, "display": format!("p{i}") }), None).await?;
        let joined = h
            .event("joined", |v| {
                v["plugindata"]["data"]["videoroom"] == "joined"
            })
            .await?;
        feeds.push(
            joined["plugindata"]["data"]["id"]
                .as_u64()
                .ok_or("no feed id")?,
        );
        let id = (room * 100 + i as u64) as u32;
        let mut p = Participant::new(id, plan.clone(), epoch);
        let (mut peer, offer) = Peer::offerer(ip, true, 0)
            .await
            .map_err(|e| e.to_string())?;
        p.offered_at = Instant::now();
        h.message(
            json!({ "request": "publish", "audio": true, "video": true }),
            Some(json!({ "type": "offer", "sdp": offer })),
        )
        .await?;
        h.trickle_done().await?;
        let configured = h
            .event("publish answer", |v| v["jsep"]["type"] == "answer")
            .await?;
        peer.accept_answer(configured["jsep"]["sdp"].as_str().unwrap_or(""))?;
        p.peers.push(peer);
        spawn(p);
        publishers.push(h);
    }
    // Subscribing to a feed before it is up fails ("No such feed").
    for h in publishers.iter_mut() {
        h.event("webrtcup", |v| v["janus"] == "webrtcup").await?;
    }
    let mut handles = Vec::new();
    for (i, h) in publishers.into_iter().enumerate() {
        let mut p = Participant::new((room * 100 + 50 + i as u64) as u32, plan.clone(), epoch);
        p.offered_at = Instant::now();
        let mut sub = Handle::new(base).await?;
        let streams: Vec<Value> = feeds
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, f)| json!({ "feed": f }))
            .collect();
        sub.message(json!({ "request": "join", "ptype": "subscriber", "room": room_id, "streams": streams }), None).await?;
        let attached = sub
            .event("subscriber offer", |v| v["jsep"]["type"] == "offer")
            .await?;
        let (peer, answer) =
            Peer::answerer(ip, attached["jsep"]["sdp"].as_str().unwrap_or("")).await?;
        sub.message(
            json!({ "request": "start" }),
            Some(json!({ "type": "answer", "sdp": answer })),
        )
        .await?;
        sub.trickle_done().await?;
        p.peers.push(peer);
        spawn(p);
        handles.push(h);
        handles.push(sub);
    }
    for h in handles {
        h.keep_alive(until);
    }
    Ok(())
}
