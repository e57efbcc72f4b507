//! `haven`: one binary that runs everything on one machine.
//!
//! This file is CLI and wiring only.
#![forbid(unsafe_code)]

mod accounts;
mod config;
mod connections;
mod doctor;
mod lockdown;
mod metrics;
mod tls;
mod turn_probe;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, Subcommand};
use haven_sfu::io::{default_media_addrs, MediaConfig, MediaServer};
use haven_signaling::auth::Sessions;
use haven_signaling::http::{app, AppState, HttpSettings};
use haven_signaling::live::Live;
use haven_signaling::store::Store;
use haven_signaling::turn::TurnSettings;
use tracing_subscriber::EnvFilter;

use config::{Config, Settings};

/// The default log level; `HAVEN_LOG` overrides it for Haven's own crates.
const DEFAULT_LOG_FILTER: &str = "info";

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
    /// Run Haven: web service, waiting room and media, on this machine.
    Serve {
        /// A TOML file with the same settings (flags and environment win).
        #[arg(long, env = "HAVEN_CONFIG")]
        config: Option<PathBuf>,
        /// Run even if the kernel cannot confine file writes (Landlock).
        /// Haven then cannot guarantee that nothing is written outside its
        /// data directory; this is logged at every start.
        #[arg(long, env = "HAVEN_ALLOW_WITHOUT_LANDLOCK")]
        allow_without_landlock: bool,
        /// Check the configuration, say what it resolves to, and exit
        /// (non-zero if it cannot be used) without serving anything.
        #[arg(long)]
        check_config: bool,
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// Check what breaks sessions in practice (addresses, the media port,
    /// TLS, TURN, the clock, the data directory, disk space) and say what to
    /// do; exits non-zero if anything is a problem.
    Doctor {
        /// The same configuration file `serve` uses.
        #[arg(long, env = "HAVEN_CONFIG")]
        config: Option<PathBuf>,
        #[command(flatten)]
        settings: Box<Settings>,
    },
    /// Manage facilitator accounts.
    Facilitator {
        #[command(subcommand)]
        command: accounts::FacilitatorCommand,
    },
}

/// Logs go to standard error through the address-scrubbing writer. Other
/// crates (str0m, hyper, ...) log addresses and SDP at debug level, and
/// str0m's SDP parser quotes the offending line of a member's offer in its
/// *warnings*; so only their errors are ever let through, whatever
/// `HAVEN_LOG` says. Haven's own crates never log names, chat, SDP or tokens,
/// and report what matters from the others in their own words.
fn init_logging() {
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    use tracing_subscriber::Layer;
    let filter =
        EnvFilter::try_from_env("HAVEN_LOG").unwrap_or_else(|_| EnvFilter::new(DEFAULT_LOG_FILTER));
    let only_ours_below_error = tracing_subscriber::filter::filter_fn(|meta| {
        meta.target().starts_with("haven") || *meta.level() <= tracing::Level::ERROR
    });
    let base = tracing_subscriber::fmt::layer()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(|| haven_recorder_disabled::redact::RedactingWriter::new(std::io::stderr()));
    // HAVEN_LOG_FORMAT=json for log collectors; human-readable otherwise.
    let layer = if std::env::var("HAVEN_LOG_FORMAT").is_ok_and(|f| f == "json") {
        base.json().boxed()
    } else {
        base.boxed()
    };
    let fmt = layer.with_filter(only_ours_below_error).with_filter(filter);
    tracing_subscriber::registry().with(fmt).init();
}

