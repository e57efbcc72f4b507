//! One simulated participant: str0m peer connection(s) over real UDP that
//! publish Opus audio and VP8-shaped video, receive everyone else, answer
//! NACKs and keyframe requests, and measure what arrives.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;

use crate::media::{parse_video, video_frame};
use crate::report::{ParticipantStats, StreamRx};

/// What to send.
#[derive(Clone)]
pub struct MediaPlan {
    /// Opus frames, looped.
    pub audio: Arc<Vec<Vec<u8>>>,
    /// Video bitrate, bits per second.
    pub video_bps: u32,
    /// Video frames per second.
    pub fps: u32,
    /// Keyframe interval.
    pub keyframe_every: Duration,
    /// Start of the measurement window, in ns since the epoch (`u64::MAX`
    /// until the warm-up is over): loss and latency count only inside it.
    pub measure_from: Arc<std::sync::atomic::AtomicU64>,
}

/// One RTP packet to send.
struct OutPacket {
    seq: u64,
    time: u32,
    payload: Vec<u8>,
    marker: bool,
    nackable: bool,
}

/// One peer connection and its socket.
pub struct Peer {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    pending: Option<SdpPendingOffer>,
    send_mids: Option<(Mid, Mid)>,
    audio_out: Option<(Mid, Pt)>,
    video_out: Option<(Mid, Pt)>,
    video_mids: Vec<Mid>,
    timeout: Instant,
}

fn new_rtc(local: SocketAddr) -> Rtc {
    let mut rtc = Rtc::builder()
        .set_rtp_mode(true)
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .build(Instant::now());
    if let Ok(c) = Candidate::host(local, "udp") {
        rtc.add_local_candidate(c);
    }
    rtc
}

async fn bind(ip: IpAddr) -> std::io::Result<(UdpSocket, SocketAddr)> {
    let socket = UdpSocket::bind(SocketAddr::new(ip, 0)).await?;
    let local = socket.local_addr()?;
    Ok((socket, local))
}

impl Peer {
    /// A peer that offers: own audio and video (if `publish`), and `slots`
    /// receive-only audio/video pairs (Haven's fixed slots).
    pub async fn offerer(
        ip: IpAddr,
        publish: bool,
        slots: usize,
    ) -> std::io::Result<(Self, String)> {
        let (socket, local) = bind(ip).await?;
        let mut rtc = new_rtc(local);
        let mut api = rtc.sdp_api();
        let mut send_mids = None;
        if publish {
            let a = api.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
            let v = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
            send_mids = Some((a, v));
        }
        let mut video_mids = Vec::new();
        for _ in 0..slots {
            api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
            video_mids.push(api.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None));
        }
        let (offer, pending) = api.apply().expect("an offer with media");
        let peer = Self {
            rtc,
            socket,
            local,
            pending: Some(pending),
            send_mids,
            audio_out: None,
            video_out: None,
            video_mids,
            timeout: Instant::now(),
        };
        Ok((peer, offer.to_sdp_string()))
    }

    /// A peer that answers someone else's offer (Janus subscribers).
    pub async fn answerer(ip: IpAddr, offer: &str) -> Result<(Self, String), String> {
        let (socket, local) = bind(ip).await.map_err(|e| e.to_string())?;
        let mut rtc = new_rtc(local);
        let offer = SdpOffer::from_sdp_string(offer).map_err(|e| e.to_string())?;
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| e.to_string())?;
        // Which offered m-lines are video (for classifying what arrives).
        let video_mids = mids_of_kind(&answer.to_sdp_string(), "video");
        let peer = Self {
            rtc,
            socket,
            local,
            pending: None,
            send_mids: None,
            audio_out: None,
            video_out: None,
            video_mids,
            timeout: Instant::now(),
        };
        Ok((peer, peer_answer(answer)))
    }

    /// Apply the answer to our offer.
    pub fn accept_answer(&mut self, answer: &str) -> Result<(), String> {
        let answer = SdpAnswer::from_sdp_string(answer).map_err(|e| e.to_string())?;
        let pending = self.pending.take().ok_or("no offer pending")?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| e.to_string())?;
        let pt = |rtc: &Rtc, c: Codec| {
            rtc.codec_config()
                .find(|p| p.spec().codec == c)
                .map(|p| p.pt())
        };
        if let (Some((a, v)), Some(opus), Some(vp8)) = (
            self.send_mids,
            pt(&self.rtc, Codec::Opus),
            pt(&self.rtc, Codec::Vp8),
        ) {
            self.audio_out = Some((a, opus));
            self.video_out = Some((v, vp8));
        }
        Ok(())
    }

    fn write(&mut self, now: Instant, out: (Mid, Pt), packet: OutPacket) {
        let mut api = self.rtc.direct_api();
        if let Some(tx) = api.stream_tx_by_mid(out.0, None) {
            let OutPacket {
                seq,
                time,
                payload,
                marker,
                nackable,
            } = packet;
            tx.write_rtp(
                RtpWrite::new(out.1, seq.into(), time, now, payload)
                    .marker(marker)
                    .nackable(nackable),
            );
        }
    }
}

