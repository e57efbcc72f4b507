//! The sans-IO media plane: rooms → participants → one `str0m::Rtc` each.
//!
//! Like str0m itself, the core never reads the clock, opens a socket or
//! spawns: time comes in with every call, datagrams come in through
//! [`SfuCore::handle_input`], and everything that must happen next comes out
//! of [`SfuCore::poll_output`]. The IO shell (`crate::io`) and the simulated
//! network of the tests drive it the same way.
//!
//! Routing: one UDP port serves everyone. STUN is routed by the local ICE
//! ufrag in its USERNAME (str0m then checks MESSAGE-INTEGRITY); every other
//! datagram only by a source address that passed ICE for that participant.

mod allocation;
mod answer;
mod congestion;
mod demux;
mod dynacast;
mod error;
mod governor;
pub mod keyframe;
mod layers;
mod participant;
mod probing;
mod protection;
mod rewrite;
mod room;
mod speaker;
mod stats;
mod table;
mod types;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Instant;

use str0m::change::SdpOffer;
use str0m::media::MediaKind;
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Rtc, RtcConfig};

pub use demux::{classify, stun_local_ufrag, DatagramKind};
pub use error::CoreError;
pub use room::ForwardCounters;
pub use types::{
    CoreConfig, CoreCounters, EstimateHistogram, Footprint, Histogram, Input, MediaEvent, Output,
    Route, ESTIMATE_BUCKETS_KBPS, JOIN_BUCKETS_MS,
};

use keyframe::KeyframeThrottle;
use layers::Layer;
use participant::{far_future, Outbox, Participant};
use room::Room;

use crate::ids::{ParticipantId, PublishPermission, RoomId, TileView};

/// The media plane's sans-IO core. See the module documentation.
pub struct SfuCore {
    config: CoreConfig,
    rooms: HashMap<RoomId, Room>,
    room_of: HashMap<ParticipantId, RoomId>,
    by_ufrag: HashMap<String, ParticipantId>,
    by_addr: HashMap<SocketAddr, ParticipantId>,
    outbox: Outbox,
    next_speaker_tick: Option<Instant>,
    counters: CoreCounters,
    retired: ForwardCounters,
    /// The latest time any call brought in; the core has no clock of its own.
    last_now: Instant,
}

impl SfuCore {
    /// An empty media plane, starting at `start`.
    pub fn new(config: CoreConfig, start: Instant) -> Self {
        Self {
            config,
            rooms: HashMap::new(),
            room_of: HashMap::new(),
            by_ufrag: HashMap::new(),
            by_addr: HashMap::new(),
            outbox: Outbox::default(),
            next_speaker_tick: None,
            counters: CoreCounters::default(),
            retired: ForwardCounters::default(),
            last_now: start,
        }
    }

    /// Add a participant from its SDP offer; returns the SDP answer.
    ///
    /// The offer's first sending audio and video m-lines are what the
    /// participant publishes; each receive-only audio/video pair is one slot
    /// on which it will receive one other participant (see `docs/media.md`).
    pub fn add_participant(
        &mut self,
        now: Instant,
        room_id: RoomId,
        id: ParticipantId,
        offer: &str,
    ) -> Result<String, CoreError> {
        self.last_now = self.last_now.max(now);
        if self.room_of.contains_key(&id) {
            return Err(CoreError::DuplicateParticipant(id));
        }
        if self
            .rooms
            .get(&room_id)
            .is_some_and(|r| r.participants.len() >= self.config.max_participants_per_room)
        {
            return Err(CoreError::RoomFull(room_id));
        }
        let offer = SdpOffer::from_sdp_string(offer)
            .map_err(|_| CoreError::BadOffer("not a valid SDP offer".into()))?;
        let mut rtc = self.new_rtc(now);
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| CoreError::BadOffer(offer_error_kind(&e)))?;
        let answer = answer::publish_plain_opus(&answer.to_sdp_string());
        let ufrag = rtc.direct_api().local_ice_credentials().ufrag;
        let kf = KeyframeThrottle::new(
            self.config.keyframe_min_interval,
            self.config.keyframe_repair_interval,
        );
        let mut participant = Participant::new(
            id,
            rtc,
            ufrag.clone(),
            kf,
            self.config.audio_protection,
            now,
        );
        // The m-lines in offer order, as negotiated (our answer lists them all).
        for mid in answer::answer_mids(&answer) {
            if let Some((kind, direction)) = participant.media_of(mid) {
                participant.learn_media(mid, kind, direction);
            }
        }
        participant.learn_codecs();

