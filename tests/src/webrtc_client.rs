//! A member's client built on webrtc-rs: an implementation of WebRTC that
//! shares no code with the SFU (which is str0m), so a passing test shows
//! interoperability, not one library agreeing with itself.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rtc::interceptor::Registry;
use rtc::media::Sample;
use rtc::media_stream::MediaStreamTrack;
use rtc::peer_connection::configuration::interceptor_registry::register_default_interceptors;
use rtc::peer_connection::configuration::media_engine::{
    MediaEngine, MIME_TYPE_OPUS, MIME_TYPE_VP8,
};
use rtc::peer_connection::configuration::setting_engine::SettingEngineBuilder;
pub use rtc::peer_connection::configuration::RTCIceServer;
use rtc::peer_connection::configuration::{RTCConfigurationBuilder, RTCIceTransportPolicy};
use rtc::peer_connection::sdp::RTCSessionDescription;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RtpCodecKind,
};
use rtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::media_stream::Track;
use webrtc::peer_connection::{
    PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler, RTCIceGatheringState,
    RTCPeerConnectionState,
};
use webrtc::runtime::{default_runtime, Runtime};

use crate::tone::{self, Tone};

/// What one client learnt about the audio and video it received.
#[derive(Default, Debug)]
pub struct Received {
    /// Per incoming audio track (by SSRC): the tone recognised in it, if any.
    pub tones: BTreeMap<u32, Option<f32>>,
    /// Per incoming audio track: decoded samples (the last second only).
    pcm: BTreeMap<u32, Vec<i16>>,
    /// Per incoming audio track (by SSRC): packets received.
    pub audio_packets: BTreeMap<u32, u64>,
    /// Per incoming video track (by SSRC): packets received.
    pub video_packets: BTreeMap<u32, u64>,
    /// Packets that failed to decode as Opus.
    pub decode_errors: u64,
    /// The first bytes seen of audio payloads (an Opus stream's TOC byte
    /// hardly changes; encrypted payloads start with any byte).
    pub audio_first_bytes: std::collections::BTreeSet<u8>,
    /// Video frames received (packets with the marker bit: a frame's last).
    pub video_frames: u64,
    /// Of those, frames ending in Haven's end-to-end trailer: a clear
    /// length of 3 or 10 fourteen bytes from the end.
    pub video_frames_sealed: u64,
    /// The m-line (mid) each incoming SSRC arrived on, from the track ids
    /// the SFU's answer gives each m-line (`a=msid`).
    pub mid_of_ssrc: BTreeMap<u32, String>,
    /// Track id → mid, read from the answer before any track arrives.
    mid_of_track: BTreeMap<String, String>,
}

impl Received {
    /// The tone recognised on m-line `mid`, if any.
    pub fn tone_on_mid(&self, mid: &str) -> Option<f32> {
        self.mid_of_ssrc
            .iter()
            .filter(|(_, m)| m.as_str() == mid)
            .find_map(|(ssrc, _)| self.tones.get(ssrc).copied().flatten())
    }
}

/// Track id → mid for every m-section of an SDP that names its track.
fn tracks_by_mid(sdp: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let (mut mid, mut track) = (None::<String>, None::<String>);
    let mut flush = |mid: &mut Option<String>, track: &mut Option<String>| {
        if let (Some(m), Some(t)) = (mid.take(), track.take()) {
            out.insert(t, m);
        }
    };
    for line in sdp.lines() {
        if line.starts_with("m=") {
            flush(&mut mid, &mut track);
        } else if let Some(m) = line.strip_prefix("a=mid:") {
            mid = Some(m.trim().to_owned());
        } else if let Some(ms) = line.strip_prefix("a=msid:") {
            track = ms.split_whitespace().nth(1).map(str::to_owned);
        }
    }
    flush(&mut mid, &mut track);
    out
}

struct Handler {
    runtime: Arc<dyn Runtime>,
    gathered: tokio::sync::mpsc::Sender<()>,
    connected: tokio::sync::mpsc::Sender<()>,
    received: Arc<Mutex<Received>>,
    candidates: Vec<f32>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            let _ = self.gathered.try_send(());
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        if state == RTCPeerConnectionState::Connected {
            let _ = self.connected.try_send(());
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let kind = track.kind().await;
        let track_id = track.track_id().await.to_string();
        let received = self.received.clone();
        let candidates = self.candidates.clone();
        self.runtime.spawn(Box::pin(async move {
            let mut decoder =
                opus::Decoder::new(tone::RATE, opus::Channels::Mono).expect("opus decoder");
            let mut pcm = vec![0i16; 5760];
            while let Some(event) = track.poll().await {
                let TrackRemoteEvent::OnRtpPacket(packet) = event else {
                    continue;
                };
                let ssrc = packet.header.ssrc;
                let mut r = received.lock().unwrap();
                if !r.mid_of_ssrc.contains_key(&ssrc) {
                    if let Some(mid) = r.mid_of_track.get(&track_id).cloned() {
                        r.mid_of_ssrc.insert(ssrc, mid);
                    }
                }
                if kind == RtpCodecKind::Video {
                    *r.video_packets.entry(ssrc).or_default() += 1;
                    if packet.header.marker {
                        r.video_frames += 1;
                        let p = &packet.payload;
                        if p.len() > 14 && matches!(p[p.len() - 14], 3 | 10) {
                            r.video_frames_sealed += 1;
                        }
                    }
                    continue;
                }
                *r.audio_packets.entry(ssrc).or_default() += 1;
                if let Some(first) = packet.payload.first() {
                    r.audio_first_bytes.insert(*first);
                }
                match decoder.decode(&packet.payload, &mut pcm, false) {
                    Ok(n) => {
                        let buf = r.pcm.entry(ssrc).or_default();
                        buf.extend_from_slice(&pcm[..n]);
                        let keep = tone::RATE as usize;
                        if buf.len() > keep {
                            buf.drain(..buf.len() - keep);
                        }
                        let found = (buf.len() >= keep / 2)
                            .then(|| tone::dominant(buf, &candidates))
                            .flatten();
                        r.tones.insert(ssrc, found);
                    }
                    Err(_) => r.decode_errors += 1,
                }
            }
        }));
    }
}

