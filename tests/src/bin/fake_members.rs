//! `fake-members BASE_URL TOKEN NAME...`: members that join a running Haven
//! through its WebSocket and publish an Opus tone and VP8-shaped video with
//! webrtc-rs. Light enough to fill a room of 14 next to a few real browsers
//! (the browser tests use it for the 13-person gallery). Runs until killed
//! or until the session ends. With `HAVEN_FAKE_REPORT=1` each member prints
//! every 2 s what it received (`NAME received {json}`): it holds no
//! end-to-end key, so this is what the SFU forwards, as an outsider sees it.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use futures_util::{SinkExt, StreamExt};
use haven_e2e::webrtc_client::ToneClient;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::Message;

const TONES: [f32; 12] = [
    300.0, 350.0, 400.0, 450.0, 500.0, 550.0, 600.0, 650.0, 700.0, 750.0, 800.0, 850.0,
];

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [base, token, names @ ..] = args.as_slice() else {
        eprintln!("usage: fake-members BASE_URL TOKEN NAME...");
        std::process::exit(2);
    };
    let ws_url = base
        .replace("http://", "ws://")
        .replace("https://", "wss://")
        + "/ws";
    let mut tasks = Vec::new();
    for (i, name) in names.iter().enumerate() {
        let (ws_url, token, name) = (ws_url.clone(), token.clone(), name.clone());
        tasks.push(tokio::spawn(async move {
            member(i, &ws_url, &token, &name).await
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn member(i: usize, ws_url: &str, token: &str, name: &str) {
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(ws_url).await else {
        eprintln!("{name}: cannot connect");
        return;
    };
    let hello = json!({ "type": "hello", "v": 1, "join": { "kind": "member", "token": token, "name": name, "agreed": true } });
    if ws
        .send(Message::Text(hello.to_string().into()))
        .await
        .is_err()
    {
        return;
    }
    let stop = Arc::new(AtomicBool::new(false));
    let mut client: Option<ToneClient> = None;
    while let Some(Ok(msg)) = ws.next().await {
        let Message::Text(text) = msg else { continue };
        let Ok(v) = serde_json::from_str::<Value>(text.as_str()) else {
            continue;
        };
        match v["type"].as_str() {
            Some("admitted") => {
                let mut c = ToneClient::new(100 + i as u32, 13, TONES.to_vec()).await;
                let offer = json!({ "type": "offer", "sdp": c.take_offer() });
                if ws
                    .send(Message::Text(offer.to_string().into()))
                    .await
                    .is_err()
                {
                    break;
                }
                client = Some(c);
            }
            Some("answer") => {
                if let (Some(c), Some(sdp)) = (client.as_mut(), v["sdp"].as_str()) {
                    c.accept_answer(sdp.to_owned()).await;
                    c.spawn_media(TONES[i % TONES.len()], stop.clone());
                    println!("{name} connected");
                    if std::env::var_os("HAVEN_FAKE_REPORT").is_some() {
                        tokio::spawn(report(name.to_owned(), c.received.clone(), stop.clone()));
                    }
                }
            }
            Some("session_ended" | "removed" | "denied") => break,
            _ => {}
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Print what this member received, every 2 s, until stopped.
async fn report(
    name: String,
    received: Arc<std::sync::Mutex<haven_e2e::webrtc_client::Received>>,
    stop: Arc<AtomicBool>,
) {
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        let line = {
            let r = received.lock().unwrap();
            json!({
                "audio_packets": r.audio_packets.values().sum::<u64>(),
                "opus_errors": r.decode_errors,
                "distinct_first_bytes": r.audio_first_bytes.len(),
                "video_frames": r.video_frames,
                "video_frames_sealed": r.video_frames_sealed,
            })
        };
        println!("{name} received {line}");
    }
}
