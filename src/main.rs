//! `haven`: one binary that runs everything on one machine.
//!
//! This file is CLI, configuration and wiring only.
#![forbid(unsafe_code)]

use std::net::IpAddr;

use clap::{Parser, Subcommand};
use haven_sfu::io::{default_media_addrs, MediaConfig, MediaServer};
use tracing_subscriber::EnvFilter;

/// str0m and its ICE agent log addresses and SDP at debug level: keep them
/// at warnings unless an operator asks otherwise through `HAVEN_LOG`.
const DEFAULT_LOG_FILTER: &str = "info,str0m=warn,is=warn";

#[derive(Parser)]
#[command(
    name = "haven",
    version,
    about = "Haven: video for therapy process groups, on your own server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run Haven (the media plane; the control plane arrives with its own issue).
    Serve(ServeArgs),
}

#[derive(clap::Args)]
struct ServeArgs {
    /// UDP port for all media (one port for every participant).
    #[arg(long, env = "HAVEN_MEDIA_PORT", default_value_t = 40000)]
    media_port: u16,
    /// Public IP to announce when the server is behind NAT.
    #[arg(long, env = "HAVEN_PUBLIC_IP")]
    public_ip: Option<IpAddr>,
    /// Media worker threads (default: one per core).
    #[arg(long, env = "HAVEN_MEDIA_WORKERS")]
    media_workers: Option<usize>,
}

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("HAVEN_LOG")
                .unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER)),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(args),
    }
}

fn serve(args: ServeArgs) -> std::process::ExitCode {
    let mut config = MediaConfig::new(default_media_addrs(args.media_port, args.public_ip));
    if let Some(w) = args.media_workers {
        config.workers = w.max(1);
    }
    let (media, mut events) = match MediaServer::start(config) {
        Ok(started) => started,
        Err(e) => {
            eprintln!("haven: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("haven: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    println!(
        "Haven media plane is listening on UDP port {}.",
        media.local_addrs().first().map_or(0, |a| a.port())
    );
    println!("The control plane (facilitator login, groups, waiting room) is not built yet:");
    println!("no one can join a room until it is. Press Ctrl-C to stop.");
    runtime.block_on(async move {
        loop {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => break,
                event = events.recv() => if event.is_none() { break },
            }
        }
    });
    std::process::ExitCode::SUCCESS
}
