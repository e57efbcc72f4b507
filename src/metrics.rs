//! Prometheus metrics on their own listener (loopback by default): numbers
//! about rooms, participants and packets, never a name or an address.

use std::sync::Arc;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use haven_sfu::core::{Histogram, ESTIMATE_BUCKETS_KBPS, JOIN_BUCKETS_MS};
use haven_sfu::io::MediaServer;
use haven_signaling::live::Live;
use prometheus::proto::{self, LabelPair, Metric, MetricFamily, MetricType};
use prometheus::{Encoder, TextEncoder};

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
                    ([(CONTENT_TYPE, prometheus::TEXT_FORMAT)], text).into_response()
                }
            }),
        );
        if let Err(e) = axum::serve(listener, app).await {
            tracing::warn!(error = %e, "the metrics listener stopped");
        }
    });
}

/// A label (name, value), if the sample has one.
type Label<'a> = Option<(&'a str, &'a str)>;

/// One metric family (counter or gauge) with its samples: each a label (or
/// none) and a value.
fn metric(
    out: &mut Vec<MetricFamily>,
    name: &str,
    kind: MetricType,
    help: &str,
    samples: &[(Label, u64)],
) {
    let mut family = MetricFamily::default();
    family.set_name(name.to_owned());
    family.set_help(help.to_owned());
    family.set_field_type(kind);
    for (label, value) in samples {
        let mut m = Metric::default();
        m.set_label(label_pairs(*label));
        if kind == MetricType::GAUGE {
            let mut g = proto::Gauge::default();
            g.set_value(*value as f64);
            m.set_gauge(g);
        } else {
            let mut c = proto::Counter::default();
            c.set_value(*value as f64);
            m.set_counter(c);
        }
        family.mut_metric().push(m);
    }
    out.push(family);
}

/// The label as Prometheus's label pairs (none or one).
fn label_pairs(label: Label) -> Vec<LabelPair> {
    label
        .map(|(name, value)| {
            let mut pair = LabelPair::default();
            pair.set_name(name.to_owned());
            pair.set_value(value.to_owned());
            pair
        })
        .into_iter()
        .collect()
}

/// One series of a histogram: its label, bucket counts (not cumulative; the
/// last above every bound) and the sum of observations.
struct Series<'a> {
    label: Label<'a>,
    counts: &'a [u64],
    sum: f64,
}

/// A histogram family with upper `bounds` from counts the core keeps.
fn histogram(
    out: &mut Vec<MetricFamily>,
    name: &str,
    help: &str,
    bounds: &[f64],
    series: &[Series],
) {
    let mut family = MetricFamily::default();
    family.set_name(name.to_owned());
    family.set_help(help.to_owned());
    family.set_field_type(MetricType::HISTOGRAM);
    for s in series {
        let mut buckets = Vec::new();
        let mut cumulative = 0;
        for (count, bound) in s.counts.iter().zip(bounds) {
            cumulative += count;
            let mut b = proto::Bucket::default();
            b.set_upper_bound(*bound);
            b.set_cumulative_count(cumulative);
            buckets.push(b);
        }
        let mut hist = proto::Histogram::default();
        hist.set_bucket(buckets);
        hist.set_sample_count(s.counts.iter().sum());
        hist.set_sample_sum(s.sum);
        let mut m = Metric::default();
        m.set_label(label_pairs(s.label));
        m.set_histogram(hist);
        family.mut_metric().push(m);
    }
    out.push(family);
}