impl Received {
    /// The incoming audio track (SSRC) that carries `tone`, if one does.
    pub fn track_with_tone(&self, tone: f32) -> Option<u32> {
        self.tones
            .iter()
            .find(|(_, t)| **t == Some(tone))
            .map(|(ssrc, _)| *ssrc)
    }
}

/// A connected client that publishes a tone and a video stream.
pub struct ToneClient {
    pub pc: Arc<dyn PeerConnection>,
    pub received: Arc<Mutex<Received>>,
    offer: Option<String>,
    connected: tokio::sync::mpsc::Receiver<()>,
    audio: Arc<TrackLocalStaticSample>,
    video: Arc<TrackLocalStaticSample>,
    audio_pt: u8,
    video_pt: u8,
}

fn opus_codec() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_OPUS.to_owned(),
            clock_rate: 48000,
            channels: 2,
            sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
            rtcp_feedback: vec![],
        },
        payload_type: 111,
    }
}

fn vp8_codec() -> RTCRtpCodecParameters {
    RTCRtpCodecParameters {
        rtp_codec: RTCRtpCodec {
            mime_type: MIME_TYPE_VP8.to_owned(),
            clock_rate: 90000,
            channels: 0,
            sdp_fmtp_line: String::new(),
            rtcp_feedback: vec![],
        },
        payload_type: 96,
    }
}

fn local_track(
    kind: RtpCodecKind,
    codec: &RTCRtpCodecParameters,
    ssrc: u32,
    name: &str,
) -> Arc<TrackLocalStaticSample> {
    Arc::new(
        TrackLocalStaticSample::new(
            Instant::now(),
            MediaStreamTrack::new(
                format!("{name}-stream"),
                format!("{name}-{kind}"),
                format!("{name}-{kind}"),
                kind,
                vec![RTCRtpEncodingParameters {
                    rtp_coding_parameters: RTCRtpCodingParameters {
                        ssrc: Some(ssrc),
                        ..Default::default()
                    },
                    codec: codec.rtp_codec.clone(),
                    ..Default::default()
                }],
            ),
        )
        .expect("local track"),
    )
}

impl ToneClient {
    /// Build the peer connection and its offer: own audio + video, and
    /// `slots` receive-only audio/video pairs.
    pub async fn new(index: u32, slots: usize, candidates: Vec<f32>) -> Self {
        Self::with_ice(index, slots, candidates, Vec::new(), false).await
    }

    /// As [`ToneClient::new`], with ICE servers; `relay_only` uses nothing
    /// but TURN relays, as a member behind a firewall that blocks UDP to the
    /// server would have to.
    pub async fn with_ice(
        index: u32,
        slots: usize,
        candidates: Vec<f32>,
        ice_servers: Vec<RTCIceServer>,
        relay_only: bool,
    ) -> Self {
        let policy = if relay_only {
            RTCIceTransportPolicy::Relay
        } else {
            RTCIceTransportPolicy::All
        };
        let configuration = RTCConfigurationBuilder::new()
            .with_ice_servers(ice_servers)
            .with_ice_transport_policy(policy)
            .build();
        let mut media = MediaEngine::default();
        media
            .register_codec(opus_codec(), RtpCodecKind::Audio)
            .unwrap();
        media
            .register_codec(vp8_codec(), RtpCodecKind::Video)
            .unwrap();
        let registry = register_default_interceptors(Registry::new(), &mut media).unwrap();
        // No mDNS: the SFU needs none, and a loopback-only network namespace
        // (the browser tests) has no multicast route for it.
        let settings = SettingEngineBuilder::new()
            .with_include_loopback_candidate(true)
            .with_multicast_dns_mode(rtc::ice::mdns::MulticastDnsMode::Disabled)
            .build();
        let runtime = default_runtime().expect("tokio runtime");
        let (gathered_tx, mut gathered) = tokio::sync::mpsc::channel(1);
        let (connected_tx, connected) = tokio::sync::mpsc::channel(1);
        let received = Arc::new(Mutex::new(Received::default()));
        let handler = Arc::new(Handler {
            runtime: runtime.clone(),
            gathered: gathered_tx,
            connected: connected_tx,
            received: received.clone(),
            candidates,
        });
        let pc = PeerConnectionBuilder::new()
            .with_configuration(configuration)
            .with_media_engine(media)
            .with_setting_engine(settings)
            .with_interceptor_registry(registry)
            .with_handler(handler)
            .with_runtime(runtime)
            .with_udp_addrs(vec!["127.0.0.1:0".to_string()])
            .build()
            .await
            .expect("peer connection");
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);

