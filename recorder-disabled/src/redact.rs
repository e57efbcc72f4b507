//! Keeping personal data out of logs.
//!
//! Haven's own code never hands a display name, chat text, SDP or token to
//! the logger: those values live in types whose `Debug` prints
//! `<redacted>`. What third-party libraries might print is caught at the
//! last step: [`RedactingWriter`] replaces every IP address in a log line
//! before it is written, so that no participant's address reaches a log file
//! whatever a dependency logs.

use std::fmt;
use std::io::{self, Write};

/// A value that must never be logged: `Display` and `Debug` print `<redacted>`.
pub struct Redacted<T>(pub T);

impl<T> fmt::Display for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl<T> fmt::Debug for Redacted<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// Replace IPv4 and IPv6 addresses in `line` with `<ip>`.
pub fn scrub_addresses(line: &str) -> String {
    let bytes = line.as_bytes();
    let mut out = String::with_capacity(line.len());
    let mut i = 0;
    while i < bytes.len() {
        // An address may follow a colon ("peer:203.0.113.5", "via:2001:db8::7"):
        // scanning left to right, a whole address starting earlier has
        // already been replaced, so a match here is never the tail of one.
        let start_ok = i == 0 || !is_word_or_addr(bytes[i - 1]) || bytes[i - 1] == b':';
        if start_ok {
            let found = ipv4_at(&bytes[i..]).or_else(|| ipv6_at(&bytes[i..]));
            // An address ends where a word would not go on ("haven::store" is a path).
            if let Some(len) = found.filter(|len| bytes.get(i + len).is_none_or(|b| !is_word(*b))) {
                out.push_str("<ip>");
                i += len;
                continue;
            }
        }
        let ch = line[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn is_word_or_addr(b: u8) -> bool {
    is_word(b) || b == b'.' || b == b':'
}

/// Length of a dotted-quad IPv4 address at the start of `s`.
fn ipv4_at(s: &[u8]) -> Option<usize> {
    let mut i = 0;
    for part in 0..4 {
        let digits = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || digits > 3 {
            return None;
        }
        let value: u32 = std::str::from_utf8(&s[i..i + digits]).ok()?.parse().ok()?;
        if value > 255 {
            return None;
        }
        i += digits;
        if part < 3 {
            if s.get(i) != Some(&b'.') {
                return None;
            }
            i += 1;
        }
    }
    // "1.2.3.4.5" is a version number, not an address.
    if s.get(i) == Some(&b'.') && s.get(i + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    Some(i)
}

/// Length of an IPv6 address (at least two colons, hex groups) at the start of `s`.
fn ipv6_at(s: &[u8]) -> Option<usize> {
    let len = s
        .iter()
        .take_while(|b| b.is_ascii_hexdigit() || **b == b':' || **b == b'.')
        .count();
    let candidate = std::str::from_utf8(&s[..len]).ok()?;
    // Trim trailing punctuation that belongs to the sentence ("::1.").
    let candidate = candidate.trim_end_matches('.');
    if candidate.matches(':').count() >= 2 && candidate.parse::<std::net::Ipv6Addr>().is_ok() {
        Some(candidate.len())
    } else {
        None
    }
}

/// A writer that scrubs addresses from everything written through it, line
/// by line (tracing writes one event per call).
pub struct RedactingWriter<W: Write> {
    inner: W,
}

impl<W: Write> RedactingWriter<W> {
    /// Wrap `inner`.
    pub fn new(inner: W) -> Self {
        Self { inner }
    }
}

impl<W: Write> Write for RedactingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        self.inner.write_all(scrub_addresses(&text).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_scrubbed_and_other_numbers_kept() {
        assert_eq!(
            scrub_addresses("from 127.0.0.1:5000 to 10.1.2.3"),
            "from <ip>:5000 to <ip>"
        );
        assert_eq!(
            scrub_addresses("peer [2001:db8::1]:443 and ::1."),
            "peer [<ip>]:443 and <ip>."
        );
        assert_eq!(
            scrub_addresses("fe80::1ff:fe23:4567:890a%eth0"),
            "<ip>%eth0"
        );
        assert_eq!(
            scrub_addresses("version 1.2.3.4.5, 999.1.1.1, 12:30, p-42"),
            "version 1.2.3.4.5, 999.1.1.1, 12:30, p-42"
        );
        assert_eq!(scrub_addresses("ünïcode 192.168.0.1!"), "ünïcode <ip>!");
        // After a colon, as `key:value` logs write them.
        assert_eq!(
            scrub_addresses("peer:203.0.113.5 via:2001:db8::7 addr=[::1]:9"),
            "peer:<ip> via:<ip> addr=[<ip>]:9"
        );
        // A MAC address is not an IP address. (Eight colon-separated hex
        // groups inside a longer run, as in a certificate fingerprint, are
        // scrubbed: the safe direction.)
        let line = "mac 00:11:22:33:44:55 at 12:30:05";
        assert_eq!(scrub_addresses(line), line);
        assert_eq!(
            format!("{} {:?}", Redacted("Sam"), Redacted("Sam")),
            "<redacted> <redacted>"
        );
        // Paths and times are not addresses.
        let line = "2026-11-26T05:46:55.871Z INFO haven::lockdown: haven_signaling::store::schema h2::proto";
        assert_eq!(scrub_addresses(line), line);
    }

    #[test]
    fn the_writer_scrubs_what_passes_through() {
        let mut w = RedactingWriter::new(Vec::new());
        write!(w, "connect from 192.0.2.7:40000").unwrap();
        assert_eq!(
            String::from_utf8(w.inner).unwrap(),
            "connect from <ip>:40000"
        );
    }
}
