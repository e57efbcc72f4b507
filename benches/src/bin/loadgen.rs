//! `loadgen`: N rooms of M participants against a running SFU, each
//! publishing Opus audio and VP8-shaped video and receiving everyone else.
//! Prints one summary line per run (human and JSON). See docs/performance.md.

use std::cell::RefCell;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use clap::{Parser, Subcommand};
use haven_benches::media::opus_loop;
use haven_benches::participant::{MediaPlan, Participant};
use haven_benches::report::{cpu_seconds, quantile, rss_bytes, Summary};
use haven_benches::{janus, signal};

#[derive(Parser)]
#[command(
    name = "loadgen",
    about = "Load generator for Haven (and Janus, for comparison)"
)]
struct Cli {
    #[command(subcommand)]
    target: Target,
    /// Rooms.
    #[arg(long, default_value_t = 1, global = true)]
    rooms: u64,
    /// Participants per room (at most 13 with Haven's signaling: 1 facilitator + 12).
    #[arg(long, default_value_t = 4, global = true)]
    size: usize,
    /// Seconds of measurement (after everyone joined).
    #[arg(long, default_value_t = 10, global = true)]
    seconds: u64,
    /// Seconds of warm-up before measuring.
    #[arg(long, default_value_t = 2, global = true)]
    warmup: u64,
    /// Video bitrate per publisher, kbit/s.
    #[arg(long, default_value_t = 1000, global = true)]
    video_kbps: u32,
    /// Video frames per second.
    #[arg(long, default_value_t = 30, global = true)]
    fps: u32,
    /// Address the participants use (must reach the server; Janus needs a non-loopback one).
    #[arg(long, default_value = "127.0.0.1", global = true)]
    ip: IpAddr,
    /// The server's process id, to report its CPU time and memory.
    #[arg(long, global = true)]
    server_pid: Option<u32>,
    /// A label for the JSON line.
    #[arg(long, default_value = "", global = true)]
    label: String,
}

#[derive(Subcommand)]
enum Target {
    /// Haven's media plane in this process (no signaling).
    InProcess,
    /// A running Haven through its signaling.
    Haven {
        /// Base URL, e.g. http://127.0.0.1:8080
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        url: String,
        #[arg(long, default_value = "loadgen")]
        user: String,
        #[arg(long, env = "LOADGEN_PASSWORD", default_value = "loadgen-password")]
        password: String,
    },
    /// A running Janus (VideoRoom over HTTP).
    Janus {
        /// e.g. http://10.0.0.5:8088/janus
        #[arg(long)]
        url: String,
    },
}