        let name = format!("client{index}");
        let audio = local_track(RtpCodecKind::Audio, &opus_codec(), 1000 + index, &name);
        let video = local_track(RtpCodecKind::Video, &vp8_codec(), 2000 + index, &name);
        let audio_sender = pc
            .add_track(audio.clone() as Arc<dyn TrackLocal>)
            .await
            .unwrap();
        let video_sender = pc
            .add_track(video.clone() as Arc<dyn TrackLocal>)
            .await
            .unwrap();
        for _ in 0..slots {
            for kind in [RtpCodecKind::Audio, RtpCodecKind::Video] {
                let init = RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Recvonly,
                    streams: vec![],
                    send_encodings: vec![],
                };
                pc.add_transceiver_from_kind(kind, Some(init))
                    .await
                    .unwrap();
            }
        }
        let offer = pc.create_offer(None).await.unwrap();
        pc.set_local_description(offer).await.unwrap();
        let _ = tokio::time::timeout(Duration::from_secs(5), gathered.recv()).await;
        let offer = pc.local_description().await.expect("local description").sdp;

        let pt = |params: rtc::rtp_transceiver::rtp_sender::RTCRtpSendParameters| {
            params
                .rtp_parameters
                .codecs
                .first()
                .map_or(0, |c| c.payload_type)
        };
        let audio_pt = pt(audio_sender.get_parameters().await.unwrap());
        let video_pt = pt(video_sender.get_parameters().await.unwrap());
        Self {
            pc,
            received,
            offer: Some(offer),
            connected,
            audio,
            video,
            audio_pt,
            video_pt,
        }
    }

    /// The SDP offer, to look at (before it is taken).
    pub fn offer_text(&self) -> &str {
        self.offer.as_deref().unwrap_or_default()
    }

    /// The SDP offer to hand to the SFU (once).
    pub fn take_offer(&mut self) -> String {
        self.offer.take().expect("one offer")
    }

    /// Apply the SFU's answer and wait until connected. The wait is long
    /// because nine of these handshake at once next to three Chromium pages
    /// on a two-core CI machine (10 s once proved too short there).
    pub async fn accept_answer(&mut self, answer: String) {
        self.received.lock().unwrap().mid_of_track = tracks_by_mid(&answer);
        let answer = RTCSessionDescription::answer(answer).expect("answer");
        self.pc
            .set_remote_description(answer)
            .await
            .expect("answer accepted");
        tokio::time::timeout(Duration::from_secs(30), self.connected.recv())
            .await
            .expect("connected within 30 s");
    }

    /// Publish the tone and a VP8-shaped video stream until `stop` is set.
    pub fn spawn_media(
        &self,
        freq: f32,
        stop: Arc<std::sync::atomic::AtomicBool>,
    ) -> tokio::task::JoinHandle<()> {
        let (audio, video) = (self.audio.clone(), self.video.clone());
        let (audio_pt, video_pt) = (self.audio_pt, self.video_pt);
        tokio::spawn(async move {
            let mut encoder =
                opus::Encoder::new(tone::RATE, opus::Channels::Mono, opus::Application::Voip)
                    .unwrap();
            let mut tone = Tone::new(freq);
            let audio_ssrc = *audio.ssrcs().await.first().unwrap();
            let video_ssrc = *video.ssrcs().await.first().unwrap();
            let mut tick = tokio::time::interval(Duration::from_millis(20));
            let mut frame_no = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tick.tick().await;
                let packet = encoder.encode_vec(&tone.next_frame(), 1500).unwrap();
                let sample = Sample {
                    data: Bytes::from(packet),
                    duration: Duration::from_millis(20),
                    ..Sample::new(Instant::now())
                };
                let _ = audio
                    .sample_writer(audio_ssrc, audio_pt)
                    .write_sample(&sample)
                    .await;
                // 25 fps of VP8-shaped frames: a keyframe each second (VP8
                // frame tag bit 0 clear), delta frames otherwise.
                if frame_no.is_multiple_of(2) {
                    let key = frame_no.is_multiple_of(50);
                    let mut data =
                        vec![if key { 0x10 } else { 0x11 }, 0x02, 0x00, 0x9d, 0x01, 0x2a];
                    data.resize(if key { 6000 } else { 1200 }, 0x42);
                    let sample = Sample {
                        data: Bytes::from(data),
                        duration: Duration::from_millis(40),
                        ..Sample::new(Instant::now())
                    };
                    let _ = video
                        .sample_writer(video_ssrc, video_pt)
                        .write_sample(&sample)
                        .await;
                }
                frame_no += 1;
            }
        })
    }
}
