//! `haven doctor`: what breaks sessions in practice, checked on the server
//! itself, each with what to do about it. Read-only, except a test file in
//! the data directory (created and removed) and one UDP datagram to itself.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs, UdpSocket};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime};

use haven_signaling::turn::TurnSettings;

use crate::config::Config;
use crate::turn_probe::{self, TurnAnswer};

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Level {
    Ok,
    Warning,
    Problem,
}

struct Finding {
    level: Level,
    what: String,
    todo: Option<String>,
}

fn ok(what: impl Into<String>) -> Finding {
    Finding {
        level: Level::Ok,
        what: what.into(),
        todo: None,
    }
}

fn warning(what: impl Into<String>, todo: impl Into<String>) -> Finding {
    Finding {
        level: Level::Warning,
        what: what.into(),
        todo: Some(todo.into()),
    }
}

fn problem(what: impl Into<String>, todo: impl Into<String>) -> Finding {
    Finding {
        level: Level::Problem,
        what: what.into(),
        todo: Some(todo.into()),
    }
}

/// Run every check, print the findings, and fail if any is a problem.
pub fn run(config: &Config) -> Result<(), String> {
    let mut findings = Vec::new();
    findings.extend(data_directory(&config.data_dir));
    findings.push(free_disk(&config.data_dir));
    findings.extend(addresses(config));
    findings.push(media_port(config));
    if let Some((cert, _)) = &config.tls {
        findings.push(certificate(cert, SystemTime::now()));
    }
    if let Some((urls, secret)) = &config.turn {
        findings.extend(turn(urls, secret));
    }
    findings.push(clock());
    for f in &findings {
        let tag = match f.level {
            Level::Ok => "ok      ",
            Level::Warning => "warning ",
            Level::Problem => "PROBLEM ",
        };
        println!("{tag}{}", f.what);
        if let Some(todo) = &f.todo {
            println!("        → {todo}");
        }
    }
    let problems = findings
        .iter()
        .filter(|f| f.level == Level::Problem)
        .count();
    match problems {
        0 => {
            println!("No problems found.");
            Ok(())
        }
        n => Err(format!(
            "{n} problem{} found (see above)",
            if n == 1 { "" } else { "s" }
        )),
    }
}

fn data_directory(dir: &Path) -> Vec<Finding> {
    let shown = dir.display();
    let meta = match std::fs::metadata(dir) {
        Ok(m) if m.is_dir() => m,
        Ok(_) => return vec![problem(format!("the data directory {shown} is not a directory"), "point data_dir at a directory")],
        Err(_) => {
            return vec![problem(
                format!("the data directory {shown} does not exist"),
                "create it, owned by the user Haven runs as, mode 0700 (the Debian package and systemd's StateDirectory= do)",
            )]
        }
    };
    let mut out = Vec::new();
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        out.push(problem(
            format!("the data directory {shown} is open to others (mode {mode:o})"),
            format!("chmod 700 {shown}: it holds the accounts and the key that seals invite links"),
        ));
    } else {
        out.push(ok(format!(
            "the data directory {shown} is private (mode {mode:o})"
        )));
    }
    let me = nix::unistd::geteuid().as_raw();
    if me != 0 && meta.uid() != me {
        out.push(problem(
            format!("the data directory {shown} belongs to another user"),
            "run Haven (and the doctor) as the user that owns it, or chown it",
        ));
    }
    let probe = dir.join(".haven-doctor-probe");
    match std::fs::write(&probe, b"probe") {
        Ok(()) => {
            let _ = std::fs::remove_file(&probe);
        }
        Err(e) => out.push(problem(
            format!("cannot write in the data directory {shown}: {e}"),
            "Haven must write its database there: check the owner and the mode",
        )),
    }
    out
}

fn free_disk(dir: &Path) -> Finding {
    let Ok(stat) = nix::sys::statvfs::statvfs(dir) else {
        return warning("cannot tell the free disk space", "check it with df");
    };
    let free = stat.blocks_available() * stat.fragment_size();
    let mib = free / (1024 * 1024);
    if mib < 100 {
        problem(
            format!("only {mib} MiB free where the data directory is"),
            "free some space: with a full disk logins and admissions fail",
        )
    } else if mib < 1024 {
        warning(
            format!("{mib} MiB free where the data directory is"),
            "keep at least a GiB free",
        )
    } else {
        ok(format!(
            "{} GiB free where the data directory is",
            mib / 1024
        ))
    }
}

