//! The metrics endpoint of the real binary during a session with media:
//! the expected metrics exist, the counters move, and no label carries a
//! name, an address or anything but a fixed word.

mod common;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use common::{
    connect_media, free_port, hears_exactly, hello_member, hello_staff, wait_until, waiting_id,
    Console, Options, Server, Ws,
};
use serde_json::json;

const TONES: [f32; 2] = [440.0, 660.0];

/// (name with labels, value) of every sample.
fn samples(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (k, v) = l.rsplit_once(' ').unwrap();
            (k.to_owned(), v.parse().unwrap())
        })
        .collect()
}

fn value(text: &str, key: &str) -> f64 {
    samples(text)
        .into_iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no {key}"))
}

/// Label values allowed anywhere in the output.
const LABEL_VALUES: &[&str] = &[
    "remove",
    "publish",
    "event_dropped",
    "view",
    "route",
    "in",
    "out",
    "sent",
    "received",
    "not_permitted",
    "awaiting_keyframe",
    "malformed_red",
    "unrouted",
    "rejected",
    "audio",
    "video",
    "low",
    "mid",
    "high",
    "admitted",
    "denied",
    "removed",
    "returned_to_waiting",
    "muted",
    "handed_over",
    "session_ended",
];

fn check_labels(text: &str) -> Result<(), String> {
    for (key, _) in samples(text) {
        let Some((_, labels)) = key.split_once('{') else {
            continue;
        };
        for pair in labels.trim_end_matches('}').split(',') {
            let (name, value) = pair.split_once('=').ok_or(format!("bad label {pair}"))?;
            let value = value.trim_matches('"');
            let ok = match name {
                "le" => value == "+Inf" || value.parse::<f64>().is_ok(),
                "direction" | "reason" | "media" | "outcome" | "what" | "layer" => {
                    LABEL_VALUES.contains(&value)
                }
                _ => false,
            };
            if !ok {
                return Err(format!("label {name}={value:?} in {key}"));
            }
        }
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_move_during_a_session_and_name_nobody() {
    let metrics_port = free_port();
    let server = Server::start_with(
        &["ada"],
        Options {
            metrics_port: Some(metrics_port),
            ..Options::default()
        },
    )
    .await;
    let url = format!("http://127.0.0.1:{metrics_port}/metrics");
    let console = Console::login(&server, "ada").await;
    let (group, token) = console.open_group("Metrics group", 12).await;
    let mut fac = Ws::connect(&server, Some(&console.cookie)).await;
    fac.send(hello_staff(group, "Ada")).await;
    fac.expect_type("admitted").await;
    let mut member = Ws::connect(&server, None).await;
    member.send(hello_member(&token, "Noor")).await;
    member.expect_type("waiting").await;
    let mut waiting = Ws::connect(&server, None).await;
    waiting.send(hello_member(&token, "Ezra")).await;
    waiting.expect_type("waiting").await;

    let before = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert_eq!(value(&before, "haven_waiting_members"), 2.0);
    assert_eq!(value(&before, "haven_sessions_open"), 1.0);

    let list = fac
        .expect("Noor", |v| {
            v["type"] == "waiting_list" && waiting_id(v, "Noor").is_some()
        })
        .await;
    fac.send(json!({ "type": "admit", "participant": waiting_id(&list, "Noor").unwrap() }))
        .await;
    member.expect_type("admitted").await;
    let fac_media = connect_media(&mut fac, 0, 2, &TONES).await;
    let member_media = connect_media(&mut member, 1, 2, &TONES).await;
    let stop = Arc::new(AtomicBool::new(false));
    let senders = [
        fac_media.spawn_media(TONES[0], stop.clone()),
        member_media.spawn_media(TONES[1], stop.clone()),
    ];
    wait_until("they hear each other", || {
        hears_exactly(&fac_media, &TONES[1..])
    })
    .await;
    let first = reqwest::get(&url).await.unwrap().text().await.unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let second = reqwest::get(&url).await.unwrap().text().await.unwrap();

    for name in [
        "haven_sessions_open",
        "haven_rooms",
        "haven_participants",
        "haven_waiting_members",
        "haven_datagrams_total{direction=\"in\"}",
        "haven_bytes_total{direction=\"out\"}",
        "haven_rtp_packets_received_total",
        "haven_rtp_packets_forwarded_total",
        "haven_packets_dropped_total{reason=\"unrouted\"}",
        "haven_nacks_total{direction=\"sent\"}",
        "haven_keyframe_requests_total",
        "haven_ingress_loss_ppm",
        "haven_join_seconds_count{media=\"audio\"}",
        "haven_room_actions_total{outcome=\"admitted\"}",
        "haven_media_plane_failures_total{what=\"publish\"}",
        "haven_video_packets_forwarded_total{layer=\"low\"}",
        "haven_layer_switches_total",
        "haven_estimate_restarts_total",
        "haven_video_paused_subscribers",
        "haven_downlink_estimate_kbps_count",
        "haven_downlink_estimate_kbps_bucket{le=\"+Inf\"}",
    ] {
        value(&second, name);
    }
    // Video forwarded is counted by layer, within all forwarded packets.
    let video: f64 = ["low", "mid", "high"]
        .iter()
        .map(|l| {
            value(
                &second,
                &format!("haven_video_packets_forwarded_total{{layer=\"{l}\"}}"),
            )
        })
        .sum();
    assert!(
        video > 0.0 && video < value(&second, "haven_rtp_packets_forwarded_total"),
        "video by layer {video}"
    );
    assert_eq!(value(&second, "haven_video_paused_subscribers"), 0.0);
    // A normal session: nothing failed on the way to the media plane.
    assert_eq!(
        value(
            &second,
            "haven_media_plane_failures_total{what=\"publish\"}"
        ),
        0.0
    );
    assert_eq!(value(&second, "haven_participants"), 2.0);
    assert_eq!(value(&second, "haven_waiting_members"), 1.0);
    assert_eq!(
        value(&second, "haven_room_actions_total{outcome=\"admitted\"}"),
        1.0
    );
    assert!(value(&second, "haven_join_seconds_count{media=\"audio\"}") >= 2.0);
    for moving in [
        "haven_rtp_packets_forwarded_total",
        "haven_datagrams_total{direction=\"in\"}",
        "haven_bytes_total{direction=\"out\"}",
    ] {
        assert!(
            value(&second, moving) > value(&first, moving) + 50.0,
            "{moving} did not move: {} -> {}",
            value(&first, moving),
            value(&second, moving)
        );
    }
    check_labels(&second).unwrap();
    for secret in ["Ada", "Noor", "Ezra", "Metrics group", "127.0.0.1", &token] {
        assert!(!second.contains(secret), "the metrics mention {secret:?}");
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in senders {
        let _ = s.await;
    }
}

/// The label check rejects a name or an address (a test of the test).
#[test]
fn the_label_check_rejects_names_and_addresses() {
    assert!(check_labels("haven_participants{name=\"Noor\"} 1").is_err());
    assert!(check_labels("haven_datagrams_total{direction=\"10.0.0.7\"} 1").is_err());
    assert!(check_labels("haven_datagrams_total{direction=\"in\"} 1").is_ok());
}
