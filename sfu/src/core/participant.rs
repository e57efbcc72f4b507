//! One participant's peer connection: a str0m `Rtc`, what it publishes, and
//! the receive slots it offered.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::format::Codec;
use str0m::media::{Direction, MediaKind, Mid, Pt, Rid};
use str0m::rtp::Ssrc;
use str0m::{Event, Output as RtcOutput, Rtc};

mod downlink;
mod negotiated;
mod send;

pub use send::{SlotPacket, SlotSend};

use super::congestion::DownlinkSignals;
use super::dynacast::SentLayers;
use super::governor::LayerGovernor;
use super::keyframe::{KeyframeCause, KeyframeThrottle, RecentPacket, Stragglers};
use super::layers::{Layer, LayerRates, LAYERS};
use super::probing::Prober;
use super::protection::{LossProtection, RedHistory, Redundancy};
use super::rewrite::SlotRewriter;
use super::stats::StreamStats;
use super::Output;
use crate::ids::{ParticipantId, PublishPermission, SlotIndex, TileView};

/// A fixed pair of m-lines (audio + video) on which the participant receives
/// one remote participant: this connection's side of it. Whom it carries and
/// at which layer is the room's forwarding table (`table.rs`).
#[derive(Debug)]
pub struct Slot {
    audio_mid: Option<Mid>,
    video_mid: Option<Mid>,
    audio: SlotRewriter,
    video: SlotRewriter,
    /// Frames just sent on the audio m-line, repeated when it is protected.
    red: RedHistory,
}

/// Which published stream an incoming SSRC carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Source {
    pub kind: MediaKind,
    /// The simulcast layer; `None` for audio and for single-stream video.
    pub layer: Option<Layer>,
}

/// A codec as negotiated on one side, with what makes two payloads compatible.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodecKey {
    pub codec: Codec,
    /// H.264 packetization mode; payloads of different modes are not interchangeable.
    pub packetization_mode: Option<u8>,
}

/// Where the core sends what a participant's `Rtc` produces.
#[derive(Default)]
pub struct Outbox {
    pub queue: VecDeque<Output>,
    /// Addresses that passed ICE (str0m answered them), to route non-STUN by.
    pub verified: Vec<(SocketAddr, ParticipantId)>,
}

/// One participant in one room.
pub struct Participant {
    pub id: ParticipantId,
    rtc: Rtc,
    ufrag: String,
    publish: PublishPermission,
    /// Addresses verified for this participant (usually one).
    addrs: Vec<SocketAddr>,
    /// The m-lines on which the participant sends us its microphone and camera.
    audio_in: Option<Mid>,
    video_in: Option<Mid>,
    /// Incoming SSRC → what it carries, learnt on first packet (a handful
    /// of entries).
    sources: Vec<(Ssrc, Source)>,
    /// The RTP stream id of each simulcast layer this participant sends.
    layer_rids: [Option<Rid>; LAYERS],
    /// Measured bitrate of each published video layer.
    rates: LayerRates,
    /// Which of its layers Haven asked it to send (`dynacast`).
    sent: SentLayers,
    /// Its latest video packets, for slots that start on a keyframe.
    stragglers: Stragglers,
    /// Layers a keyframe was asked for since the last request went out
    /// (bit per layer; `ALL_LAYERS` for every one).
    keyframe_layers: u8,
    /// The downlink estimate (bit/s); none yet (see `allocation`).
    estimate: Option<u64>,
    /// Loss and queueing on its downlink.
    downlink: DownlinkSignals,
    /// Which layer each of its slots receives.
    governor: LayerGovernor,
    /// What its estimator is told to look for.
    prober: Prober,
    /// Whether it was last told it gets audio only.
    audio_only: bool,
    /// What its page shows of its slots, once it said.
    view: Option<TileView>,
    /// Incoming payload type → codec of what this participant publishes.
    codecs_in: Vec<(Pt, CodecKey)>,
    /// Codec → payload type this participant accepts on its receive slots.
    codecs_out_audio: Vec<(CodecKey, Pt)>,
    codecs_out_video: Vec<(CodecKey, Pt)>,
    /// The RED payload type folded on the Opus this participant publishes,
    /// if it offered one (its RED is unwrapped to plain Opus).
    red_in: Option<Pt>,
    /// The RED payload type this participant accepts on its audio slots.
    red_out: Option<Pt>,
    /// Whether its audio slots carry redundancy (from its downlink loss).
    protection: LossProtection,
    /// The deepest redundancy its link can carry (`allocation`).
    red_cap: Redundancy,
    slots: Vec<Slot>,
    /// Publishers this participant chose not to receive.
    unsubscribed: Vec<ParticipantId>,
    keyframes: KeyframeThrottle,
    next_timeout: Instant,
    connected: bool,
    /// When the participant joined, until both first packets were sent to it.
    joined_at: Instant,
    sent_audio: bool,
    sent_video: bool,
    stats: StreamStats,
}