/// The exposition text.
pub async fn render(media: &MediaServer, live: &Live<MediaServer>) -> String {
    let c = media.counters().await;
    let f = media.footprint().await;
    let mut out = Vec::new();
    metric(
        &mut out,
        "haven_sessions_open",
        MetricType::GAUGE,
        "Group sessions open.",
        &[(None, live.open_sessions() as u64)],
    );
    metric(
        &mut out,
        "haven_rooms",
        MetricType::GAUGE,
        "Rooms in the media plane.",
        &[(None, f.rooms as u64)],
    );
    metric(
        &mut out,
        "haven_participants",
        MetricType::GAUGE,
        "Participants connected to the media plane.",
        &[(None, f.participants as u64)],
    );
    metric(
        &mut out,
        "haven_waiting_members",
        MetricType::GAUGE,
        "Members in waiting rooms.",
        &[(None, live.metrics.waiting() as u64)],
    );
    metric(
        &mut out,
        "haven_datagrams_total",
        MetricType::COUNTER,
        "UDP datagrams on the media port.",
        &[
            (Some(("direction", "in")), c.datagrams_in),
            (Some(("direction", "out")), c.datagrams_out),
        ],
    );
    metric(
        &mut out,
        "haven_bytes_total",
        MetricType::COUNTER,
        "Bytes on the media port.",
        &[
            (Some(("direction", "in")), c.bytes_in),
            (Some(("direction", "out")), c.bytes_out),
        ],
    );
    metric(
        &mut out,
        "haven_rtp_packets_received_total",
        MetricType::COUNTER,
        "RTP packets received from publishers.",
        &[(None, c.forward.packets_in)],
    );
    metric(
        &mut out,
        "haven_rtp_packets_forwarded_total",
        MetricType::COUNTER,
        "RTP packets forwarded to subscribers (rate() gives forwarded pps).",
        &[(None, c.forward.packets_forwarded)],
    );
    let by_layer = c.forward.video_forwarded_by_layer;
    metric(
        &mut out,
        "haven_video_packets_forwarded_total",
        MetricType::COUNTER,
        "Video packets forwarded to subscribers, by simulcast layer.",
        &[
            (Some(("layer", "low")), by_layer[0]),
            (Some(("layer", "mid")), by_layer[1]),
            (Some(("layer", "high")), by_layer[2]),
        ],
    );
    metric(
        &mut out,
        "haven_layer_switches_total",
        MetricType::COUNTER,
        "Times a subscriber's tile moved to another video layer (on a keyframe).",
        &[(None, c.forward.layer_switches)],
    );
    metric(
        &mut out,
        "haven_sent_layer_changes_total",
        MetricType::COUNTER,
        "Times a camera was told to stop encoding layers nobody receives, or to start again.",
        &[(None, c.forward.sent_layer_changes)],
    );
    metric(
        &mut out,
        "haven_estimate_restarts_total",
        MetricType::COUNTER,
        "Times a member's bandwidth estimate was started afresh after its connection stopped losing packets.",
        &[(None, c.forward.estimate_restarts)],
    );
    metric(
        &mut out,
        "haven_video_paused_subscribers",
        MetricType::GAUGE,
        "Members receiving audio only for now: their connection cannot carry video.",
        &[(None, f.video_paused as u64)],
    );
    metric(
        &mut out,
        "haven_audio_packets_protected_total",
        MetricType::COUNTER,
        "Audio packets sent with redundancy (RED) to members on lossy links.",
        &[(None, c.forward.audio_packets_protected)],
    );
    metric(
        &mut out,
        "haven_packets_dropped_total",
        MetricType::COUNTER,
        "Packets dropped, by reason.",
        &[
            (
                Some(("reason", "not_permitted")),
                c.forward.dropped_not_permitted,
            ),
            (
                Some(("reason", "awaiting_keyframe")),
                c.forward.dropped_awaiting_keyframe,
            ),
            (
                Some(("reason", "malformed_red")),
                c.forward.dropped_malformed_red,
            ),
            (Some(("reason", "unrouted")), c.dropped_unrouted),
            (Some(("reason", "rejected")), c.rejected_by_peer),
        ],
    );
    metric(
        &mut out,
        "haven_nacks_total",
        MetricType::COUNTER,
        "NACKs: sent to publishers, received from subscribers.",
        &[
            (Some(("direction", "sent")), c.nacks_sent),
            (Some(("direction", "received")), c.nacks_received),
        ],
    );
    metric(
        &mut out,
        "haven_keyframe_requests_total",
        MetricType::COUNTER,
        "Keyframe requests (PLI) sent to publishers.",
        &[(None, c.forward.keyframe_requests)],
    );
    metric(
        &mut out,
        "haven_ingress_loss_ppm",
        MetricType::GAUGE,
        "Mean loss on incoming streams, parts per million.",
        &[(None, c.ingress_loss_ppm)],
    );
    let join_bounds: Vec<f64> = JOIN_BUCKETS_MS.iter().map(|b| *b as f64 / 1000.0).collect();
    fn join<'a>(label: Label<'a>, h: &'a Histogram) -> Series<'a> {
        Series {
            label,
            counts: &h.counts,
            sum: h.sum_micros as f64 / 1e6,
        }
    }
    histogram(
        &mut out,
        "haven_join_seconds",
        "From the SFU receiving an offer to the first packet sent to the newcomer.",
        &join_bounds,
        &[
            join(Some(("media", "audio")), &c.forward.join_first_audio),
            join(Some(("media", "video")), &c.forward.join_first_video),
        ],
    );
    let estimates = &c.forward.downlink_estimates;
    let estimate_bounds: Vec<f64> = ESTIMATE_BUCKETS_KBPS.iter().map(|b| *b as f64).collect();
    histogram(
        &mut out,
        "haven_downlink_estimate_kbps",
        "Members' downlink estimates (kbit/s) as the congestion controller reports them.",
        &estimate_bounds,
        &[Series {
            label: None,
            counts: &estimates.counts,
            sum: estimates.sum_kbps as f64,
        }],
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
    let mut text = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&out, &mut text) {
        tracing::warn!(error = %e, "the metrics cannot be encoded");
    }
    String::from_utf8(text).unwrap_or_default()
}

/// A counter with one fixed-word label per sample.
fn counters_by<'a>(
    out: &mut Vec<MetricFamily>,
    name: &str,
    help: &str,
    label: &str,
    values: impl Iterator<Item = (&'a str, u64)>,
) {
    let samples: Vec<(Label, u64)> = values.map(|(v, n)| (Some((label, v)), n)).collect();
    metric(out, name, MetricType::COUNTER, help, &samples);
}
