//! `haven serve`'s configuration: flags, then environment variables, then an
//! optional TOML file (`--config`), then embedded defaults that work on a
//! laptop. Documented in `docs/configuration.md`.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Settings as given (each optional), from flags/env or from the file.
#[derive(Debug, Default, Deserialize, clap::Args)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address for HTTP and WebSocket (default 127.0.0.1:8080).
    #[arg(long, env = "HAVEN_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Directory for the database (default ./haven-data).
    #[arg(long, env = "HAVEN_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// UDP port for all media (default 40000).
    #[arg(long, env = "HAVEN_MEDIA_PORT")]
    pub media_port: Option<u16>,
    /// Public IP to announce for media when behind NAT.
    #[arg(long, env = "HAVEN_PUBLIC_IP")]
    pub public_ip: Option<IpAddr>,
    /// The URL members open (for invite links), e.g. https://haven.clinic.example.
    #[arg(long, env = "HAVEN_PUBLIC_URL")]
    pub public_url: Option<String>,
    /// Media worker threads (default: one per core).
    #[arg(long, env = "HAVEN_MEDIA_WORKERS")]
    pub media_workers: Option<usize>,
    /// Minutes of inactivity before a facilitator is logged out (default 30).
    #[arg(long, env = "HAVEN_IDLE_LOGOUT_MINUTES")]
    pub idle_logout_minutes: Option<u64>,
    /// Address of the Prometheus metrics listener (default 127.0.0.1:9465;
    /// "off" turns it off). Keep it off the public network.
    #[arg(long, env = "HAVEN_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Knocks allowed per client address per minute (default 30, after a
    /// burst of 20). Raise it for load tests from one machine.
    #[arg(long, env = "HAVEN_KNOCKS_PER_MINUTE")]
    pub knocks_per_minute: Option<u32>,
    /// Open HTTP/WebSocket connections allowed from one client address (an
    /// IPv6 /64 counts as one) at once (default 128; trusted proxies are
    /// counted only in the total, which follows the open-files limit).
    #[arg(long, env = "HAVEN_MAX_CONNECTIONS_PER_ADDRESS")]
    pub max_connections_per_address: Option<usize>,
    /// Reverse proxies (IP addresses, comma-separated) allowed to name the
    /// client in X-Forwarded-For, so that rate limits apply per client and
    /// not to everyone behind the proxy together.
    #[arg(
        long = "trusted-proxy",
        env = "HAVEN_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Option<Vec<IpAddr>>,
    /// The clinic's TURN server(s) for members behind firewalls that block
    /// UDP, e.g. turn:turn.clinic.example:3478?transport=udp,turns:turn.clinic.example:443?transport=tcp
    #[arg(long = "turn-url", env = "HAVEN_TURN_URLS", value_delimiter = ',')]
    pub turn_urls: Option<Vec<String>>,
    /// File holding the secret shared with the TURN server (coturn's
    /// static-auth-secret); required with turn-url.
    #[arg(long, env = "HAVEN_TURN_SECRET_FILE")]
    pub turn_secret_file: Option<PathBuf>,
    /// Send redundant audio (RED) to members whose connection loses
    /// packets (default true; false saves their bandwidth at the cost of
    /// clipped words).
    #[arg(long, env = "HAVEN_AUDIO_PROTECTION")]
    pub audio_protection: Option<bool>,
    /// Estimate each member's downlink and fit the video layers sent to it
    /// (default false for now: docs/media.md says what is not yet right).
    #[arg(long, env = "HAVEN_BANDWIDTH_ESTIMATION")]
    pub bandwidth_estimation: Option<bool>,
    /// TLS certificate chain (PEM); serve HTTPS directly with rustls.
    #[arg(long, env = "HAVEN_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for `tls_cert`.
    #[arg(long, env = "HAVEN_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

/// The settings in force.
#[derive(Debug, Clone)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub media_port: u16,
    pub public_ip: Option<IpAddr>,
    pub public_url: String,
    pub media_workers: Option<usize>,
    pub idle_logout_minutes: u64,
    /// Certificate and key files when serving HTTPS directly.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Where the metrics are served, if anywhere.
    pub metrics_listen: Option<SocketAddr>,
    /// Knocks per address per minute.
    pub knocks_per_minute: u32,
    /// Open connections per client address.
    pub max_connections_per_address: usize,
    /// Proxies whose X-Forwarded-For is believed.
    pub trusted_proxies: Vec<IpAddr>,
    /// TURN URLs and the file with the shared secret, when a TURN server is used.
    pub turn: Option<(Vec<String>, PathBuf)>,
    /// Redundant audio for lossy members.
    pub audio_protection: bool,
    /// Per-member downlink estimate and layer fitting.
    pub bandwidth_estimation: bool,
}