fn local_addresses() -> Vec<IpAddr> {
    let Ok(addrs) = nix::ifaddrs::getifaddrs() else {
        return Vec::new();
    };
    addrs
        .filter_map(|a| a.address)
        .filter_map(|a| {
            a.as_sockaddr_in()
                .map(|v4| IpAddr::V4(v4.ip()))
                .or_else(|| a.as_sockaddr_in6().map(|v6| IpAddr::V6(v6.ip())))
        })
        .collect()
}

/// The host of the public URL.
fn url_host(url: &str) -> Option<&str> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split('/').next()?;
    Some(match authority.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    })
    .map(|h| h.trim_start_matches('[').trim_end_matches(']'))
}

fn addresses(config: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    if !config.public_url.starts_with("https://") {
        let local =
            url_host(&config.public_url).is_some_and(|h| h == "localhost" || h.starts_with("127."));
        if !local {
            out.push(problem(
                format!("the public URL {} is not https", config.public_url),
                "browsers give the camera and microphone, and the encryption Haven needs, only to https pages: put Caddy in front (deploy/Caddyfile) and set public_url = \"https://...\"",
            ));
        }
    }
    let Some(host) = url_host(&config.public_url) else {
        out.push(problem(
            "the public URL has no host",
            "set public_url to what members open",
        ));
        return out;
    };
    let resolved: Vec<IpAddr> = (host, 443)
        .to_socket_addrs()
        .map(|a| a.map(|s| s.ip()).collect())
        .unwrap_or_default();
    if resolved.is_empty() {
        out.push(problem(
            format!("the public URL's host {host} does not resolve"),
            "add its DNS record (members' browsers cannot reach Haven without it)",
        ));
        return out;
    }
    let local = local_addresses();
    let shown: Vec<String> = resolved.iter().map(IpAddr::to_string).collect();
    match config.public_ip {
        Some(ip) if !resolved.contains(&ip) => out.push(warning(
            format!("{host} resolves to {} but media is announced on public_ip {ip}", shown.join(", ")),
            "fine if web and media reach this machine by different addresses; otherwise set public_ip to the address members reach",
        )),
        Some(ip) if !local.contains(&ip) => out.push(ok(format!(
            "media is announced on public_ip {ip} (not on this machine's interfaces: a NAT must forward UDP port {} to it)",
            config.media_port
        ))),
        Some(ip) => out.push(ok(format!("media is announced on public_ip {ip}, an address of this machine"))),
        None if resolved.iter().any(|ip| local.contains(ip)) => out.push(ok(format!(
            "{host} resolves to {}, an address of this machine",
            shown.join(", ")
        ))),
        None => out.push(warning(
            format!("{host} resolves to {}, which is not an address of this machine", shown.join(", ")),
            "if the server is behind NAT (or a proxy on another host), set public_ip to the address members reach for media",
        )),
    }
    out
}

/// Bind the media port and send ourselves a datagram on the address
/// members use. Shows the port is free and not dropped on this machine.
fn media_port(config: &Config) -> Finding {
    let port = config.media_port;
    let socket = match UdpSocket::bind(("0.0.0.0", port)) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => {
            return ok(format!(
                "UDP port {port} is in use (Haven is running, or something else is)"
            ));
        }
        Err(e) => {
            return problem(
                format!("cannot open UDP port {port}: {e}"),
                "choose another media_port, or free this one",
            )
        }
    };
    let target_ip = config
        .public_ip
        .filter(|ip| local_addresses().contains(ip))
        .unwrap_or(IpAddr::from([127, 0, 0, 1]));
    let target = SocketAddr::new(target_ip, port);
    let token: [u8; 16] = rand::random();
    let arrived = UdpSocket::bind(("0.0.0.0", 0))
        .and_then(|s| s.send_to(&token, target))
        .is_ok()
        && socket
            .set_read_timeout(Some(Duration::from_secs(1)))
            .is_ok()
        && {
            let mut buf = [0u8; 64];
            matches!(socket.recv_from(&mut buf), Ok((n, _)) if buf[..n] == token)
        };
    if arrived {
        ok(format!(
            "UDP port {port} is free and a datagram to {target} arrives (from this machine: members' networks must reach it too)"
        ))
    } else {
        problem(
            format!("a datagram to {target} did not arrive"),
            format!("a firewall on this machine drops UDP to port {port}: open it (e.g. ufw allow {port}/udp)"),
        )
    }
}

