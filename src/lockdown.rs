//! Wiring of the confidentiality guard into `haven serve`.

use std::path::{Path, PathBuf};

use haven_recorder_disabled::{lock_down, probe_write, LandlockState, Probe};

/// Where the probe tries to write: next to the data directory, never in it.
fn probe_path(data_dir: &Path, tag: &str) -> PathBuf {
    let parent = data_dir
        .canonicalize()
        .ok()
        .and_then(|d| d.parent().map(Path::to_path_buf))
        .unwrap_or_else(std::env::temp_dir);
    parent.join(format!(
        ".haven-lockdown-probe-{}-{tag}",
        std::process::id()
    ))
}

/// Lock the process down and check, by trying, that a file outside the data
/// directory cannot be written. Refuses to start when the check fails.
pub fn apply(data_dir: &Path, allow_without_landlock: bool) -> Result<(), String> {
    let lockdown = lock_down(data_dir, allow_without_landlock).map_err(|e| e.to_string())?;
    match lockdown.landlock {
        LandlockState::Unavailable => {
            tracing::error!(
                "LANDLOCK IS NOT AVAILABLE: Haven runs WITHOUT its file-write confinement because \
                 --allow-without-landlock was given. Core dumps are still disabled."
            );
            return Ok(());
        }
        LandlockState::Partial => {
            tracing::warn!("Landlock is only partially supported by this kernel; file writes are confined as far as it allows")
        }
        LandlockState::Enforced => {}
    }
    match probe_write(&probe_path(data_dir, "start")) {
        Probe::Refused => {
            tracing::info!(
                "lock-down in force: no core dumps, file writes confined to the data directory"
            );
            Ok(())
        }
        Probe::Written => Err(
            "the lock-down check failed: a file outside the data directory could be written; \
                               refusing to start"
                .into(),
        ),
    }
}

/// Operator-only check of a running server: on SIGUSR1 the process tries to
/// write a file next to its data directory and logs whether that was refused.
pub fn probe_on_signal(data_dir: PathBuf) {
    #[cfg(unix)]
    tokio::spawn(async move {
        use tokio::signal::unix::{signal, SignalKind};
        let Ok(mut usr1) = signal(SignalKind::user_defined1()) else {
            return;
        };
        while usr1.recv().await.is_some() {
            match probe_write(&probe_path(&data_dir, "signal")) {
                Probe::Refused => tracing::info!(
                    "lock-down probe: a write outside the data directory was refused"
                ),
                Probe::Written => {
                    tracing::error!("lock-down probe: a write outside the data directory SUCCEEDED")
                }
            }
        }
    });
}