        let room = self
            .rooms
            .entry(room_id)
            .or_insert_with(|| Room::new(room_id));
        room.admit(participant);
        room.process(now, id, &mut self.outbox);
        room.assign_slots(id, &mut self.outbox);
        // A new tile starts on the lowest layer (see `LayerGovernor::choice`):
        // everyone the newcomer now receives should send a keyframe of it.
        let publishers: Vec<ParticipantId> = room
            .participants
            .keys()
            .copied()
            .filter(|p| *p != id)
            .collect();
        for p in publishers {
            room.ask_keyframe(now, p, Some(Layer::LOW), &mut self.outbox);
        }
        room.allocate_layers(now, &mut self.outbox);

        self.room_of.insert(id, room_id);
        self.by_ufrag.insert(ufrag.clone(), id);
        self.outbox
            .queue
            .push_back(Output::RouteAdded(Route::Ufrag(ufrag)));
        self.next_speaker_tick
            .get_or_insert(now + self.config.speaker_interval);
        self.absorb_routes();
        tracing::info!(room = %room_id, participant = %id, "participant joined the media plane");
        Ok(answer)
    }

    fn new_rtc(&self, now: Instant) -> Rtc {
        let mut rtc = RtcConfig::new()
            .set_ice_lite(true)
            .set_rtp_mode(true)
            .clear_codecs()
            // RED is offered so that lossy subscribers can be sent it
            // (`protection`); publishers keep sending plain Opus.
            .enable_opus(true, true)
            .enable_vp8(true)
            .enable_h264(true)
            .set_send_buffer_audio(self.config.send_buffer_audio)
            .set_send_buffer_video(self.config.send_buffer_video)
            .set_stats_interval(self.config.stats_interval)
            .enable_bwe(
                self.config
                    .bandwidth_estimation
                    .then(|| str0m::bwe::Bitrate::kbps(3_000)),
            )
            .build(now);
        for addr in &self.config.host_candidates {
            match Candidate::host(*addr, "udp") {
                Ok(c) => {
                    rtc.add_local_candidate(c);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "a configured media address is not a usable candidate")
                }
            }
        }
        rtc
    }

    /// Remove a participant (left, removed, returned to the waiting room).
    /// Everything it held is freed; its slots at others are emptied.
    pub fn remove_participant(
        &mut self,
        now: Instant,
        room_id: RoomId,
        id: ParticipantId,
    ) -> Result<(), CoreError> {
        self.check_room(room_id, id)?;
        let room = self
            .rooms
            .get_mut(&room_id)
            .expect("room_of is consistent with rooms");
        let gone = room
            .depart(now, id, &mut self.outbox)
            .expect("room_of is consistent with participants");
        self.counters.nacks_received += gone.stats().nacks_received();
        self.counters.nacks_sent += gone.stats().nacks_sent();
        self.outbox.verified.retain(|(_, p)| *p != id);
        if room.participants.is_empty() {
            let room = self.rooms.remove(&room_id).expect("present");
            self.retired.merge(&room.counters);
        }
        if self.rooms.is_empty() {
            self.next_speaker_tick = None;
        }
        self.room_of.remove(&id);
        let (ufrag, addrs) = gone.into_routes();
        self.by_ufrag.remove(&ufrag);
        self.outbox
            .queue
            .push_back(Output::RouteRemoved(Route::Ufrag(ufrag)));
        for addr in addrs {
            if self.by_addr.get(&addr) == Some(&id) {
                self.by_addr.remove(&addr);
                self.outbox
                    .queue
                    .push_back(Output::RouteRemoved(Route::Addr(addr)));
            }
        }
        self.last_now = self.last_now.max(now);
        tracing::info!(room = %room_id, participant = %id, "participant left the media plane");
        Ok(())
    }

    /// Allow or stop a participant's audio and video reaching the room.
    /// Stopped media is dropped on arrival at the SFU.
    pub fn set_publish(
        &mut self,
        now: Instant,
        room_id: RoomId,
        id: ParticipantId,
        permission: PublishPermission,
    ) -> Result<(), CoreError> {
        self.check_room(room_id, id)?;
        let room = self.rooms.get_mut(&room_id).expect("checked");
        let p = room.participants.get_mut(&id).expect("checked");
        let before = p.set_permission(permission);
        let resumed_audio = permission.audio && !before.audio;
        let resumed_video = permission.video && !before.video;
        let carried: Vec<(ParticipantId, usize)> = room.table.subscribers_of(id).collect();
        for (subscriber, idx) in carried {
            let sub = room
                .participants
                .get_mut(&subscriber)
                .expect("the table names members");
            if resumed_audio {
                sub.restart_stream(idx, MediaKind::Audio);
            }
            if resumed_video {
                sub.restart_stream(idx, MediaKind::Video);
            }
        }
        if resumed_video {
            room.ask_keyframe(now, id, None, &mut self.outbox);
        }
        tracing::info!(room = %room_id, participant = %id, audio = permission.audio, video = permission.video, "publish permission set");
        Ok(())
    }

    /// Whether `subscriber` receives `publisher` (everyone receives everyone
    /// by default).
    pub fn set_subscription(
        &mut self,
        now: Instant,
        room_id: RoomId,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        receive: bool,
    ) -> Result<(), CoreError> {
        self.check_room(room_id, subscriber)?;
        self.check_room(room_id, publisher)?;
        let room = self.rooms.get_mut(&room_id).expect("checked");
        let sub = room.participants.get_mut(&subscriber).expect("checked");
        sub.choose(publisher, receive);
        if receive {
            room.subscribe(subscriber, publisher, &mut self.outbox);
            room.allocate_layers(now, &mut self.outbox);
        } else {
            room.unsubscribe(subscriber, publisher, &mut self.outbox);
        }
        Ok(())
    }

    /// What `subscriber`'s page shows of its slots; the next layer decision
    /// (within 250 ms) follows it.
    pub fn set_view(
        &mut self,
        now: Instant,
        room_id: RoomId,
        subscriber: ParticipantId,
        view: TileView,
    ) -> Result<(), CoreError> {
        self.check_room(room_id, subscriber)?;
        let room = self.rooms.get_mut(&room_id).expect("checked");
        let sub = room.participants.get_mut(&subscriber).expect("checked");
        sub.set_view(view);
        room.allocate_layers(now, &mut self.outbox);
        Ok(())
    }

    fn check_room(&self, room: RoomId, participant: ParticipantId) -> Result<(), CoreError> {
        match self.room_of.get(&participant) {
            None => Err(CoreError::UnknownParticipant(participant)),
            Some(r) if *r != room => Err(CoreError::WrongRoom { room, participant }),
            Some(_) => Ok(()),
        }
    }

    /// Feed one input. Never fails: bad datagrams are counted and dropped.
    pub fn handle_input(&mut self, now: Instant, input: Input<'_>) {
        self.last_now = self.last_now.max(now);
        match input {
            Input::Timeout => self.handle_timeout(now),
            Input::Receive {
                source,
                destination,
                contents,
            } => self.handle_datagram(now, source, destination, contents),
        }
        self.absorb_routes();
    }

    fn handle_datagram(
        &mut self,
        now: Instant,
        source: SocketAddr,
        destination: SocketAddr,
        contents: &[u8],
    ) {
        self.counters.datagrams_in += 1;
        self.counters.bytes_in += contents.len() as u64;
        let owner = match classify(contents) {
            DatagramKind::Stun => stun_local_ufrag(contents).and_then(|u| self.by_ufrag.get(u)),
            DatagramKind::Dtls | DatagramKind::Rtp => self.by_addr.get(&source),
            DatagramKind::Unknown => None,
        };
        let Some(&id) = owner else {
            self.counters.dropped_unrouted += 1;
            return;
        };
        let Ok(receive) = Receive::new(Protocol::Udp, source, destination, contents) else {
            self.counters.rejected_by_peer += 1;
            return;
        };
        let Some(room) = self.room_of.get(&id).and_then(|r| self.rooms.get_mut(r)) else {
            return;
        };
        let Some(p) = room.participants.get_mut(&id) else {
            return;
        };
        // str0m's error texts can quote addresses: count and log the fact only.
        if p.handle_input(str0m::Input::Receive(now, receive)).is_err() {
            self.counters.rejected_by_peer += 1;
            tracing::debug!(participant = %id, "datagram refused");
        }
        room.process(now, id, &mut self.outbox);
    }

    fn handle_timeout(&mut self, now: Instant) {
        for room in self.rooms.values_mut() {
            let due: Vec<ParticipantId> = room
                .participants
                .values()
                .filter(|p| p.next_timeout() <= now)
                .map(|p| p.id)
                .collect();
            for id in due {
                let p = room.participants.get_mut(&id).expect("listed above");
                if p.handle_input(str0m::Input::Timeout(now)).is_err() {
                    tracing::debug!(participant = %id, "timeout handling failed");
                }
                room.process(now, id, &mut self.outbox);
            }
            room.poll_keyframes(now, &mut self.outbox);
        }
        if let Some(tick) = self.next_speaker_tick {
            if now >= tick {
                self.next_speaker_tick = Some(now + self.config.speaker_interval);
                for room in self.rooms.values_mut() {
                    if let Some(participant) = room.speakers.tick() {
                        if let Some(p) = participant {
                            room.note_speaker(p);
                        }
                        self.outbox
                            .queue
                            .push_back(Output::Event(MediaEvent::ActiveSpeaker {
                                room: room.id,
                                participant,
                            }));
                    }
                    room.allocate_layers(now, &mut self.outbox);
                }
            }
        }
    }

    /// Move addresses that passed ICE into the routing map.
    fn absorb_routes(&mut self) {
        for (addr, id) in self.outbox.verified.drain(..) {
            if self.by_addr.insert(addr, id) != Some(id) {
                self.outbox
                    .queue
                    .push_back(Output::RouteAdded(Route::Addr(addr)));
            }
        }
    }

    /// The next thing to do. Call until it returns `Output::Timeout`.
    #[must_use]
    pub fn poll_output(&mut self) -> Output {
        if let Some(o) = self.outbox.queue.pop_front() {
            if let Output::Transmit(t) = &o {
                self.counters.datagrams_out += 1;
                self.counters.bytes_out += t.contents.len() as u64;
            }
            return o;
        }
        Output::Timeout(self.next_timeout())
    }

    fn next_timeout(&self) -> Instant {
        let mut next: Option<Instant> = self.next_speaker_tick;
        let mut consider = |t: Instant| {
            next = Some(next.map_or(t, |n| n.min(t)));
        };
        for room in self.rooms.values() {
            for p in room.participants.values() {
                consider(p.next_timeout());
                if let Some(t) = p.keyframe_due() {
                    consider(t);
                }
            }
        }
        next.unwrap_or_else(|| far_future(self.last_now))
    }

    /// What the forwarding path and the demultiplexer did so far.
    pub fn counters(&self) -> CoreCounters {
        let mut c = self.counters;
        c.forward = self.retired;
        let (mut loss_sum, mut loss_n) = (0.0f64, 0u64);
        for room in self.rooms.values() {
            c.forward.merge(&room.counters);
            for p in room.participants.values() {
                c.nacks_received += p.stats().nacks_received();
                c.nacks_sent += p.stats().nacks_sent();
                for l in p.stats().losses() {
                    loss_sum += f64::from(l);
                    loss_n += 1;
                }
            }
        }
        c.ingress_loss_ppm = if loss_n == 0 {
            0
        } else {
            (loss_sum / loss_n as f64 * 1e6) as u64
        };
        c
    }

    /// How much state the core holds (used to prove that leaving frees all).
    pub fn footprint(&self) -> Footprint {
        Footprint {
            rooms: self.rooms.len(),
            participants: self.room_of.len(),
            ufrag_routes: self.by_ufrag.len(),
            addr_routes: self.by_addr.len(),
            occupied_slots: self.rooms.values().map(|r| r.table.occupied_slots()).sum(),
            speaker_entries: self.rooms.values().map(|r| r.speakers.tracked()).sum(),
            video_paused: self
                .rooms
                .values()
                .flat_map(|r| r.participants.values())
                .filter(|p| p.is_audio_only())
                .count(),
        }
    }

    /// Participants currently in `room` (for the control plane's checks).
    pub fn participants_in(&self, room: RoomId) -> Vec<ParticipantId> {
        self.rooms
            .get(&room)
            .map(|r| r.participants.keys().copied().collect())
            .unwrap_or_default()
    }

    /// How many slots in `room` carry `publisher`.
    pub fn subscribers_of(&self, room: RoomId, publisher: ParticipantId) -> usize {
        self.rooms
            .get(&room)
            .map_or(0, |r| r.table.slots_naming(publisher))
    }

    /// The current downlink estimate for `participant` (bit/s), when
    /// bandwidth estimation is on and has one.
    pub fn estimate_of(&self, room: RoomId, participant: ParticipantId) -> Option<u64> {
        self.rooms
            .get(&room)
            .and_then(|r| r.participants.get(&participant))
            .and_then(|p| p.estimate())
    }
}

/// The category of an offer str0m refused, without quoting the SDP.
fn offer_error_kind(e: &str0m::RtcError) -> String {
    match e {
        str0m::RtcError::RemoteSdp(_) => {
            "the offer's media sections could not be negotiated".into()
        }
        _ => "the offer could not be accepted".into(),
    }
}