fn peer_answer(answer: SdpAnswer) -> String {
    answer.to_sdp_string()
}

/// The mids of m-lines of `kind` in an SDP, in order.
pub fn mids_of_kind(sdp: &str, kind: &str) -> Vec<Mid> {
    let mut current = None;
    let mut mids = Vec::new();
    for line in sdp.lines() {
        if let Some(rest) = line.strip_prefix("m=") {
            current = rest.split_whitespace().next().map(str::to_owned);
        } else if let Some(mid) = line.trim_end().strip_prefix("a=mid:") {
            if current.as_deref() == Some(kind) {
                mids.push(Mid::from(mid));
            }
        }
    }
    mids
}

/// A participant: its peer connections, what it sends, what it measured.
pub struct Participant {
    pub id: u32,
    pub peers: Vec<Peer>,
    pub stats: ParticipantStats,
    plan: MediaPlan,
    epoch: Instant,
    /// When the offer went to the server (join time is measured from here).
    pub offered_at: Instant,
    next_audio: Instant,
    next_video: Instant,
    audio_seq: u64,
    video_seq: u64,
    frame: u64,
    last_key: Option<Instant>,
    force_key: bool,
}

impl Participant {
    pub fn new(id: u32, plan: MediaPlan, epoch: Instant) -> Self {
        let now = Instant::now();
        Self {
            id,
            peers: Vec::new(),
            stats: ParticipantStats::default(),
            plan,
            epoch,
            offered_at: now,
            next_audio: now,
            next_video: now,
            audio_seq: 1000,
            video_seq: 1000,
            frame: 0,
            last_key: None,
            force_key: false,
        }
    }

    /// Run until `until`, then return what was measured.
    pub async fn run(
        mut self,
        until: Instant,
        mut stop: tokio::sync::watch::Receiver<bool>,
    ) -> ParticipantStats {
        let mut buf = vec![0u8; 2000];
        for i in 0..self.peers.len() {
            self.drain(i, Instant::now());
        }
        loop {
            let now = Instant::now();
            if now >= until {
                break;
            }
            if now >= self.next_audio || now >= self.next_video {
                self.send_media(now);
            }
            let mut wake = self.next_audio.min(self.next_video).min(until);
            for p in &self.peers {
                wake = wake.min(p.timeout);
            }
            // One peer connection per participant task (Janus subscribers
            // run as participants of their own).
            let received = tokio::select! {
                r = self.peers[0].socket.recv_from(&mut buf) => r.ok().map(|(n, from)| (0, n, from)),
                _ = tokio::time::sleep_until(wake.into()) => None,
                _ = stop.changed() => break,
            };
            let now = Instant::now();
            if let Some((i, n, from)) = received {
                let local = self.peers[i].local;
                if let Ok(r) = Receive::new(Protocol::Udp, from, local, &buf[..n]) {
                    let _ = self.peers[i].rtc.handle_input(Input::Receive(now, r));
                    self.drain(i, now);
                }
            }
            for i in 0..self.peers.len() {
                if self.peers[i].timeout <= now {
                    let _ = self.peers[i].rtc.handle_input(Input::Timeout(now));
                    self.drain(i, now);
                }
            }
        }
        for p in &mut self.peers {
            p.rtc.disconnect();
        }
        self.stats
    }

