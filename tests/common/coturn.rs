//! coturn on loopback, for tests of TURN: the clinic's real TURN server.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

/// coturn on loopback with a shared secret (`use-auth-secret`), relaying to
/// loopback. Killed when dropped.
pub struct Coturn {
    child: Child,
    pub log: Arc<Mutex<String>>,
    pid_file: std::path::PathBuf,
}

impl Coturn {
    pub fn start(port: u16, secret: &str) -> Self {
        let pid_file = std::env::temp_dir().join(format!("haven-coturn-{port}.pid"));
        let mut child = Command::new("turnserver")
            .args([
                "-n",
                "--listening-ip",
                "127.0.0.1",
                "--relay-ip",
                "127.0.0.1",
            ])
            .args(["--listening-port", &port.to_string()])
            .args(["--min-port", "50000", "--max-port", "50999"])
            .args(["--use-auth-secret", "--static-auth-secret", secret])
            .args(["--realm", "haven.test", "--allow-loopback-peers"])
            .args([
                "--no-cli",
                "--no-tls",
                "--no-dtls",
                "--simple-log",
                "--verbose",
            ])
            .args(["--log-file", "stdout", "--pidfile"])
            .arg(&pid_file)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("coturn's turnserver runs (scripts/test installs coturn)");
        let log = super::collect_output(child.stdout.take().unwrap());
        Self {
            child,
            log,
            pid_file,
        }
    }
}

impl Drop for Coturn {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.pid_file);
    }
}
