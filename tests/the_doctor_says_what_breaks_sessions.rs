//! `haven doctor` on a healthy setup (private data directory, a valid
//! certificate, the clinic's real coturn sharing Haven's secret, the media
//! port open) says so and exits 0; on a broken one it names each problem,
//! says what to do, and exits non-zero.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::coturn::Coturn;
use common::free_port;

const SECRET: &str = "the-secret-coturn-and-haven-share";

fn doctor(args: &[String], dir: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_haven"))
        .arg("doctor")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .stderr(Stdio::piped())
        .output()
        .expect("haven runs");
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    (out.status.success(), text)
}

/// The settings under test: where members go, the media port, TURN and TLS.
struct Setup<'a> {
    public_url: &'a str,
    media_port: &'a str,
    turn_url: &'a str,
    secret: &'a Path,
    cert: &'a Path,
    key: &'a Path,
}

impl Setup<'_> {
    fn args(&self) -> Vec<String> {
        [
            ("--public-url", self.public_url),
            ("--media-port", self.media_port),
            ("--turn-url", self.turn_url),
            ("--turn-secret-file", self.secret.to_str().unwrap()),
            ("--tls-cert", self.cert.to_str().unwrap()),
            ("--tls-key", self.key.to_str().unwrap()),
        ]
        .iter()
        .flat_map(|(k, v)| [k.to_string(), v.to_string()])
        .collect()
    }
}

/// A scratch directory, removed when the test ends however it ends.
struct Scratch(std::path::PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

fn scratch(name: &str, mode: u32) -> Scratch {
    let dir = std::env::temp_dir().join(format!("haven-doctor-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
    Scratch(dir)
}

#[test]
fn a_healthy_server_passes_and_a_broken_one_is_told_what_to_fix() {
    let turn_port = free_port();
    let _coturn = Coturn::start(turn_port, SECRET);
    std::thread::sleep(std::time::Duration::from_millis(500));
    let turn_url = format!("turn:127.0.0.1:{turn_port}?transport=udp");
    let media_port = free_port().to_string();

    // Healthy.
    let good = scratch("good", 0o700);
    let secret = good.join("turn-secret");
    std::fs::write(&secret, SECRET).unwrap();
    let (cert, key) = (good.join("cert.pem"), good.join("key.pem"));
    let made = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "30",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
        ])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(Stdio::null())
        .status()
        .expect("openssl runs");
    assert!(made.success());
    let setup = Setup {
        public_url: "https://127.0.0.1:8443",
        media_port: &media_port,
        turn_url: &turn_url,
        secret: &secret,
        cert: &cert,
        key: &key,
    };
    let (passed, text) = doctor(&setup.args(), &good);
    println!("{text}");
    assert!(passed, "a healthy setup failed: {text}");
    for said in [
        "is private (mode 700)",
        "GiB free",
        "an address of this machine",
        &format!("UDP port {media_port} is free and a datagram"),
        "is valid for",
        "reachable, and it accepts Haven's credentials",
        "No problems found.",
    ] {
        assert!(
            text.contains(said),
            "the doctor did not say {said:?}: {text}"
        );
    }

    // Broken: a directory others can read, the wrong TURN secret, a
    // certificate file that holds none, a host nobody can resolve.
    let bad = scratch("bad", 0o755);
    let wrong = bad.join("turn-secret");
    std::fs::write(&wrong, "not-the-secret").unwrap();
    let not_cert = bad.join("cert.pem");
    std::fs::write(&not_cert, "hello").unwrap();
    let setup = Setup {
        public_url: "https://haven.invalid",
        media_port: &media_port,
        turn_url: &turn_url,
        secret: &wrong,
        cert: &not_cert,
        key: &not_cert,
    };
    let (passed, text) = doctor(&setup.args(), &bad);
    println!("{text}");
    assert!(!passed, "a broken setup passed: {text}");
    for said in [
        "PROBLEM the data directory",
        "chmod 700",
        "PROBLEM the public URL's host haven.invalid does not resolve",
        "holds no PEM certificate",
        "refuses Haven's credentials",
        "4 problems found",
    ] {
        assert!(
            text.contains(said),
            "the doctor did not say {said:?}: {text}"
        );
    }
}
