//! A test participant: a full (non-lite) str0m peer in RTP mode that
//! publishes tagged audio and VP8-shaped video and records what it receives.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt, Rid, Simulcast, SimulcastLayer};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpWrite};
use str0m::{Candidate, Event, Input, Output, Rtc};

/// The simulcast layers a client publishes, lowest first.
pub const RIDS: [&str; 3] = ["q", "h", "f"];

/// What a client received from one publisher.
#[derive(Default, Debug)]
pub struct FromPublisher {
    pub audio_packets: u64,
    pub video_packets: u64,
    /// Distinct audio sequence numbers the publisher wrote (carried in the payload).
    pub audio_seqs: BTreeSet<u32>,
    /// Distinct video sequence numbers the publisher wrote (carried in the payload).
    pub video_seqs: BTreeSet<u32>,
    /// Video packets received per simulcast layer (0 for a single stream).
    pub video_layers: BTreeMap<u8, u64>,
    /// The layer of the latest video packet.
    pub last_video_layer: Option<u8>,
    /// Each change of layer: (new layer, whether it began with a keyframe).
    pub layer_switches: Vec<(u8, bool)>,
    /// Whether the first video packet received was the start of a keyframe.
    pub first_video_was_keyframe: Option<bool>,
    pub first_video_at: Option<Instant>,
    pub last_audio_at: Option<Instant>,
    /// Audio payload bytes received (RED included).
    pub audio_bytes: u64,
    /// Audio packets that came as RED (RFC 2198).
    pub red_packets: u64,
}

pub struct Client {
    pub id: u8,
    pub addr: SocketAddr,
    pub rtc: Rtc,
    pending: Option<SdpPendingOffer>,
    pub next_timeout: Instant,
    audio_mid: Option<Mid>,
    video_mid: Option<Mid>,
    pt_opus: Option<Pt>,
    pt_red: Option<Pt>,
    pt_vp8: Option<Pt>,
    /// Audio level to put in the RFC 6464 extension (-dBov; 127 = silence).
    pub level: i8,
    pub publishing: bool,
    /// Publish audio as RED (each packet repeating the previous frame), as a
    /// browser that prefers `audio/red` would.
    pub publishes_red: bool,
    last_audio_payload: Vec<u8>,
    next_audio: Instant,
    next_video: Instant,
    audio_seq: u32,
    /// Per layer (a single stream uses the first).
    video_seq: [u32; 3],
    /// Publish video as simulcast (q, h, f), as browsers do.
    pub simulcast: bool,
    /// Which simulcast layers it encodes (the SFU's `SendLayers`).
    pub sending: [bool; 3],
    audio_ts: u32,
    video_ts: u32,
    last_keyframe: Option<Instant>,
    /// Send a keyframe on the next frame (PLI/FIR received).
    force_keyframe: bool,
    /// 0 = only on request.
    pub keyframe_interval: Duration,
    pub connected: bool,
    pub keyframe_requests_received: u64,
    /// The incoming video streams (for asking them for keyframes).
    video_ssrcs: Vec<str0m::rtp::Ssrc>,
    pub received: BTreeMap<u8, FromPublisher>,
    /// Whose packets arrived on each m-line (by the publisher tag in the
    /// payload): what the slot announcements must agree with.
    pub owners_by_mid: BTreeMap<String, BTreeSet<u8>>,
    /// The SFU's ICE ufrag for this client, from the answer.
    pub remote_ufrag: Option<String>,
}

impl Client {
    /// A client offering its own audio + video and `slots` receive slots,
    /// and (like browsers) RED for audio.
    pub fn new(id: u8, now: Instant, slots: usize) -> (Self, String) {
        Self::new_with_red(id, now, slots, true)
    }

    /// As `new`; `red: false` is a browser without `audio/red`.
    pub fn new_with_red(id: u8, now: Instant, slots: usize, red: bool) -> (Self, String) {
        Self::new_with(id, now, slots, red, true)
    }