impl Participant {
    pub fn new(
        id: ParticipantId,
        rtc: Rtc,
        ufrag: String,
        kf: KeyframeThrottle,
        audio_protection: bool,
        now: Instant,
    ) -> Self {
        Self {
            id,
            rtc,
            ufrag,
            publish: PublishPermission::ALL,
            addrs: Vec::new(),
            audio_in: None,
            video_in: None,
            sources: Vec::new(),
            layer_rids: [None; LAYERS],
            rates: LayerRates::default(),
            sent: SentLayers::default(),
            stragglers: Stragglers::default(),
            keyframe_layers: 0,
            estimate: None,
            downlink: DownlinkSignals::default(),
            view: None,
            prober: Prober::default(),
            governor: LayerGovernor::default(),
            audio_only: false,
            codecs_in: Vec::new(),
            codecs_out_audio: Vec::new(),
            codecs_out_video: Vec::new(),
            red_in: None,
            red_out: None,
            protection: LossProtection::new(audio_protection),
            red_cap: Redundancy::Two,
            slots: Vec::new(),
            unsubscribed: Vec::new(),
            keyframes: kf,
            next_timeout: now,
            connected: false,
            joined_at: now,
            sent_audio: false,
            sent_video: false,
            stats: StreamStats::default(),
        }
    }

    /// Drain the `Rtc` completely (str0m requires it after every mutation):
    /// transmits go to the outbox, events are returned for the room to handle.
    pub fn drain(&mut self, outbox: &mut Outbox, events: &mut VecDeque<(ParticipantId, Event)>) {
        loop {
            match self.rtc.poll_output() {
                Ok(RtcOutput::Timeout(t)) => {
                    self.next_timeout = t;
                    return;
                }
                Ok(RtcOutput::Transmit(t)) => {
                    if !self.addrs.contains(&t.destination) {
                        // An ICE-lite agent only ever answers connectivity checks
                        // whose MESSAGE-INTEGRITY matched this participant's
                        // password, so a destination it picks is verified.
                        self.addrs.push(t.destination);
                        outbox.verified.push((t.destination, self.id));
                    }
                    outbox.queue.push_back(Output::Transmit(t));
                }
                Ok(RtcOutput::Event(e)) => events.push_back((self.id, e)),
                // str0m's error texts can quote addresses: log the fact only.
                Err(_) => {
                    tracing::debug!(participant = %self.id, "peer connection failed");
                    self.rtc.disconnect();
                    self.next_timeout = far_future(self.next_timeout);
                    return;
                }
            }
        }
    }

    /// The first packet of a kind was just sent to this participant: how
    /// long it waited since joining (once per kind).
    pub fn first_packet(&mut self, video: bool, now: Instant) -> Option<Duration> {
        let sent = if video {
            &mut self.sent_video
        } else {
            &mut self.sent_audio
        };
        if *sent {
            return None;
        }
        *sent = true;
        Some(now.saturating_duration_since(self.joined_at))
    }

    /// Allow or stop what it publishes; returns what it was allowed before.
    pub fn set_permission(&mut self, permission: PublishPermission) -> PublishPermission {
        std::mem::replace(&mut self.publish, permission)
    }

    /// What the core must forget of it once it has left: its ICE username
    /// fragment and the addresses it was reached at.
    pub fn into_routes(self) -> (String, Vec<SocketAddr>) {
        (self.ufrag, self.addrs)
    }

    /// Hand its connection a datagram or a timeout. str0m's error texts can
    /// quote addresses, so only the fact is returned.
    pub fn handle_input(&mut self, input: str0m::Input) -> Result<(), ()> {
        self.rtc.handle_input(input).map_err(|_| ())
    }

