//! Prometheus metrics on their own listener (loopback by default): numbers
//! about rooms, participants and packets, never a name or an address.

use std::fmt::Write;
use std::sync::Arc;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use haven_sfu::core::{Histogram, JOIN_BUCKETS_MS};
use haven_sfu::io::MediaServer;
use haven_signaling::live::Live;

/// Serve `/metrics` on `listener` until the process ends.
pub fn spawn(listener: std::net::TcpListener, media: MediaServer, live: Arc<Live<MediaServer>>) {
    tokio::spawn(async move {
        let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
            return;
        };
        let app = Router::new().route(
            "/metrics",
            get(move || {
                let (media, live) = (media.clone(), live.clone());
                async move {
                    let text = render(&media, &live).await;
                    (
                        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
                        text,
                    )
                        .into_response()
                }
            }),
        );
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the metrics listener stopped");
        }
    });
}

fn metric(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(&str, u64)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

fn histogram(out: &mut String, name: &str, help: &str, series: &[(&str, &Histogram)]) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
    for (label, h) in series {
        let mut cumulative = 0;
        for (i, bound) in JOIN_BUCKETS_MS.iter().enumerate() {
            cumulative += h.counts[i];
            let _ = writeln!(
                out,
                "{name}_bucket{{{label},le=\"{}\"}} {cumulative}",
                *bound as f64 / 1000.0
            );
        }
        let _ = writeln!(out, "{name}_bucket{{{label},le=\"+Inf\"}} {}", h.count());
        let _ = writeln!(out, "{name}_sum{{{label}}} {}", h.sum_micros as f64 / 1e6);
        let _ = writeln!(out, "{name}_count{{{label}}} {}", h.count());
    }
}

/// The exposition text.
pub async fn render(media: &MediaServer, live: &Live<MediaServer>) -> String {
    let c = media.counters().await;
    let f = media.footprint().await;
    let mut out = String::new();
    metric(
        &mut out,
        "haven_sessions_open",
        "gauge",
        "Group sessions open.",
        &[("", live.open_sessions() as u64)],
    );
    metric(
        &mut out,
        "haven_rooms",
        "gauge",
        "Rooms in the media plane.",
        &[("", f.rooms as u64)],
    );
    metric(
        &mut out,
        "haven_participants",
        "gauge",
        "Participants connected to the media plane.",
        &[("", f.participants as u64)],
    );
    metric(
        &mut out,
        "haven_waiting_members",
        "gauge",
        "Members in waiting rooms.",
        &[("", live.metrics.waiting() as u64)],
    );
    metric(
        &mut out,
        "haven_datagrams_total",
        "counter",
        "UDP datagrams on the media port.",
        &[
            ("direction=\"in\"", c.datagrams_in),
            ("direction=\"out\"", c.datagrams_out),
        ],
    );
    metric(
        &mut out,
        "haven_bytes_total",
        "counter",
        "Bytes on the media port.",
        &[
            ("direction=\"in\"", c.bytes_in),
            ("direction=\"out\"", c.bytes_out),
        ],
    );
    metric(
        &mut out,
        "haven_rtp_packets_received_total",
        "counter",
        "RTP packets received from publishers.",
        &[("", c.forward.packets_in)],
    );
    metric(
        &mut out,
        "haven_rtp_packets_forwarded_total",
        "counter",
        "RTP packets forwarded to subscribers (rate() gives forwarded pps).",
        &[("", c.forward.packets_forwarded)],
    );
    let by_layer = c.forward.video_forwarded_by_layer;
    metric(
        &mut out,
        "haven_video_packets_forwarded_total",
        "counter",
        "Video packets forwarded to subscribers, by simulcast layer.",
        &[
            ("layer=\"low\"", by_layer[0]),
            ("layer=\"mid\"", by_layer[1]),
            ("layer=\"high\"", by_layer[2]),
        ],
    );
    metric(
        &mut out,
        "haven_layer_switches_total",
        "counter",
        "Times a subscriber's tile moved to another video layer (on a keyframe).",
        &[("", c.forward.layer_switches)],
    );
    metric(
        &mut out,
        "haven_video_paused_subscribers",
        "gauge",
        "Members receiving audio only for now: their connection cannot carry video.",
        &[("", f.video_paused as u64)],
    );
    metric(
        &mut out,
        "haven_audio_packets_protected_total",
        "counter",
        "Audio packets sent with redundancy (RED) to members on lossy links.",
        &[("", c.forward.audio_packets_protected)],
    );
    metric(
        &mut out,
        "haven_packets_dropped_total",
        "counter",
        "Packets dropped, by reason.",
        &[
            ("reason=\"not_permitted\"", c.forward.dropped_not_permitted),
            (
                "reason=\"awaiting_keyframe\"",
                c.forward.dropped_awaiting_keyframe,
            ),
            ("reason=\"malformed_red\"", c.forward.dropped_malformed_red),
            ("reason=\"unrouted\"", c.dropped_unrouted),
            ("reason=\"rejected\"", c.rejected_by_peer),
        ],
    );
    metric(
        &mut out,
        "haven_nacks_total",
        "counter",
        "NACKs: sent to publishers, received from subscribers.",
        &[
            ("direction=\"sent\"", c.nacks_sent),
            ("direction=\"received\"", c.nacks_received),
        ],
    );
    metric(
        &mut out,
        "haven_keyframe_requests_total",
        "counter",
        "Keyframe requests (PLI) sent to publishers.",
        &[("", c.forward.keyframe_requests)],
    );
    metric(
        &mut out,
        "haven_ingress_loss_ppm",
        "gauge",
        "Mean loss on incoming streams, parts per million.",
        &[("", c.ingress_loss_ppm)],
    );
    histogram(
        &mut out,
        "haven_join_seconds",
        "From the SFU receiving an offer to the first packet sent to the newcomer.",
        &[
            ("media=\"audio\"", &c.forward.join_first_audio),
            ("media=\"video\"", &c.forward.join_first_video),
        ],
    );
    counters_by(
        &mut out,
        "haven_room_actions_total",
        "Admissions, denials, removals, returns to waiting, mutes, hand-overs, session ends.",
        "outcome",
        live.metrics
            .outcomes()
            .into_iter()
            .map(|(a, n)| (a.as_str(), n)),
    );
    counters_by(
        &mut out,
        "haven_media_plane_failures_total",
        "Media-plane commands that failed (remove, publish) and media events dropped; each is also logged.",
        "what",
        live.metrics.media_trouble().into_iter().map(|(t, n)| (t.as_str(), n)),
    );
    out
}

/// A counter with one fixed-word label (`label="value"`) per sample.
fn counters_by<'a>(
    out: &mut String,
    name: &str,
    help: &str,
    label: &str,
    values: impl Iterator<Item = (&'a str, u64)>,
) {
    let labelled: Vec<(String, u64)> = values
        .map(|(v, n)| (format!("{label}=\"{v}\""), n))
        .collect();
    let samples: Vec<(&str, u64)> = labelled.iter().map(|(l, n)| (l.as_str(), *n)).collect();
    metric(out, name, "counter", help, &samples);
}