/// Why the configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read the config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the config file {path} is not valid: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// What the configuration resolves to, one setting a line (no secrets:
    /// the TURN secret is named by its file only).
    pub fn summary(&self) -> String {
        let mut lines = vec![
            format!("public URL: {}", self.public_url),
            format!("listen: {}", self.listen),
            format!("media: UDP port {}", self.media_port),
            format!("data directory: {}", self.data_dir.display()),
        ];
        if let Some(ip) = self.public_ip {
            lines.push(format!("public IP for media: {ip}"));
        }
        if let Some((cert, _)) = &self.tls {
            lines.push(format!("HTTPS certificate: {}", cert.display()));
        }
        if let Some((urls, secret)) = &self.turn {
            lines.push(format!(
                "TURN: {} (secret in {})",
                urls.join(", "),
                secret.display()
            ));
        }
        if let Some(m) = self.metrics_listen {
            lines.push(format!("metrics: http://{m}/metrics"));
        }
        lines.join("\n")
    }

    /// Whether browsers will refuse camera and microphone on the public URL:
    /// plain `http://` on a host other than localhost or a loopback address.
    pub fn public_url_is_insecure(&self) -> bool {
        self.public_url.starts_with("http://")
            && !haven_signaling::http::url_is_loopback(&self.public_url)
    }

    /// Merge: `given` (flags and environment) wins over the file, which wins
    /// over the defaults.
    pub fn resolve(given: Settings, file: Option<&Path>) -> Result<Self, ConfigError> {
        let from_file = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str::<Settings>(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.message().to_owned(),
                })?
            }
            None => Settings::default(),
        };
        let listen = given
            .listen
            .or(from_file.listen)
            .unwrap_or(([127, 0, 0, 1], 8080).into());
        let tls = match (
            given.tls_cert.or(from_file.tls_cert),
            given.tls_key.or(from_file.tls_key),
        ) {
            (Some(cert), Some(key)) => Some((cert, key)),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Invalid(
                    "tls_cert and tls_key go together".into(),
                ))
            }
        };
        let scheme = if tls.is_some() { "https" } else { "http" };
        let public_url = given
            .public_url
            .or(from_file.public_url)
            .unwrap_or_else(|| format!("{scheme}://localhost:{}", listen.port()));
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!(
                "public_url must start with http:// or https:// (got {public_url:?})"
            )));
        }
        let idle = given
            .idle_logout_minutes
            .or(from_file.idle_logout_minutes)
            .unwrap_or(30);
        if idle == 0 {
            return Err(ConfigError::Invalid(
                "idle_logout_minutes must be at least 1".into(),
            ));
        }
        let turn = match (
            given.turn_urls.or(from_file.turn_urls),
            given.turn_secret_file.or(from_file.turn_secret_file),
        ) {
            (Some(urls), Some(secret)) if !urls.is_empty() => Some((urls, secret)),
            (None, None) => None,
            _ => {
                return Err(ConfigError::Invalid(
                    "turn_urls and turn_secret_file go together".into(),
                ))
            }
        };
        let workers = given.media_workers.or(from_file.media_workers);
        if workers == Some(0) {
            return Err(ConfigError::Invalid(
                "media_workers must be at least 1".into(),
            ));
        }
        Ok(Self {
            listen,
            data_dir: given
                .data_dir
                .or(from_file.data_dir)
                .unwrap_or_else(|| PathBuf::from("haven-data")),
            media_port: given.media_port.or(from_file.media_port).unwrap_or(40000),
            public_ip: given.public_ip.or(from_file.public_ip),
            public_url,
            media_workers: workers,
            idle_logout_minutes: idle,
            tls,
            knocks_per_minute: given
                .knocks_per_minute
                .or(from_file.knocks_per_minute)
                .unwrap_or(30)
                .max(1),
            max_connections_per_address: given
                .max_connections_per_address
                .or(from_file.max_connections_per_address)
                .unwrap_or(128)
                .max(1),
            turn,
            audio_protection: given
                .audio_protection
                .or(from_file.audio_protection)
                .unwrap_or(true),
            bandwidth_estimation: given
                .bandwidth_estimation
                .or(from_file.bandwidth_estimation)
                .unwrap_or(false),
            trusted_proxies: given
                .trusted_proxies
                .or(from_file.trusted_proxies)
                .unwrap_or_default(),
            metrics_listen: match given.metrics_listen.or(from_file.metrics_listen).as_deref() {
                None => Some(([127, 0, 0, 1], 9465).into()),
                Some("off") => None,
                Some(a) => Some(a.parse().map_err(|_| {
                    ConfigError::Invalid(format!(
                        "metrics_listen: {a:?} is not an address or \"off\""
                    ))
                })?),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_which_wins_over_defaults() {
        let dir = std::env::temp_dir().join(format!("haven-config-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("haven.toml");
        std::fs::write(&file, "media_port = 41000\nlisten = \"0.0.0.0:9000\"\npublic_url = \"https://haven.example\"\ntrusted_proxies = [\"10.0.0.2\"]\n").unwrap();
        let given = Settings {
            media_port: Some(42000),
            ..Settings::default()
        };
        let c = Config::resolve(given, Some(&file)).unwrap();
        assert!(c.turn.is_none());
        let half_turn = Settings {
            turn_urls: Some(vec!["turn:turn.example:3478".into()]),
            ..Settings::default()
        };
        assert!(Config::resolve(half_turn, None)
            .unwrap_err()
            .to_string()
            .contains("turn_secret_file"));
        assert_eq!(c.media_port, 42000);
        assert_eq!(c.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(c.public_url, "https://haven.example");
        assert_eq!(c.data_dir, PathBuf::from("haven-data"));
        assert_eq!(c.trusted_proxies, vec![IpAddr::from([10, 0, 0, 2])]);

        let defaults = Config::resolve(Settings::default(), None).unwrap();
        assert_eq!(
            (defaults.listen.port(), defaults.public_url.as_str()),
            (8080, "http://localhost:8080")
        );

        std::fs::write(&file, "media_prot = 1\n").unwrap();
        let err = Config::resolve(Settings::default(), Some(&file))
            .unwrap_err()
            .to_string();
        assert!(err.contains("media_prot"), "{err}");
        let bad = Settings {
            public_url: Some("haven.example".into()),
            ..Settings::default()
        };
        assert!(Config::resolve(bad, None).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_plain_http_public_url_off_loopback_is_insecure() {
        let with = |url: &str| {
            Config::resolve(
                Settings {
                    public_url: Some(url.into()),
                    ..Settings::default()
                },
                None,
            )
            .unwrap()
        };
        assert!(with("http://192.0.2.10:8080").public_url_is_insecure());
        assert!(with("http://haven.clinic.example").public_url_is_insecure());
        assert!(!with("https://haven.clinic.example").public_url_is_insecure());
        assert!(!with("http://localhost:8080").public_url_is_insecure());
        assert!(!with("http://127.0.0.1:8080").public_url_is_insecure());
        assert!(!with("http://[::1]:8080").public_url_is_insecure());
    }

    #[test]
    fn the_sample_coturn_configuration_relays_only_udp_to_the_media_port() {
        let conf = include_str!("../deploy/coturn.conf");
        let settings: Vec<&str> = conf
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .collect();
        for needed in [
            "use-auth-secret",
            "no-tcp-relay",
            "no-multicast-peers",
            "denied-peer-ip=0.0.0.0-255.255.255.255",
            "denied-peer-ip=::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
        ] {
            assert!(settings.contains(&needed), "coturn.conf lacks {needed}");
        }
        let allowed: Vec<_> = settings
            .iter()
            .filter(|l| l.starts_with("allowed-peer-ip="))
            .collect();
        assert_eq!(allowed.len(), 1, "relay to one address only: {allowed:?}");
        // coturn cannot restrict the peer port: the file says how, with nftables.
        assert!(conf.contains("udp dport != 40000 drop"));
    }

    #[test]
    fn the_sample_configuration_in_deploy_is_valid() {
        let dir = std::env::temp_dir().join(format!("haven-sample-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("haven.toml");
        let sample = include_str!("../deploy/haven.toml");
        std::fs::write(&file, sample).unwrap();
        let c = Config::resolve(Settings::default(), Some(&file)).unwrap();
        assert_eq!(c.public_url, "https://haven.clinic.example");
        assert_eq!(c.trusted_proxies, vec![IpAddr::from([127, 0, 0, 1])]);
        assert!(c.turn.is_none());
        // With its TURN lines switched on.
        std::fs::write(&file, sample.replace("# turn_", "turn_")).unwrap();
        let c = Config::resolve(Settings::default(), Some(&file)).unwrap();
        assert_eq!(c.turn.map(|(urls, _)| urls.len()), Some(2));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