    /// When its connection next needs a timeout.
    pub fn next_timeout(&self) -> Instant {
        self.next_timeout
    }

    /// When a keyframe request the throttle deferred will be due.
    pub fn keyframe_due(&self) -> Option<Instant> {
        self.keyframes.due()
    }

    /// Close its connection (it left or was removed).
    pub fn close(&mut self) {
        self.rtc.disconnect();
    }

    /// The kind and direction of one of its negotiated m-lines.
    pub fn media_of(&self, mid: Mid) -> Option<(MediaKind, Direction)> {
        self.rtc.media(mid).map(|m| (m.kind(), m.direction()))
    }

    /// Whether media of `kind` from it may reach the room.
    pub fn permits(&self, kind: MediaKind) -> bool {
        match kind {
            MediaKind::Audio => self.publish.audio,
            MediaKind::Video => self.publish.video,
        }
    }

    /// The codec of an incoming payload type (its RED counts as Opus).
    pub fn codec_of(&self, pt: Pt) -> Option<CodecKey> {
        self.codecs_in
            .iter()
            .find(|(p, _)| *p == pt)
            .map(|(_, c)| *c)
    }

    /// Whether an incoming payload type is the RED folded on its Opus.
    pub fn sends_red(&self, pt: Pt) -> bool {
        self.red_in == Some(pt)
    }

    /// One of its video packets arrived: its layer's rate is measured and
    /// the packet kept for a slot that may start on this keyframe. Returns
    /// the packets of a keyframe that overtook its first one.
    pub fn note_video(
        &mut self,
        now: Instant,
        packet: RecentPacket,
        keyframe: bool,
    ) -> Vec<RecentPacket> {
        self.rates.record(now, packet.layer, packet.payload.len());
        self.stragglers.note(packet, keyframe)
    }

    /// Bitrate of each of its video layers (none while stopped): measured,
    /// or as before for a layer Haven paused (it can be asked back).
    pub fn video_rates(&self, now: Instant) -> [u64; LAYERS] {
        if self.publish.video {
            self.sent.rates(now, self.rates.bps(now))
        } else {
            [0; LAYERS]
        }
    }

    /// Which of its layers to send, given those some slot keeps; `Some`
    /// when that changed (its page is told).
    pub fn decide_sent_layers(
        &mut self,
        now: Instant,
        kept: [bool; LAYERS],
    ) -> Option<[bool; LAYERS]> {
        if !self.publish.video {
            return None;
        }
        self.sent.decide(now, self.rates.bps(now), kept)
    }

    /// The payload type its receive slots take for `codec`.
    pub fn payload_type_for(&self, kind: MediaKind, codec: CodecKey) -> Option<Pt> {
        let table = match kind {
            MediaKind::Audio => &self.codecs_out_audio,
            MediaKind::Video => &self.codecs_out_video,
        };
        table.iter().find(|(c, _)| *c == codec).map(|(_, pt)| *pt)
    }

    /// How its audio slots are protected now: RED's payload type and depth,
    /// or none (a clean link, a client without RED, or no room for it).
    pub fn audio_redundancy(&self) -> Option<(Pt, Redundancy)> {
        let level = self.protection.redundancy().min(self.red_cap);
        self.red_out
            .filter(|_| level != Redundancy::Off)
            .map(|pt| (pt, level))
    }

    /// Its connection is up.
    pub fn mark_connected(&mut self) {
        self.connected = true;
    }

    /// What its page shows of its slots, once it said.
    pub fn view(&self) -> Option<&TileView> {
        self.view.as_ref()
    }

    /// Its page said what it shows.
    pub fn set_view(&mut self, view: TileView) {
        self.view = Some(view);
    }

    /// Whether it chose to receive `publisher` (everyone, by default).
    pub fn wants(&self, publisher: ParticipantId) -> bool {
        !self.unsubscribed.contains(&publisher)
    }

    /// Its choice about receiving `publisher`.
    pub fn choose(&mut self, publisher: ParticipantId, receive: bool) {
        self.unsubscribed.retain(|p| *p != publisher);
        if !receive {
            self.unsubscribed.push(publisher);
        }
    }