fn main() {
    let cli = Cli::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    if let Err(e) = local.block_on(&rt, run(cli)) {
        eprintln!("loadgen: {e}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<(), String> {
    let plan = MediaPlan {
        audio: opus_loop(440.0),
        video_bps: cli.video_kbps * 1000,
        fps: cli.fps,
        keyframe_every: Duration::from_secs(3),
        measure_from: std::sync::Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX)),
    };
    let epoch = Instant::now();
    // Generous: joining many rooms takes a while; the clock for the
    // measurement starts after everyone joined.
    let until = Instant::now() + Duration::from_secs(3600);
    let tasks = Rc::new(RefCell::new(Vec::new()));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut spawn = {
        let tasks = tasks.clone();
        move |p: Participant| {
            let stop = stop_rx.clone();
            tasks
                .borrow_mut()
                .push(tokio::task::spawn_local(p.run(until, stop)));
        }
    };
    let in_process = match &cli.target {
        Target::InProcess => Some(signal::in_process(cli.ip)?),
        _ => None,
    };
    let haven = match &cli.target {
        Target::Haven {
            url,
            user,
            password,
        } => Some(signal::HavenLogin::new(url, user, password).await?),
        _ => None,
    };
    let join_started = Instant::now();
    for room in 0..cli.rooms {
        let spec = signal::RoomSpec {
            room: room + 1,
            size: cli.size,
            ip: cli.ip,
            plan: &plan,
            epoch,
            until,
        };
        let r = match &cli.target {
            Target::InProcess => {
                signal::room_in_process(in_process.as_ref().expect("started"), &spec, &mut spawn)
                    .await
            }
            Target::Haven { .. } => {
                signal::room_haven(haven.as_ref().expect("logged in"), &spec, &mut spawn).await
            }
            Target::Janus { url } => janus::room_janus(url, &spec, &mut spawn).await,
        };
        r.map_err(|e| format!("room {}: {e}", room + 1))?;
    }
    let joined_in = join_started.elapsed();
    tokio::time::sleep(Duration::from_secs(cli.warmup)).await;
    plan.measure_from.store(
        epoch.elapsed().as_nanos() as u64,
        std::sync::atomic::Ordering::Relaxed,
    );
    let (cpu0, own0, t0) = (
        cli.server_pid.and_then(cpu_seconds),
        cpu_seconds(std::process::id()),
        Instant::now(),
    );
    let rss0 = cli.server_pid.and_then(rss_bytes);
    tokio::time::sleep(Duration::from_secs(cli.seconds)).await;
    let (cpu1, own1, wall) = (
        cli.server_pid.and_then(cpu_seconds),
        cpu_seconds(std::process::id()),
        t0.elapsed(),
    );
    let rss = cli.server_pid.and_then(rss_bytes);
    let _ = stop_tx.send(true);
    let handles: Vec<_> = tasks.borrow_mut().drain(..).collect();
    let mut summary = Summary::default();
    for h in handles {
        if let Ok(stats) = h.await {
            summary.add(&stats);
        }
    }
    // Packets received inside the measurement window.
    let received_pps = summary.received as f64 / wall.as_secs_f64().max(0.001);
    let server_cpu_us_per_packet = match (cpu0, cpu1) {
        (Some(a), Some(b)) => (b - a) * 1e6 / (received_pps * wall.as_secs_f64()).max(1.0),
        _ => f64::NAN,
    };
    let own_cpu = match (own0, own1) {
        (Some(a), Some(b)) => (b - a) / wall.as_secs_f64() * 100.0,
        _ => f64::NAN,
    };
    let people = (cli.rooms as usize * cli.size) as f64;
    let rss_per_participant_mb = rss.map_or(f64::NAN, |r| r as f64 / people / 1e6);
    let line = serde_json::json!({
        "label": cli.label,
        "target": match cli.target { Target::InProcess => "in-process", Target::Haven { .. } => "haven", Target::Janus { .. } => "janus" },
        "rooms": cli.rooms,
        "size": cli.size,
        "participants": summary.participants,
        "connected": summary.connected,
        "joined_in_s": joined_in.as_secs_f64(),
        "received_pps": received_pps,
        "loss": summary.loss(),
        "latency_ms": { "p50": summary.latency.quantile_ms(0.5), "p99": summary.latency.quantile_ms(0.99), "p999": summary.latency.quantile_ms(0.999) },
        "server_cpu_us_per_packet": server_cpu_us_per_packet,
        "server_rss_mb_per_participant": rss_per_participant_mb,
        "server_rss_growth_mb": match (rss0, rss) { (Some(a), Some(b)) => (b as f64 - a as f64) / 1e6, _ => f64::NAN },
        "join_ms": { "audio_p50": quantile(&summary.join_audio, 0.5), "audio_p95": quantile(&summary.join_audio, 0.95),
                     "video_p50": quantile(&summary.join_video, 0.5), "video_p95": quantile(&summary.join_video, 0.95) },
        "loadgen_cpu_percent": own_cpu,
    });
    println!(
        "rooms={} size={} connected={}/{} received={:.0}pps loss={:.3}% latency p50={:.2}ms p99={:.2}ms server={:.2}µs/pkt rss/participant={:.2}MB join audio p95={:.0}ms video p95={:.0}ms loadgen cpu={:.0}%",
        cli.rooms, cli.size, summary.connected, summary.participants, received_pps, summary.loss() * 100.0,
        summary.latency.quantile_ms(0.5), summary.latency.quantile_ms(0.99), server_cpu_us_per_packet, rss_per_participant_mb,
        quantile(&summary.join_audio, 0.95), quantile(&summary.join_video, 0.95), own_cpu,
    );
    println!("{line}");
    if own_cpu > 85.0 {
        eprintln!("loadgen: WARNING: the load generator used {own_cpu:.0}% of a core; figures are limited by it, not the server");
    }
    Ok(())
}
