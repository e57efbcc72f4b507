//! HTTPS certificates that can be renewed without a restart: a restart ends
//! every running session, and certificates from an ACME client are renewed
//! every few weeks. Haven reloads the files on SIGHUP and, in case nobody
//! sends one, whenever their modification time changes (checked hourly).
//! A file that cannot be loaded leaves the old certificate in service.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use axum_server::tls_rustls::RustlsConfig;

/// How often the files' modification times are compared.
const CHECK_EVERY: Duration = Duration::from_secs(3600);

fn modified(cert: &PathBuf, key: &PathBuf) -> (Option<SystemTime>, Option<SystemTime>) {
    let m = |p: &PathBuf| std::fs::metadata(p).and_then(|m| m.modified()).ok();
    (m(cert), m(key))
}

/// Keep `tls` in step with the certificate and key files.
pub fn reload_when_renewed(tls: RustlsConfig, cert: PathBuf, key: PathBuf) {
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangup = match signal(SignalKind::hangup()) {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!(error = %e, "SIGHUP cannot be used to reload the certificate");
                None
            }
        };
        let mut seen = modified(&cert, &key);
        let mut ticker = tokio::time::interval(CHECK_EVERY);
        ticker.tick().await;
        loop {
            let asked = tokio::select! {
                Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
                _ = ticker.tick() => false,
            };
            let now_seen = modified(&cert, &key);
            if !asked && now_seen == seen {
                continue;
            }
            match tls.reload_from_pem_file(&cert, &key).await {
                Ok(()) => {
                    seen = now_seen;
                    tracing::info!("TLS certificate reloaded");
                }
                Err(e) => {
                    tracing::warn!(error = %e, "TLS certificate not reloaded; the previous one stays in use")
                }
            }
        }
    });
}