    /// As `new`; `simulcast: false` publishes a single video stream.
    pub fn new_with(
        id: u8,
        now: Instant,
        slots: usize,
        red: bool,
        simulcast: bool,
    ) -> (Self, String) {
        let addr: SocketAddr = format!("10.0.0.{}:5000", 10 + id).parse().unwrap();
        let mut rtc = Rtc::builder()
            .set_rtp_mode(true)
            .clear_codecs()
            .enable_opus(true, red)
            .enable_vp8(true)
            .build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut api = rtc.sdp_api();
        let audio = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
        let layers = simulcast.then(|| {
            let mut s = Simulcast::new();
            for rid in RIDS {
                s.add_send_layer(SimulcastLayer::new(rid));
            }
            s
        });
        let video = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, layers);
        for _ in 0..slots {
            api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
            api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
        }
        let (offer, pending) = api.apply().expect("changes to offer");
        let client = Self {
            id,
            addr,
            rtc,
            pending: Some(pending),
            next_timeout: now,
            audio_mid: Some(audio),
            video_mid: Some(video),
            pt_opus: None,
            pt_red: None,
            pt_vp8: None,
            level: 127,
            publishing: true,
            publishes_red: false,
            last_audio_payload: Vec::new(),
            next_audio: now,
            next_video: now,
            audio_seq: 0,
            video_seq: [0; 3],
            simulcast,
            sending: [true; 3],
            audio_ts: 0,
            video_ts: 0,
            last_keyframe: None,
            force_keyframe: false,
            keyframe_interval: Duration::from_secs(3),
            connected: false,
            keyframe_requests_received: 0,
            video_ssrcs: Vec::new(),
            received: BTreeMap::new(),
            owners_by_mid: BTreeMap::new(),
            remote_ufrag: None,
        };
        (client, offer.to_sdp_string())
    }

    pub fn accept_answer(&mut self, answer: &str) {
        self.remote_ufrag = answer
            .lines()
            .find_map(|l| l.trim_end().strip_prefix("a=ice-ufrag:"))
            .map(str::to_owned);
        let answer = SdpAnswer::from_sdp_string(answer).expect("SFU answer parses");
        let pending = self.pending.take().expect("one offer");
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("answer accepted");
        let find = |rtc: &Rtc, c: Codec| {
            rtc.codec_config()
                .find(|p| p.spec().codec == c)
                .map(|p| p.pt())
        };
        self.pt_opus = find(&self.rtc, Codec::Opus);
        self.pt_red = self
            .rtc
            .codec_config()
            .find(|p| p.spec().codec == Codec::Opus)
            .and_then(|p| p.red());
        self.pt_vp8 = find(&self.rtc, Codec::Vp8);
    }

    pub fn receive(
        &mut self,
        now: Instant,
        from: SocketAddr,
        bytes: &[u8],
        out: &mut Vec<(SocketAddr, SocketAddr, Vec<u8>)>,
    ) {
        let Ok(r) = Receive::new(Protocol::Udp, from, self.addr, bytes) else {
            return;
        };
        let _ = self.rtc.handle_input(Input::Receive(now, r));
        self.drain(now, out);
    }

    /// Ask every video stream received for a keyframe (PLI), as a page
    /// whose decoder keeps failing on a lossy link would.
    pub fn ask_for_keyframes(
        &mut self,
        now: Instant,
        out: &mut Vec<(SocketAddr, SocketAddr, Vec<u8>)>,
    ) {
        for ssrc in self.video_ssrcs.clone() {
            if let Some(rx) = self.rtc.direct_api().stream_rx(&ssrc) {
                rx.request_keyframe(str0m::media::KeyframeRequestKind::Pli);
            }
        }
        self.drain(now, out);
    }

    pub fn timeout(&mut self, now: Instant, out: &mut Vec<(SocketAddr, SocketAddr, Vec<u8>)>) {
        let _ = self.rtc.handle_input(Input::Timeout(now));
        self.drain(now, out);
    }

    pub fn drain(&mut self, now: Instant, out: &mut Vec<(SocketAddr, SocketAddr, Vec<u8>)>) {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.next_timeout = t;
                    return;
                }
                Ok(Output::Transmit(t)) => out.push((t.source, t.destination, t.contents.to_vec())),
                Ok(Output::Event(e)) => self.on_event(now, e),
                Err(e) => panic!("client {} failed: {e}", self.id),
            }
        }
    }

    fn on_event(&mut self, now: Instant, e: Event) {
        match e {
            Event::Connected => self.connected = true,
            Event::KeyframeRequest(_) => {
                self.keyframe_requests_received += 1;
                self.force_keyframe = true;
            }
            Event::RtpPacket(p) if Some(p.header.payload_type) == self.pt_red => {
                let blocks = red_blocks(&p.payload)
                    .unwrap_or_else(|| panic!("client {} got a malformed RED payload", self.id));
                for block in &blocks {
                    self.record(now, p.header.ssrc, block);
                }
                if let Some(&owner) = blocks.last().and_then(|primary| primary.get(2)) {
                    let rec = self.received.entry(owner).or_default();
                    rec.red_packets += 1;
                    rec.audio_bytes += p.payload.len() as u64;
                }
            }
            Event::RtpPacket(p) => {
                if let (Some(0xAA), Some(&owner)) = (p.payload.first(), p.payload.get(2)) {
                    self.received.entry(owner).or_default().audio_bytes += p.payload.len() as u64;
                }
                self.record(now, p.header.ssrc, &p.payload);
            }
            _ => {}
        }
    }

    /// One received frame (a plain packet's payload or one RED block).
    fn record(&mut self, now: Instant, ssrc: str0m::rtp::Ssrc, payload: &[u8]) {
        let (Some(&tag), Some(&owner)) = (payload.first(), payload.get(2)) else {
            return;
        };
        let Some(seq) = payload.get(3..7) else { return };
        let seq = u32::from_be_bytes([seq[0], seq[1], seq[2], seq[3]]);
        if let Some(rx) = self.rtc.direct_api().stream_rx(&ssrc) {
            self.owners_by_mid
                .entry(rx.mid().to_string())
                .or_default()
                .insert(owner);
        }
        if tag != 0xAA && !self.video_ssrcs.contains(&ssrc) {
            self.video_ssrcs.push(ssrc);
        }
        let rec = self.received.entry(owner).or_default();
        if tag == 0xAA {
            rec.audio_packets += 1;
            rec.audio_seqs.insert(seq);
            rec.last_audio_at = Some(now);
        } else {
            let layer = payload.get(7).copied().unwrap_or(0);
            rec.video_packets += 1;
            *rec.video_layers.entry(layer).or_default() += 1;
            if rec.last_video_layer.is_some_and(|l| l != layer) {
                let keyframe = tag & 0x10 != 0 && payload[1] & 1 == 0;
                rec.layer_switches.push((layer, keyframe));
            }
            rec.last_video_layer = Some(layer);
            // Each layer numbers its own packets.
            rec.video_seqs.insert(seq | u32::from(layer) << 24);
            if rec.first_video_was_keyframe.is_none() {
                rec.first_video_was_keyframe = Some(tag & 0x10 != 0 && payload[1] & 1 == 0);
                rec.first_video_at = Some(now);
            }
        }
    }

    /// The newest audio frame number (the publisher's own) received from
    /// `publisher`; 0 before any.
    pub fn newest_audio(&self, publisher: u8) -> u32 {
        self.from(publisher).audio_seqs.last().copied().unwrap_or(0)
    }

    /// Audio frames the publisher wrote after `after_seq` (its own
    /// numbering) that arrived, as a fraction of those up to the newest.
    pub fn audio_completeness_after(&self, publisher: u8, after_seq: u32) -> f64 {
        let seqs: Vec<u32> = self
            .from(publisher)
            .audio_seqs
            .range(after_seq + 1..)
            .copied()
            .collect();
        let Some(hi) = seqs.last() else { return 0.0 };
        seqs.len() as f64 / f64::from(hi - after_seq)
    }

    pub fn next_media(&self) -> Option<Instant> {
        (self.connected && self.publishing).then(|| self.next_audio.min(self.next_video))
    }

    /// Write whatever media is due at `now`.
    pub fn send_media(&mut self, now: Instant, out: &mut Vec<(SocketAddr, SocketAddr, Vec<u8>)>) {
        if !(self.connected && self.publishing) {
            return;
        }
        if now >= self.next_audio {
            self.next_audio += Duration::from_millis(20);
            self.audio_seq += 1;
            self.audio_ts = self.audio_ts.wrapping_add(960);
            let mut payload = vec![0xAA, 0, self.id];
            payload.extend_from_slice(&self.audio_seq.to_be_bytes());
            payload.resize(60, 0x55);
            let ext = ExtensionValues {
                audio_level: Some(-self.level.abs()),
                voice_activity: Some(self.level < 100),
                ..Default::default()
            };
            let (mid, mut pt, seq, ts) = (
                self.audio_mid.unwrap(),
                self.pt_opus.unwrap(),
                self.audio_seq,
                self.audio_ts,
            );
            if self.publishes_red {
                let frame = std::mem::replace(&mut payload, vec![0x80 | *pt, 0, 0, 0]);
                let previous = std::mem::replace(&mut self.last_audio_payload, frame.clone());
                // One redundant block: offset 960, its length.
                let word = (960u32 << 10) | previous.len() as u32;
                payload[1..4].copy_from_slice(&word.to_be_bytes()[1..]);
                payload.push(*pt);
                payload.extend_from_slice(&previous);
                payload.extend_from_slice(&frame);
                pt = self.pt_red.expect("RED negotiated");
            }
            let mut api = self.rtc.direct_api();
            let tx = api.stream_tx_by_mid(mid, None).expect("audio stream");
            tx.write_rtp(
                RtpWrite::new(pt, (seq as u64 + 1000).into(), ts, now, payload)
                    .ext_vals(ext)
                    .marker(true),
            );
            self.drain(now, out);
        }
        if now >= self.next_video {
            self.next_video += Duration::from_millis(33);
            self.video_ts = self.video_ts.wrapping_add(3000);
            let periodic = !self.keyframe_interval.is_zero()
                && self
                    .last_keyframe
                    .is_none_or(|t| now >= t + self.keyframe_interval);
            let key = self.force_keyframe || periodic || self.last_keyframe.is_none();
            if key {
                self.force_keyframe = false;
                self.last_keyframe = Some(now);
            }
            // (rid, packets per frame, bytes per packet): about 100, 380
            // and 960 kbit/s; a single stream about 430.
            let layers: Vec<(Option<Rid>, u32, usize)> = if self.simulcast {
                RIDS.iter()
                    .zip([(1, 350), (2, 800), (4, 1000)])
                    .map(|(rid, (n, size))| (Some(Rid::from(*rid)), n, size))
                    .collect()
            } else {
                vec![(None, 2, 900)]
            };
            for (layer, (rid, n, size)) in layers.into_iter().enumerate() {
                if !self.sending[layer] {
                    continue;
                }
                let packets = if key { n * 3 } else { n };
                for i in 0..packets {
                    self.video_seq[layer] += 1;
                    let seq = self.video_seq[layer];
                    let descriptor = if i == 0 { 0x10 } else { 0x00 };
                    let frame_header = if key { 0x00 } else { 0x01 };
                    let mut payload = vec![descriptor, frame_header, self.id];
                    payload.extend_from_slice(&seq.to_be_bytes());
                    payload.push(layer as u8);
                    payload.resize(size, 0x66);
                    let (mid, pt, ts) =
                        (self.video_mid.unwrap(), self.pt_vp8.unwrap(), self.video_ts);
                    let mut api = self.rtc.direct_api();
                    let tx = api.stream_tx_by_mid(mid, rid).expect("video stream");
                    tx.write_rtp(
                        RtpWrite::new(pt, (seq as u64 + 5000).into(), ts, now, payload)
                            .marker(i == packets - 1)
                            .nackable(true),
                    );
                    self.drain(now, out);
                }
            }
        }
    }

    /// Encode only these layers, as a page told `send_layers` does; a
    /// layer that starts again starts on a keyframe, as a browser's does.
    pub fn send_layers(&mut self, active: [bool; 3]) {
        if active
            .iter()
            .zip(self.sending)
            .any(|(now, before)| *now && !before)
        {
            self.force_keyframe = true;
        }
        self.sending = active;
    }

    pub fn from(&self, publisher: u8) -> &FromPublisher {
        static EMPTY: std::sync::OnceLock<FromPublisher> = std::sync::OnceLock::new();
        self.received
            .get(&publisher)
            .unwrap_or_else(|| EMPTY.get_or_init(FromPublisher::default))
    }

    /// Video packets the publisher wrote in (lo, hi] that arrived, on the
    /// layer received most.
    pub fn video_completeness(&self, publisher: u8) -> f64 {
        let from = self.from(publisher);
        let Some((&layer, _)) = from.video_layers.iter().max_by_key(|(_, n)| **n) else {
            return 0.0;
        };
        let base = u32::from(layer) << 24;
        let seqs: Vec<u32> = from
            .video_seqs
            .range(base..base + (1 << 24))
            .copied()
            .collect();
        let (Some(lo), Some(hi)) = (seqs.first(), seqs.last()) else {
            return 0.0;
        };
        seqs.len() as f64 / (hi - lo + 1) as f64
    }
}

/// The blocks of an RFC 2198 RED payload, oldest first, primary last
/// (written here independently of the SFU's encoder, to check its output).
fn red_blocks(red: &[u8]) -> Option<Vec<&[u8]>> {
    let mut lengths = Vec::new();
    let mut at = 0;
    while *red.get(at)? & 0x80 != 0 {
        let h = red.get(at..at + 4)?;
        lengths.push(usize::from(h[2] & 0x03) << 8 | usize::from(h[3]));
        at += 4;
    }
    at += 1;
    let mut blocks = Vec::new();
    for len in lengths {
        blocks.push(red.get(at..at + len)?);
        at += len;
    }
    blocks.push(red.get(at..)?);
    Some(blocks)
}