    fn drain(&mut self, i: usize, now: Instant) {
        loop {
            let out = self.peers[i].rtc.poll_output();
            match out {
                Ok(Output::Timeout(t)) => {
                    self.peers[i].timeout = t;
                    return;
                }
                Ok(Output::Transmit(t)) => {
                    let _ = self.peers[i].socket.try_send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(e)) => self.on_event(i, now, e),
                Err(_) => {
                    self.peers[i].timeout = now + Duration::from_secs(3600);
                    return;
                }
            }
        }
    }

    fn on_event(&mut self, i: usize, now: Instant, e: Event) {
        match e {
            Event::Connected => self.stats.connected = true,
            Event::KeyframeRequest(_) => self.force_key = true,
            Event::RtpPacket(p) => {
                let peer = &mut self.peers[i];
                let mid = peer
                    .rtc
                    .direct_api()
                    .stream_rx(&p.header.ssrc)
                    .map(|s| s.mid());
                let video = mid.is_some_and(|m| peer.video_mids.contains(&m));
                let since_offer = now.saturating_duration_since(self.offered_at);
                if video {
                    self.stats.first_video.get_or_insert(since_offer);
                } else {
                    self.stats.first_audio.get_or_insert(since_offer);
                }
                let now_ns = now.saturating_duration_since(self.epoch).as_nanos() as u64;
                if now_ns
                    < self
                        .plan
                        .measure_from
                        .load(std::sync::atomic::Ordering::Relaxed)
                {
                    return;
                }
                let seq = *p.seq_no;
                let s = self
                    .stats
                    .streams
                    .entry((i, *p.header.ssrc))
                    .or_insert(StreamRx {
                        first: seq,
                        max: seq,
                        received: 0,
                        video,
                    });
                s.first = s.first.min(seq);
                s.max = s.max.max(seq);
                s.received += 1;
                if video {
                    if let Some((_, _, sent)) = parse_video(&p.payload) {
                        self.stats
                            .latency
                            .record(Duration::from_nanos(now_ns.saturating_sub(sent)));
                    }
                }
            }
            _ => {}
        }
    }

    fn send_media(&mut self, now: Instant) {
        let Some(i) = self.peers.iter().position(|p| p.audio_out.is_some()) else {
            self.next_audio = now + Duration::from_secs(3600);
            self.next_video = self.next_audio;
            return;
        };
        if !self.stats.connected {
            self.next_audio = now + Duration::from_millis(20);
            self.next_video = self.next_audio;
            return;
        }
        if now >= self.next_audio {
            self.next_audio += Duration::from_millis(20);
            if self.next_audio < now {
                self.next_audio = now + Duration::from_millis(20);
            }
            self.audio_seq += 1;
            let frame =
                self.plan.audio[(self.audio_seq % self.plan.audio.len() as u64) as usize].clone();
            let out = self.peers[i].audio_out.expect("publishing");
            let packet = OutPacket {
                seq: self.audio_seq,
                time: (self.audio_seq * 960) as u32,
                payload: frame,
                marker: true,
                nackable: false,
            };
            self.peers[i].write(now, out, packet);
            self.stats.sent_packets += 1;
            self.drain(i, now);
        }
        if now >= self.next_video {
            let interval = Duration::from_secs(1) / self.plan.fps.max(1);
            self.next_video += interval;
            if self.next_video < now {
                self.next_video = now + interval;
            }
            self.frame += 1;
            let key = self.force_key
                || self
                    .last_key
                    .is_none_or(|t| now >= t + self.plan.keyframe_every);
            if key {
                self.force_key = false;
                self.last_key = Some(now);
            }
            let bytes = (self.plan.video_bps / 8 / self.plan.fps.max(1)) as usize;
            let packets = video_frame(
                self.id,
                self.video_seq,
                self.epoch,
                key,
                if key { bytes * 3 } else { bytes },
            );
            let count = packets.len();
            let out = self.peers[i].video_out.expect("publishing");
            for (k, payload) in packets.into_iter().enumerate() {
                self.video_seq += 1;
                let packet = OutPacket {
                    seq: self.video_seq,
                    time: (self.frame * 3000) as u32,
                    payload,
                    marker: k + 1 == count,
                    nackable: true,
                };
                self.peers[i].write(now, out, packet);
                self.stats.sent_packets += 1;
            }
            self.drain(i, now);
        }
    }
}
