//! Helpers for tests of the real `haven` binary: start it on loopback with a
//! fresh data directory, talk to its API and WebSockets.
#![allow(dead_code)]

pub mod audit;
pub mod coturn;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

pub const PASSWORD: &str = "a-long-password-for-tests";

/// A running `haven serve` with its own data directory.
pub struct Server {
    child: Child,
    pub base: String,
    pub data_dir: PathBuf,
    /// Everything the server wrote to standard error (with `capture_log`).
    pub log: Option<std::sync::Arc<std::sync::Mutex<String>>>,
    /// A copy of the binary to delete afterwards.
    binary_copy: Option<PathBuf>,
    /// Everything the server wrote to standard output (with `capture_stdout`).
    pub stdout: Option<std::sync::Arc<std::sync::Mutex<String>>>,
}

/// How to start the server.
#[derive(Default)]
pub struct Options {
    /// Run as `nobody` when the tests run as root, so that the process's
    /// dumpability can be seen from outside (see `confidentiality_*`).
    pub as_nobody: bool,
    /// `HAVEN_LOG` (default `warn`).
    pub log_level: Option<&'static str>,
    /// Keep standard error.
    pub capture_log: bool,
    /// Serve metrics on this port (otherwise metrics are off).
    pub metrics_port: Option<u16>,
    /// More settings, as environment variables (`HAVEN_TRUSTED_PROXIES`, ...).
    pub env: Vec<(&'static str, String)>,
    /// Start under this open-files limit (soft and hard), with `prlimit`.
    pub open_files: Option<u32>,
    /// Keep standard output (what `haven serve` tells the operator).
    pub capture_stdout: bool,
}

/// Everything `output` (a child's stdout or stderr) says, collected by a
/// thread as it arrives.
pub fn collect_output(
    mut output: impl std::io::Read + Send + 'static,
) -> std::sync::Arc<std::sync::Mutex<String>> {
    let buf = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = buf.clone();
    std::thread::spawn(move || {
        let mut chunk = [0u8; 8192];
        while let Ok(n) = output.read(&mut chunk) {
            if n == 0 {
                break;
            }
            sink.lock()
                .unwrap()
                .push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
    });
    buf
}

pub fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.data_dir);
        if let Some(copy) = &self.binary_copy {
            let _ = std::fs::remove_file(copy);
        }
    }
}

/// The directory and everything in it.
fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut all = vec![dir.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            all.extend(walk(&e.path()));
        }
    }
    all
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Start the binary with facilitator accounts `names` already added.
    pub async fn start(names: &[&str]) -> Self {
        Self::start_with(names, Options::default()).await
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Stop with SIGTERM and wait.
    pub fn terminate(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }

    pub async fn start_with(names: &[&str], options: Options) -> Self {
        let data_dir =
            std::env::temp_dir().join(format!("haven-test-{}-{}", std::process::id(), free_port()));
        let _ = std::fs::remove_dir_all(&data_dir);
        for name in names {
            let mut add = Command::new(env!("CARGO_BIN_EXE_haven"))
                .args(["facilitator", "add", name, "--password-stdin", "--data-dir"])
                .arg(&data_dir)
                .env("HAVEN_LOG", "warn")
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .spawn()
                .expect("haven facilitator add runs");
            use std::io::Write;
            writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
            assert!(add.wait().unwrap().success(), "facilitator add failed");
        }
        let port = free_port();
        let as_nobody = options.as_nobody && is_root();
        // `nobody` may not be able to reach the build directory (a checkout
        // under /root, say): run a world-readable copy of the binary.
        let binary = if as_nobody {
            use std::os::unix::fs::PermissionsExt;
            let copy =
                std::env::temp_dir().join(format!("haven-bin-{}-{port}", std::process::id()));
            std::fs::copy(env!("CARGO_BIN_EXE_haven"), &copy).unwrap();
            std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o755)).unwrap();
            copy
        } else {
            PathBuf::from(env!("CARGO_BIN_EXE_haven"))
        };
        let mut cmd = match options.open_files {
            Some(n) => {
                let mut c = Command::new("prlimit");
                c.arg(format!("--nofile={n}:{n}")).arg(&binary);
                c
            }
            None => Command::new(&binary),
        };
        let metrics = options
            .metrics_port
            .map_or("off".to_string(), |p| format!("127.0.0.1:{p}"));
        cmd.args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--media-port",
            "0",
            "--media-workers",
            "1",
            "--metrics-listen",
            &metrics,
        ])
        .env("HAVEN_DATA_DIR", &data_dir)
        .env("HAVEN_LOG", options.log_level.unwrap_or("warn"))
        .stdout(if options.capture_stdout {
            Stdio::piped()
        } else {
            Stdio::null()
        });
        cmd.envs(options.env.iter().map(|(k, v)| (k, v)));
        if as_nobody {
            use std::os::unix::process::CommandExt;
            for entry in walk(&data_dir) {
                std::os::unix::fs::chown(&entry, Some(65534), Some(65534)).unwrap();
            }
            cmd.uid(65534).gid(65534);
        }
        let mut log = None;
        if options.capture_log {
            cmd.stderr(Stdio::piped());
        }
        let mut child = cmd.spawn().expect("haven serve runs");
        if let Some(stderr) = child.stderr.take() {
            log = Some(collect_output(stderr));
        }
        let stdout = child.stdout.take().map(collect_output);
        let base = format!("http://127.0.0.1:{port}");
        let server = Server {
            child,
            base,
            data_dir,
            log,
            binary_copy: as_nobody.then_some(binary),
            stdout,
        };
        for _ in 0..100 {
            if reqwest::get(format!("{}/healthz", server.base))
                .await
                .is_ok()
            {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("haven serve did not come up");
    }

    pub fn ws_url(&self) -> String {
        self.base.replace("http://", "ws://") + "/ws"
    }
}