fn main() -> ExitCode {
    init_logging();
    let result = match Cli::parse().command {
        Command::Serve {
            config,
            allow_without_landlock,
            check_config,
            settings,
        } => Config::resolve(*settings, config.as_deref())
            .map_err(|e| e.to_string())
            .and_then(|c| {
                if check_config {
                    println!("The configuration is valid.\n{}", c.summary());
                    Ok(())
                } else {
                    serve(c, allow_without_landlock)
                }
            }),
        Command::Doctor { config, settings } => Config::resolve(*settings, config.as_deref())
            .map_err(|e| e.to_string())
            .and_then(|c| doctor::run(&c)),
        Command::Facilitator { command } => accounts::run(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("haven: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(config: Config, allow_without_landlock: bool) -> Result<(), String> {
    // Open everything the process needs on disk and on the network first...
    let store = Arc::new(Store::open(&config.data_dir).map_err(|e| e.to_string())?);
    let listener = std::net::TcpListener::bind(config.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    listener.set_nonblocking(true).map_err(|e| e.to_string())?;
    let mut media_config =
        MediaConfig::new(default_media_addrs(config.media_port, config.public_ip));
    if let Some(w) = config.media_workers {
        media_config.workers = w;
    }
    media_config.core.audio_protection = config.audio_protection;
    media_config.core.bandwidth_estimation = config.bandwidth_estimation;
    let media = MediaServer::bind(media_config).map_err(|e| e.to_string())?;
    let turn = match &config.turn {
        None => None,
        Some((urls, secret_file)) => {
            let secret = std::fs::read_to_string(secret_file).map_err(|e| {
                format!(
                    "cannot read the TURN secret file {}: {e}",
                    secret_file.display()
                )
            })?;
            Some(TurnSettings::new(urls.clone(), &secret).map_err(|e| e.to_string())?)
        }
    };
    let metrics_listener = match config.metrics_listen {
        None => None,
        Some(addr) => match std::net::TcpListener::bind(addr)
            .and_then(|l| l.set_nonblocking(true).map(|()| l))
        {
            Ok(l) => Some(l),
            Err(e) => {
                tracing::warn!(error = %e, "metrics are off: cannot listen on the metrics address");
                None
            }
        },
    };
    // ...then lock down, before any thread starts, and prove it worked.
    lockdown::apply(&config.data_dir, allow_without_landlock)?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    runtime.block_on(async move {
        let (media, events) = media.start().map_err(|e| e.to_string())?;
        let media_port = media.local_addrs().first().map_or(0, |a| a.port());
        // Open sessions are kept in the data directory, so that a restart
        // (an upgrade, a crash) does not end them.
        let live = Live::new(
            Arc::new(media.clone()),
            store.clone(),
            events,
            Some(config.data_dir.clone()),
        );
        let resumed = live.resume_sessions();
        if resumed > 0 {
            println!("Resumed {resumed} open session(s): their pages reconnect by themselves.");
        }
        let live_at_stop = live.clone();
        if let Some(l) = metrics_listener {
            if let Ok(addr) = l.local_addr() {
                println!("Metrics at http://{addr}/metrics");
            }
            metrics::spawn(l, media, live.clone());
        }
        let state = Arc::new(AppState {
            store: store.clone(),
            sessions: Arc::new(Sessions::persistent(
                Duration::from_secs(config.idle_logout_minutes * 60),
                store.clone(),
            )),
            live,
            settings: HttpSettings {
                public_url: config.public_url.clone(),
                secure_cookies: config.tls.is_some() || config.public_url.starts_with("https://"),
                trusted_proxies: config.trusted_proxies.clone(),
            },
            login_limit: haven_signaling::http::login_limiter(),
            knock_limit: haven_signaling::http::knock_limiter(config.knocks_per_minute),
            bad_link_limit: haven_signaling::http::bad_link_limiter(),
            login_backoff: Default::default(),
            login_slots: haven_signaling::http::login_slots(),
            setup: Default::default(),
            turn,
        });
        lockdown::probe_on_signal(config.data_dir.clone());
        println!("Haven is running at {} (media on UDP port {media_port}).", config.public_url);
        if config.public_url_is_insecure() {
            println!(
                "Warning: members' browsers allow the camera and microphone only on https:// \
                 pages (or on localhost). With the public URL {} nobody will be seen or heard. \
                 Serve HTTPS (--tls-cert/--tls-key, or a TLS proxy: see deploy/README.md) and \
                 set --public-url https://...",
                config.public_url
            );
        }
        match store.facilitator_count() {
            Ok(0) => {
                let token = state.setup.issue();
                println!("No facilitator account yet. Open this one-time link to create the first one:");
                println!("  {}/setup/{token}", config.public_url.trim_end_matches('/'));
                println!("(or, for scripts, in another terminal:");
                println!(
                    "  printf '%s\\n' 'a-long-password' | {} facilitator add YOUR-NAME --password-stdin --data-dir {}",
                    invocation(),
                    config.data_dir.display()
                );
                println!("then log in at {} with that name and password.)", config.public_url);
            }
            Ok(_) => println!("Log in at {} with your facilitator account.", config.public_url),
            Err(e) => return Err(e.to_string()),
        }
        let service = app(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
        let caps = connections::Caps::new(
            connections::total_cap(),
            config.max_connections_per_address,
            config.trusted_proxies.clone(),
        );
        let acceptor = connections::CapAcceptor::new(caps);
        let handle = axum_server::Handle::new();
        let stopper = handle.clone();
        tokio::spawn(async move {
            shutdown_signal().await;
            // Pages are told, so they come back as soon as the server is up
            // again; the sessions themselves are on disk.
            live_at_stop.restarting().await;
            tokio::time::sleep(Duration::from_millis(300)).await;
            stopper.graceful_shutdown(Some(Duration::from_secs(1)));
        });
        let server = axum_server::from_tcp(listener).handle(handle);
        let served = match config.tls {
            Some((cert, key)) => {
                let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
                let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(&cert, &key)
                    .await
                    .map_err(|e| format!("cannot load the TLS certificate or key: {e}"))?;
                tls::reload_when_renewed(tls.clone(), cert, key);
                let tls = axum_server::tls_rustls::RustlsAcceptor::new(tls).acceptor(acceptor);
                let mut server = server.acceptor(tls);
                header_timeout(server.http_builder());
                server.serve(service).await
            }
            None => {
                let mut server = server.acceptor(acceptor);
                header_timeout(server.http_builder());
                server.serve(service).await
            }
        };
        served.map_err(|e| format!("the web service stopped: {e}"))
    })
}

/// Close connections that do not send their request headers in time.
fn header_timeout(
    builder: &mut hyper_util::server::conn::auto::Builder<hyper_util::rt::TokioExecutor>,
) {
    builder
        .http1()
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(connections::HEADER_TIMEOUT);
}

/// How the operator started us: `cargo run --release --` from a checkout,
/// otherwise the binary's name.
fn invocation() -> &'static str {
    let from_cargo =
        std::env::current_exe().is_ok_and(|p| p.components().any(|c| c.as_os_str() == "target"));
    if from_cargo {
        "cargo run --release --"
    } else {
        "haven"
    }
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return ctrl_c.await.unwrap_or(()),
            };
        tokio::select! {
            _ = ctrl_c => {},
            _ = term.recv() => {},
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
