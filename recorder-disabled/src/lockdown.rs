//! Process lock-down: no core dumps, no file writes outside the data directory.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;

use landlock::{
    AccessFs, PathBeneath, PathFd, Ruleset, RulesetAttr, RulesetCreatedAttr, RulesetStatus, ABI,
};
use nix::sys::resource::{setrlimit, Resource};

/// How well Landlock confines the process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LandlockState {
    /// Every write-type access outside the data directory is denied.
    Enforced,
    /// The kernel supports only some of the restrictions (an older ABI).
    Partial,
    /// The kernel has no Landlock: nothing is confined.
    Unavailable,
}

/// What the lock-down achieved.
#[derive(Debug, Clone, Copy)]
pub struct Lockdown {
    /// Landlock's state.
    pub landlock: LandlockState,
}

/// Why the process could not be locked down.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LockdownError {
    /// Core dumps could not be disabled.
    #[error("cannot disable core dumps: {0}")]
    CoreDumps(nix::Error),
    /// The process could not be made non-dumpable.
    #[error("cannot make the process non-dumpable: {0}")]
    Dumpable(nix::Error),
    /// The data directory could not be opened for the ruleset.
    #[error("cannot open the data directory for the Landlock ruleset: {0}")]
    DataDir(String),
    /// Landlock refused the ruleset.
    #[error("cannot apply the Landlock ruleset: {0}")]
    Landlock(String),
    /// The kernel cannot confine file writes and no override was given.
    #[error(
        "this kernel cannot confine file writes with Landlock, so Haven cannot guarantee that nothing \
         is written outside its data directory; refusing to start (pass --allow-without-landlock to run anyway)"
    )]
    LandlockUnavailable,
}

/// Lock the process down. Call from the main thread before any other thread
/// starts: Landlock confines the calling thread and the threads it creates
/// afterwards, not threads already running.
///
/// With `allow_without_landlock`, a kernel without Landlock is accepted (the
/// caller logs it loudly); core dumps are disabled either way.
pub fn lock_down(data_dir: &Path, allow_without_landlock: bool) -> Result<Lockdown, LockdownError> {
    setrlimit(Resource::RLIMIT_CORE, 0, 0).map_err(LockdownError::CoreDumps)?;
    nix::sys::prctl::set_dumpable(false).map_err(LockdownError::Dumpable)?;

    // Handle every write-type access the kernel knows; allow them only
    // beneath the data directory. Reads are not handled (binary, libraries,
    // /dev/urandom, /proc/self).
    let abi = ABI::V7;
    let writes = AccessFs::from_write(abi);
    let data = PathFd::new(data_dir).map_err(|e| LockdownError::DataDir(e.to_string()))?;
    let status = Ruleset::default()
        .handle_access(writes)
        .and_then(|r| r.create())
        .and_then(|r| r.add_rule(PathBeneath::new(data, writes)))
        .and_then(|r| r.restrict_self())
        .map_err(|e| LockdownError::Landlock(e.to_string()))?;
    let landlock = match status.ruleset {
        RulesetStatus::FullyEnforced => LandlockState::Enforced,
        RulesetStatus::PartiallyEnforced => LandlockState::Partial,
        _ => LandlockState::Unavailable,
    };
    if landlock == LandlockState::Unavailable && !allow_without_landlock {
        return Err(LockdownError::LandlockUnavailable);
    }
    Ok(Lockdown { landlock })
}

/// The outcome of trying to write a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The write was refused (what the lock-down must achieve outside the data directory).
    Refused,
    /// The file was written (and removed again).
    Written,
}

/// Try to create and write `path`, removing it again if that worked. Used
/// at start-up to prove the lock-down is in force: a probe outside the data
/// directory must be refused.
pub fn probe_write(path: &Path) -> Probe {
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .and_then(|mut f| f.write_all(b"haven lock-down probe\n"));
    match written {
        Ok(()) => {
            let _ = std::fs::remove_file(path);
            Probe::Written
        }
        Err(_) => Probe::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locked_down_thread_writes_only_in_its_data_directory() {
        let base = std::env::temp_dir().join(format!("haven-lockdown-{}", std::process::id()));
        let data = base.join("data");
        std::fs::create_dir_all(&data).unwrap();
        let (inside, outside) = (data.join("probe"), base.join("probe"));
        // Landlock confines the calling thread (and its children): lock down
        // a thread of its own so the test harness stays free.
        let result = std::thread::spawn(move || {
            let state = lock_down(&data, false).map(|l| l.landlock);
            (state, probe_write(&inside), probe_write(&outside))
        })
        .join()
        .unwrap();
        std::fs::remove_dir_all(&base).unwrap();
        assert_eq!(result.0.unwrap(), LandlockState::Enforced);
        assert_eq!(
            result.1,
            Probe::Written,
            "the data directory must stay writable"
        );
        assert_eq!(
            result.2,
            Probe::Refused,
            "a write outside the data directory got through"
        );
    }
}
