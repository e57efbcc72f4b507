//! What Haven reads from and adjusts in its own SDP answers.
//!
//! str0m lists a negotiated RED payload type before Opus, because libwebrtc
//! sends RED only when it comes first. Haven wants the opposite for what a
//! participant publishes: plain Opus up (no doubled uplink for everyone),
//! with redundancy added per subscriber only where a downlink loses packets
//! (`protection`). So in the m-lines on which Haven *receives* audio, Opus
//! is moved before RED; the slots keep RED negotiated for receiving.

/// The m-lines of an answer, in order.
pub fn answer_mids(sdp: &str) -> Vec<str0m::media::Mid> {
    sdp.lines()
        .filter_map(|l| l.trim_end().strip_prefix("a=mid:"))
        .map(str0m::media::Mid::from)
        .collect()
}

/// The answer with RED listed after the other formats in every audio
/// m-line that Haven only receives on (`a=recvonly`).
pub fn publish_plain_opus(answer: &str) -> String {
    let mut out = String::with_capacity(answer.len());
    let mut section: Vec<&str> = Vec::new();
    for line in answer.split_inclusive('\n') {
        if line.starts_with("m=") && !section.is_empty() {
            flush(&mut out, &mut section);
        }
        section.push(line);
    }
    flush(&mut out, &mut section);
    out
}

/// Write one section (the session part, or one m-line and its attributes).
fn flush(out: &mut String, section: &mut Vec<&str>) {
    let receives_audio = section.first().is_some_and(|m| m.starts_with("m=audio "))
        && section.iter().any(|l| l.trim_end() == "a=recvonly");
    let red: Vec<&str> = section
        .iter()
        .filter_map(|l| l.strip_prefix("a=rtpmap:"))
        .filter_map(|l| l.split_once(' '))
        .filter(|(_, codec)| codec.to_ascii_lowercase().starts_with("red/"))
        .map(|(pt, _)| pt)
        .collect();
    for (i, line) in section.iter().enumerate() {
        if i == 0 && receives_audio && !red.is_empty() {
            out.push_str(&red_last(line, &red));
        } else {
            out.push_str(line);
        }
    }
    section.clear();
}

/// `m=audio PORT PROTO FMT...` with the RED formats moved to the end.
fn red_last(m_line: &str, red: &[&str]) -> String {
    let body = m_line.trim_end_matches(['\r', '\n']);
    let ending = &m_line[body.len()..];
    let mut words: Vec<&str> = body.split(' ').collect();
    if words.len() <= 3 {
        return m_line.to_owned();
    }
    let formats = words.split_off(3);
    let (reds, others): (Vec<&str>, Vec<&str>) = formats.into_iter().partition(|f| red.contains(f));
    words.extend(others);
    words.extend(reds);
    format!("{}{ending}", words.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ANSWER: &str = "v=0\r\n\
        o=- 1 2 IN IP4 0.0.0.0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 63 111\r\n\
        a=mid:0\r\n\
        a=recvonly\r\n\
        a=rtpmap:63 red/48000/2\r\n\
        a=rtpmap:111 opus/48000/2\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\n\
        a=mid:1\r\n\
        a=recvonly\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 63 111\r\n\
        a=mid:2\r\n\
        a=sendonly\r\n\
        a=rtpmap:63 red/48000/2\r\n\
        a=rtpmap:111 opus/48000/2\r\n";

    #[test]
    fn opus_comes_first_where_haven_receives_and_red_stays_where_it_sends() {
        let fixed = publish_plain_opus(ANSWER);
        let m_lines: Vec<&str> = fixed.lines().filter(|l| l.starts_with("m=")).collect();
        assert_eq!(
            m_lines,
            [
                "m=audio 9 UDP/TLS/RTP/SAVPF 111 63",
                "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
                "m=audio 9 UDP/TLS/RTP/SAVPF 63 111",
            ]
        );
        assert_eq!(fixed.len(), ANSWER.len());
        assert_eq!(answer_mids(&fixed).len(), 3);
    }

    #[test]
    fn an_answer_without_red_is_unchanged() {
        let plain = ANSWER.replace("a=rtpmap:63 red/48000/2\r\n", "");
        assert_eq!(publish_plain_opus(&plain), plain);
    }
}