    /// Statistics of what it sent to us (loss upstream: not repairable on
    /// a subscriber's link) and what we sent it.
    pub fn stats(&self) -> &StreamStats {
        &self.stats
    }

    /// The loss last measured on its microphone's stream towards us.
    pub fn upstream_audio_loss(&self) -> Option<f32> {
        self.stats.loss_of(self.audio_in?)
    }

    /// str0m's latest counts of an incoming stream.
    pub fn observe_ingress(&mut self, mid: Mid, nacks: u64, loss: Option<f32>) {
        self.stats.ingress(mid, nacks, loss);
    }

    /// The audio slot whose m-line is `mid`.
    pub fn audio_slot_by_mid(&self, mid: Mid) -> Option<usize> {
        self.slots.iter().position(|s| s.audio_mid == Some(mid))
    }

    /// The slot that owns this outgoing mid.
    pub fn slot_by_mid(&self, mid: Mid) -> Option<usize> {
        self.slots
            .iter()
            .position(|s| s.audio_mid == Some(mid) || s.video_mid == Some(mid))
    }

    /// How many receive slots it offered.
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    /// The audio and video m-lines of slot `idx`.
    pub fn slot_mids(&self, idx: usize) -> (Option<Mid>, Option<Mid>) {
        self.slots
            .get(idx)
            .map_or((None, None), |s| (s.audio_mid, s.video_mid))
    }

    /// Whether slot `idx` has both m-lines (the client offered enough).
    pub fn slot_usable(&self, idx: usize) -> bool {
        self.slots
            .get(idx)
            .is_some_and(|s| s.audio_mid.is_some() && s.video_mid.is_some())
    }

    /// Slot `idx` changed hands: its streams restart, its layer choice and
    /// its redundancy history start afresh.
    pub fn restart_slot(&mut self, idx: usize) -> SlotIndex {
        if let Some(slot) = self.slots.get_mut(idx) {
            slot.audio.restart();
            slot.video.restart();
            slot.red.clear();
        }
        self.governor.forget(idx);
        SlotIndex(idx as u8)
    }

    /// What slot `idx` carries of one kind resumes after a gap (the
    /// publisher was stopped): the stream restarts on the next packet.
    pub fn restart_stream(&mut self, idx: usize, kind: MediaKind) {
        if let Some(slot) = self.slots.get_mut(idx) {
            match kind {
                MediaKind::Audio => slot.audio.restart(),
                MediaKind::Video => slot.video.restart(),
            }
        }
    }

    /// Ask this participant (as a publisher) for a keyframe of a layer
    /// (`None`: of every layer) for a cause, throttled: requests from all
    /// subscribers within the throttle's interval go out together, once.
    /// `ask: None` sends a deferred request if its time has come.
    pub fn request_keyframe(
        &mut self,
        now: Instant,
        ask: Option<(Option<Layer>, KeyframeCause)>,
    ) -> bool {
        let go = match ask {
            None => self.keyframes.poll(now),
            Some((layer, cause)) => {
                self.keyframe_layers |= layer.map_or(ALL_LAYERS, |l| 1 << l.0);
                self.keyframes.request(now, cause)
            }
        };
        if !go {
            return false;
        }
        let wanted = std::mem::take(&mut self.keyframe_layers);
        let Some(mid) = self.video_in else {
            return false;
        };
        let rids = self.layer_rids;
        let mut api = self.rtc.direct_api();
        let pli = |rx: Option<&mut str0m::rtp::StreamRx>| {
            rx.map(|rx| rx.request_keyframe(str0m::media::KeyframeRequestKind::Pli))
                .is_some()
        };
        if rids.iter().all(Option::is_none) {
            return pli(api.stream_rx_by_mid(mid, None));
        }
        let mut sent = false;
        for (i, rid) in rids.iter().enumerate() {
            if let Some(rid) = rid {
                if wanted & (1 << i) != 0 {
                    sent |= pli(api.stream_rx_by_mid(mid, Some(*rid)));
                }
            }
        }
        sent
    }
}

/// `keyframe_layers` value asking for every layer.
const ALL_LAYERS: u8 = (1 << LAYERS) - 1;

/// A time so far away that it never wins a `min`.
pub fn far_future(now: Instant) -> Instant {
    now + Duration::from_secs(3600 * 24 * 365)
}