/// A logged-in facilitator's HTTP client.
pub struct Console {
    pub http: reqwest::Client,
    pub base: String,
    pub cookie: String,
}

impl Console {
    pub async fn login(server: &Server, username: &str) -> Self {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .build()
            .unwrap();
        let resp = http
            .post(format!("{}/api/login", server.base))
            .json(&json!({ "username": username, "password": PASSWORD }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "login failed");
        let cookie = resp.headers()["set-cookie"]
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        Self {
            http,
            base: server.base.clone(),
            cookie,
        }
    }

    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn get(&self, path: &str) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    pub async fn delete(&self, path: &str) -> u16 {
        self.http
            .delete(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Create a group and start its session; returns (group id, group invite token).
    pub async fn open_group(&self, name: &str, capacity: usize) -> (i64, String) {
        let (status, g) = self
            .post("/api/groups", json!({ "name": name, "capacity": capacity }))
            .await;
        assert_eq!(status, 201, "{g}");
        let id = g["id"].as_i64().unwrap();
        let (status, _) = self
            .post(&format!("/api/groups/{id}/session"), json!({}))
            .await;
        assert_eq!(status, 201);
        (id, token_of(g["invite_link"].as_str().unwrap()))
    }

    /// Create a group (no session yet) with `co` invited as co-facilitator
    /// and accepting; returns the group as the API gave it.
    pub async fn group_with_co_facilitator(
        &self,
        name: &str,
        co: &Console,
        co_name: &str,
    ) -> Value {
        let (status, g) = self
            .post(
                "/api/groups",
                json!({ "name": name, "co_facilitator": co_name }),
            )
            .await;
        assert_eq!(status, 201, "{g}");
        co.accept_invitation(g["id"].as_i64().unwrap()).await;
        g
    }

    /// Accept the invitation to co-facilitate `group`.
    pub async fn accept_invitation(&self, group: i64) {
        let (status, body) = self
            .post(
                &format!("/api/invitations/{group}"),
                json!({ "accept": true }),
            )
            .await;
        assert_eq!(status, 204, "{body}");
    }

    pub async fn personal_link(&self, group: i64, label: &str) -> (i64, String) {
        let (status, l) = self
            .post(
                &format!("/api/groups/{group}/links"),
                json!({ "label": label }),
            )
            .await;
        assert_eq!(status, 201);
        (
            l["id"].as_i64().unwrap(),
            token_of(l["link"].as_str().unwrap()),
        )
    }
}

/// The status of a login attempt made with `client`.
pub async fn login_status(
    client: &reqwest::Client,
    server: &Server,
    username: &str,
    password: &str,
) -> u16 {
    client
        .post(format!("{}/api/login", server.base))
        .json(&json!({ "username": username, "password": password }))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

pub fn token_of(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_owned()
}

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// One participant's WebSocket, with every message it has seen.
pub struct Ws {
    stream: Stream,
    pub seen: Vec<Value>,
    pub closed: bool,
}

impl Ws {
    pub async fn connect(server: &Server, cookie: Option<&str>) -> Self {
        let mut req = server.ws_url().into_client_request().unwrap();
        if let Some(c) = cookie {
            req.headers_mut().insert("cookie", c.parse().unwrap());
        }
        let (stream, _) = tokio_tungstenite::connect_async(req)
            .await
            .expect("websocket connects");
        Self {
            stream,
            seen: Vec::new(),
            closed: false,
        }
    }

    /// Connect from a chosen loopback address (all of 127.0.0.0/8 is
    /// loopback), as another client on another network would; `None` if
    /// the server does not complete the handshake within 10 s.
    pub async fn connect_from(server: &Server, from: std::net::IpAddr) -> Option<Self> {
        let req = server.ws_url().into_client_request().unwrap();
        let addr: std::net::SocketAddr = server.base.trim_start_matches("http://").parse().unwrap();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.bind((from, 0).into()).unwrap();
        let handshake = async {
            let tcp = socket.connect(addr).await.ok()?;
            let plain = tokio_tungstenite::MaybeTlsStream::Plain(tcp);
            tokio_tungstenite::client_async(req, plain).await.ok()
        };
        let (stream, _) = tokio::time::timeout(Duration::from_secs(10), handshake)
            .await
            .ok()??;
        Some(Self {
            stream,
            seen: Vec::new(),
            closed: false,
        })
    }

    pub async fn send(&mut self, v: Value) {
        self.stream
            .send(Message::Text(v.to_string().into()))
            .await
            .unwrap();
    }

    pub async fn send_raw(&mut self, m: Message) {
        let _ = self.stream.send(m).await;
    }

    /// Wait (up to 10 s) for a message matching `pred`; panics if none comes.
    pub async fn expect(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        if let Some(v) = self.seen.iter().find(|v| pred(v)) {
            return v.clone();
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let next = tokio::time::timeout_at(deadline, self.stream.next()).await;
            match next {
                Ok(Some(Ok(Message::Text(t)))) => {
                    let v: Value = serde_json::from_str(t.as_str()).unwrap();
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return v;
                    }
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => {
                    self.closed = true;
                    panic!(
                        "connection closed while waiting for {what}; saw {:?}",
                        self.seen
                    );
                }
                Ok(Some(Ok(_))) => {}
                Err(_) => panic!("no {what} within 10 s; saw {:?}", self.seen),
            }
        }
    }

    /// Read everything that arrives within `d` (records closing).
    pub async fn drain(&mut self, d: Duration) {
        let deadline = tokio::time::Instant::now() + d;
        while !self.closed {
            match tokio::time::timeout_at(deadline, self.stream.next()).await {
                Ok(Some(Ok(Message::Text(t)))) => {
                    self.seen.push(serde_json::from_str(t.as_str()).unwrap())
                }
                Ok(Some(Ok(Message::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => self.closed = true,
                Ok(Some(Ok(_))) => {}
                Err(_) => break,
            }
        }
    }

    pub async fn expect_type(&mut self, ty: &str) -> Value {
        self.expect(ty, |v| v["type"] == ty).await
    }

    pub fn saw_type(&self, ty: &str) -> bool {
        self.seen.iter().any(|v| v["type"] == ty)
    }
}

pub fn hello_member(token: &str, name: &str) -> Value {
    json!({ "type": "hello", "v": 1, "join": { "kind": "member", "token": token, "name": name, "agreed": true } })
}

pub fn hello_staff(group: i64, name: &str) -> Value {
    json!({ "type": "hello", "v": 1, "join": { "kind": "staff", "group": group, "name": name } })
}

/// The participant id in the waiting list entry named `name`.
pub fn waiting_id(list: &Value, name: &str) -> Option<u64> {
    list["waiting"]
        .as_array()?
        .iter()
        .find(|w| w["name"] == name)
        .and_then(|w| w["id"].as_u64())
}

/// Join the media plane through the signaling socket with a webrtc-rs client
/// offering `slots` receive slots and recognising `tones`.
pub async fn connect_media(
    ws: &mut Ws,
    index: u32,
    slots: usize,
    tones: &[f32],
) -> haven_e2e::webrtc_client::ToneClient {
    let mut client = haven_e2e::webrtc_client::ToneClient::new(index, slots, tones.to_vec()).await;
    ws.send(json!({ "type": "offer", "sdp": client.take_offer() }))
        .await;
    let answer = ws.expect_type("answer").await;
    client
        .accept_answer(answer["sdp"].as_str().unwrap().to_owned())
        .await;
    client
}

/// Wait (up to 20 s) until `f` holds.
pub async fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..100 {
        if f() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    panic!("timed out waiting until {what}");
}

/// Whether `client` recognises exactly `tones` (sorted) among what it receives.
pub fn hears_exactly(client: &haven_e2e::webrtc_client::ToneClient, tones: &[f32]) -> bool {
    let r = client.received.lock().unwrap();
    let mut heard: Vec<f32> = r.tones.values().flatten().copied().collect();
    heard.sort_by(f32::total_cmp);
    let mut want = tones.to_vec();
    want.sort_by(f32::total_cmp);
    heard == want
}