fn certificate(path: &Path, now: SystemTime) -> Finding {
    use x509_cert::der::Decode;
    let shown = path.display();
    let Ok(pem) = std::fs::read(path) else {
        return problem(
            format!("cannot read the certificate {shown}"),
            "check tls_cert and the file's permissions",
        );
    };
    let Some(Ok(der)) = rustls_pemfile::certs(&mut pem.as_slice()).next() else {
        return problem(
            format!("{shown} holds no PEM certificate"),
            "point tls_cert at the certificate chain (PEM)",
        );
    };
    let Ok(cert) = x509_cert::Certificate::from_der(der.as_ref()) else {
        return problem(
            format!("the certificate in {shown} cannot be read"),
            "replace it with a valid PEM certificate",
        );
    };
    let validity = &cert.tbs_certificate().validity();
    let not_after = validity.not_after.to_system_time();
    let not_before = validity.not_before.to_system_time();
    let days = |t: SystemTime| t.duration_since(now).map_or(0, |d| d.as_secs() / 86_400);
    if now < not_before {
        problem(
            format!("the certificate {shown} is not valid yet"),
            "check the clock, or the certificate",
        )
    } else if now >= not_after {
        problem(
            format!("the certificate {shown} has expired"),
            "renew it (or let Caddy manage certificates: deploy/Caddyfile)",
        )
    } else if days(not_after) < 14 {
        warning(
            format!(
                "the certificate {shown} expires in {} days",
                days(not_after)
            ),
            "renew it soon",
        )
    } else {
        ok(format!(
            "the certificate {shown} is valid for {} more days",
            days(not_after)
        ))
    }
}

fn turn(urls: &[String], secret_file: &Path) -> Vec<Finding> {
    let secret = match std::fs::read_to_string(secret_file) {
        Ok(s) => s,
        Err(e) => {
            return vec![problem(
                format!(
                    "cannot read the TURN secret file {}: {e}",
                    secret_file.display()
                ),
                "check turn_secret_file and its permissions",
            )]
        }
    };
    let settings = match TurnSettings::new(urls.to_vec(), &secret) {
        Ok(s) => s,
        Err(e) => {
            return vec![problem(
                format!("the TURN settings are not valid: {e}"),
                "see docs/configuration.md",
            )]
        }
    };
    let unix = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let creds = settings.credentials(unix);
    let mut out = Vec::new();
    for url in urls {
        let Some(target) = turn_probe::udp_target(url) else {
            out.push(ok(format!(
                "{url}: not checked (only TURN over UDP is probed)"
            )));
            continue;
        };
        out.push(match turn_probe::allocate(&target, &creds.username, &creds.credential, Duration::from_secs(2)) {
            TurnAnswer::Allocated => ok(format!("{url}: reachable, and it accepts Haven's credentials")),
            TurnAnswer::Refused(code) => problem(
                format!("{url}: the TURN server refuses Haven's credentials (error {code})"),
                "turn_secret_file must hold coturn's static-auth-secret (use-auth-secret), and both clocks must be right",
            ),
            TurnAnswer::Silent => problem(format!("{url}: no answer from {target}"), "is coturn running, and UDP to it open?"),
            TurnAnswer::Garbled => problem(format!("{url}: {target} does not answer like a TURN server"), "check the URL"),
        });
    }
    out
}

/// Whether the system clock is kept right (TURN credentials, login expiry
/// and TLS all depend on it). Asks systemd; without it, cannot tell.
fn clock() -> Finding {
    let answer = std::process::Command::new("timedatectl")
        .args(["show", "--property=NTPSynchronized", "--value"])
        .output();
    match answer {
        Ok(o) if o.status.success() && String::from_utf8_lossy(&o.stdout).trim() == "yes" => {
            ok("the clock is synchronised (NTP)")
        }
        Ok(o) if o.status.success() => problem(
            "the clock is not synchronised",
            "install and enable a time service (systemd-timesyncd or chrony): TURN credentials and certificates depend on the time",
        ),
        _ => warning(
            "cannot tell whether the clock is synchronised (no timedatectl)",
            "make sure a time service (chrony, systemd-timesyncd) runs",
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_urls_host_is_found() {
        assert_eq!(
            url_host("https://haven.clinic.example"),
            Some("haven.clinic.example")
        );
        assert_eq!(url_host("http://127.0.0.1:8080/"), Some("127.0.0.1"));
        assert_eq!(url_host("https://[::1]:443"), Some("::1"));
        assert_eq!(url_host("nonsense"), None);
    }
}
