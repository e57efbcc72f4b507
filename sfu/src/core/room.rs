//! A room: its participants, who occupies which slot, and the forwarding of
//! every packet from its publisher to its subscribers.

use std::collections::{BTreeMap, VecDeque};
use std::time::Instant;

use str0m::media::{MediaKind, Mid};
use str0m::rtp::{ExtensionValues, RtpPacket};
use str0m::{Event, IceConnectionState};

use super::keyframe::{starts_keyframe, KeyframeCause, RecentPacket};
use super::layers::{video_step, Choice, Layer, VideoStep};
use super::participant::{Outbox, Participant, SlotPacket, SlotSend, Source};
use super::protection;
use super::speaker::SpeakerDetector;
use super::table::ForwardingTable;
use super::{EstimateHistogram, Histogram, MediaEvent, Output};
use crate::ids::{ParticipantId, RoomId};

/// What participants' connections produced and the room has yet to handle.
pub type Work = VecDeque<(ParticipantId, Event)>;

/// Counters of what the forwarding path did, for tests and metrics.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ForwardCounters {
    /// RTP packets received from publishers.
    pub packets_in: u64,
    /// RTP packets written towards subscribers.
    pub packets_forwarded: u64,
    /// Of those, video packets by simulcast layer (low, mid, high).
    pub video_forwarded_by_layer: [u64; 3],
    /// Times a subscriber's slot moved to another layer (on a keyframe).
    pub layer_switches: u64,
    /// Times a publisher was told to start or stop sending some of its
    /// layers (nobody received them, or somebody wants them again).
    pub sent_layer_changes: u64,
    /// Dropped because the publisher is not allowed to publish that media.
    pub dropped_not_permitted: u64,
    /// Dropped while a slot waited for a keyframe.
    pub dropped_awaiting_keyframe: u64,
    /// Keyframe requests sent to publishers.
    pub keyframe_requests: u64,
    /// Audio packets sent with redundancy (RED) to lossy subscribers.
    pub audio_packets_protected: u64,
    /// RED from a publisher that could not be unwrapped (dropped).
    pub dropped_malformed_red: u64,
    /// Events a leaving participant's closed connection still reported
    /// (let go: nobody uses that connection any more).
    pub events_after_leaving: u64,
    /// Times a member's bandwidth estimator was started afresh after its
    /// link stopped losing packets (`probing.rs`).
    pub estimate_restarts: u64,
    /// Subscribers' downlink estimates, as reported.
    pub downlink_estimates: EstimateHistogram,
    /// From joining to the first audio packet sent to the newcomer.
    pub join_first_audio: Histogram,
    /// From joining to the first video packet (a keyframe) sent to the newcomer.
    pub join_first_video: Histogram,
}

impl ForwardCounters {
    /// Add another set of counters (another room, another worker).
    pub fn merge(&mut self, o: &ForwardCounters) {
        self.packets_in += o.packets_in;
        self.packets_forwarded += o.packets_forwarded;
        for (mine, theirs) in self
            .video_forwarded_by_layer
            .iter_mut()
            .zip(o.video_forwarded_by_layer)
        {
            *mine += theirs;
        }
        self.layer_switches += o.layer_switches;
        self.sent_layer_changes += o.sent_layer_changes;
        self.dropped_not_permitted += o.dropped_not_permitted;
        self.dropped_awaiting_keyframe += o.dropped_awaiting_keyframe;
        self.keyframe_requests += o.keyframe_requests;
        self.audio_packets_protected += o.audio_packets_protected;
        self.dropped_malformed_red += o.dropped_malformed_red;
        self.events_after_leaving += o.events_after_leaving;
        self.estimate_restarts += o.estimate_restarts;
        self.downlink_estimates.merge(&o.downlink_estimates);
        self.join_first_audio.merge(&o.join_first_audio);
        self.join_first_video.merge(&o.join_first_video);
    }
}

/// One room and everything in it.
pub struct Room {
    pub id: RoomId,
    pub participants: BTreeMap<ParticipantId, Participant>,
    /// Who receives whom on which slot, at which layer: the only place
    /// slots and layers change.
    pub table: ForwardingTable,
    /// The room's one queue of pending work: every event any participant's
    /// connection produces goes here and is handled by `run`, in order,
    /// until it is empty (like str0m's `Propagated` in its chat example).
    pub(super) pending: Work,
    pub speakers: SpeakerDetector,
    pub counters: ForwardCounters,
    /// Participants by how recently they were the active speaker (most
    /// recent first), for choosing whose video goes first.
    pub spoke_order: Vec<ParticipantId>,
}

impl Room {
    pub fn new(id: RoomId) -> Self {
        Self {
            id,
            participants: BTreeMap::new(),
            table: ForwardingTable::default(),
            pending: Work::new(),
            speakers: SpeakerDetector::default(),
            spoke_order: Vec::new(),
            counters: ForwardCounters::default(),
        }
    }

    /// A participant joins: its connection, and an empty row of its slots.
    pub fn admit(&mut self, participant: Participant) {
        self.table
            .add_subscriber(participant.id, participant.slot_count());
        self.participants.insert(participant.id, participant);
    }

    /// A participant leaves: it is taken out of the room and of every
    /// slot that carried it (each subscriber is told). Its connection is
    /// closed and drained here: what it sends goes out (the close), what it
    /// still reports is about a connection nobody uses any more and is let
    /// go, counted.
    pub fn depart(
        &mut self,
        now: Instant,
        id: ParticipantId,
        outbox: &mut Outbox,
    ) -> Option<Participant> {
        let mut gone = self.participants.remove(&id)?;
        gone.close();
        let mut last_words = Work::new();
        gone.drain(outbox, &mut last_words);
        self.counters.events_after_leaving += last_words.len() as u64;
        for (subscriber, idx) in self.table.remove(id) {
            if let Some(sub) = self.participants.get_mut(&subscriber) {
                outbox
                    .queue
                    .push_back(Output::Event(say_occupied(self.id, sub, idx, None)));
            }
        }
        // A choice not to receive it held for this connection of it; the
        // control plane says it again if it comes back (a side room).
        for other in self.participants.values_mut() {
            other.choose(id, true);
        }
        self.speakers.remove(id);
        self.spoke_order.retain(|p| *p != id);
        self.run(now, outbox);
        Some(gone)
    }

    /// Drain `start` and handle everything that follows from it, until quiet.
    pub fn process(&mut self, now: Instant, start: ParticipantId, outbox: &mut Outbox) {
        if let Some(p) = self.participants.get_mut(&start) {
            p.drain(outbox, &mut self.pending);
        }
        self.run(now, outbox);
    }

    /// Handle the pending work until there is none (handling may add more).
    pub fn run(&mut self, now: Instant, outbox: &mut Outbox) {
        while let Some((from, event)) = self.pending.pop_front() {
            match event {
                Event::RtpPacket(pkt) => self.forward(now, from, pkt, outbox),
                Event::KeyframeRequest(req) => {
                    // For the layer this subscriber is receiving (or waits for).
                    let wanted = self.participants.get(&from).and_then(|s| {
                        let e = self.table.entry(from, s.slot_by_mid(req.mid)?)?;
                        let layer = match e.target {
                            Choice::Layer(l) => Some(l),
                            Choice::Paused => e.forwarding,
                        };
                        Some((e.publisher?, layer))
                    });
                    if let Some((publisher, layer)) = wanted {
                        self.request_keyframe(now, publisher, layer, KeyframeCause::Repair, outbox);
                    }
                }
                Event::EgressBitrateEstimate(str0m::bwe::BweKind::Twcc { estimate, .. }) => {
                    if let Some(p) = self.participants.get_mut(&from) {
                        p.set_estimate(estimate.as_u64());
                        self.counters.downlink_estimates.observe(estimate.as_u64());
                    }
                }
                Event::Connected => {
                    if let Some(p) = self.participants.get_mut(&from) {
                        p.mark_connected();
                    }
                    outbox.queue.push_back(Output::Event(MediaEvent::Connected {
                        room: self.id,
                        participant: from,
                    }));
                }
                Event::MediaEgressStats(st) => {
                    let upstream = self.upstream_audio_loss(from, st.mid);
                    if let Some(p) = self.participants.get_mut(&from) {
                        // What was lost before Haven cannot be repaired on
                        // the subscriber's link: leave it out.
                        let own_loss = st.loss.zip(upstream).map(|(l, up)| l - up);
                        if let Some(level) = p.observe_egress(now, st.mid, st.nacks, own_loss) {
                            tracing::debug!(room = %self.id, participant = %from, ?level, "audio protection changed");
                        }
                    }
                }
                Event::PeerStats(st) => {
                    tracing::debug!(
                        participant = %from,
                        loss = ?st.egress_loss_fraction,
                        estimate = ?st.bwe_tx.map(|b| b.as_u64()),
                        rtt_ms = ?st.rtt.map(|r| r.as_millis()),
                        "downlink"
                    );
                    if let Some(p) = self.participants.get_mut(&from) {
                        p.observe_downlink(now, st.egress_loss_fraction, st.rtt);
                    }
                }
                Event::MediaIngressStats(st) => {
                    if let Some(p) = self.participants.get_mut(&from) {
                        p.observe_ingress(st.mid, st.nacks, st.loss);
                    }
                }
                Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                    outbox
                        .queue
                        .push_back(Output::Event(MediaEvent::Disconnected {
                            room: self.id,
                            participant: from,
                        }));
                }
                _ => {}
            }
        }
    }

    /// For an audio slot `mid` of `subscriber`: the loss last measured on
    /// the incoming audio that feeds it (0 when not yet known). `None` for
    /// video, whose losses are repaired by retransmission and so say little.
    fn upstream_audio_loss(&self, subscriber: ParticipantId, mid: Mid) -> Option<f32> {
        let sub = self.participants.get(&subscriber)?;
        let idx = sub.audio_slot_by_mid(mid)?;
        let upstream = self
            .table
            .entry(subscriber, idx)
            .and_then(|e| e.publisher)
            .and_then(|p| self.participants.get(&p))
            .and_then(|p| p.upstream_audio_loss());
        Some(upstream.unwrap_or(0.0))
    }

    /// Haven needs a keyframe of `layer` (`None`: every layer it sends)
    /// from `publisher` (someone joined, its video resumed); handle what
    /// follows.
    pub fn ask_keyframe(
        &mut self,
        now: Instant,
        publisher: ParticipantId,
        layer: Option<Layer>,
        outbox: &mut Outbox,
    ) {
        self.request_keyframe(now, publisher, layer, KeyframeCause::Switch, outbox);
        self.run(now, outbox);
    }

    /// Ask `publisher` for a keyframe of `layer` (`None`: every layer),
    /// throttled per publisher by `cause`.
    pub fn request_keyframe(
        &mut self,
        now: Instant,
        publisher: ParticipantId,
        layer: Option<Layer>,
        cause: KeyframeCause,
        outbox: &mut Outbox,
    ) {
        self.send_keyframe_request(now, publisher, Some((layer, cause)), outbox);
    }

    /// `ask: None` sends only a request the throttle had deferred.
    fn send_keyframe_request(
        &mut self,
        now: Instant,
        publisher: ParticipantId,
        ask: Option<(Option<Layer>, KeyframeCause)>,
        outbox: &mut Outbox,
    ) {
        if let Some(p) = self.participants.get_mut(&publisher) {
            if p.request_keyframe(now, ask) {
                tracing::trace!(room = %self.id, %publisher, "keyframe requested");
                self.counters.keyframe_requests += 1;
                p.drain(outbox, &mut self.pending);
            }
        }
    }

    /// Send deferred keyframe requests whose time has come.
    pub fn poll_keyframes(&mut self, now: Instant, outbox: &mut Outbox) {
        let due: Vec<ParticipantId> = self
            .participants
            .values()
            .filter(|p| p.keyframe_due().is_some_and(|t| t <= now))
            .map(|p| p.id)
            .collect();
        for id in due {
            self.send_keyframe_request(now, id, None, outbox);
        }
        self.run(now, outbox);
    }

    fn forward(
        &mut self,
        now: Instant,
        from: ParticipantId,
        mut pkt: RtpPacket,
        outbox: &mut Outbox,
    ) {
        self.counters.packets_in += 1;
        let Some(publisher) = self.participants.get_mut(&from) else {
            return;
        };
        let Some(Source { kind, layer }) = publisher.source_of(pkt.header.ssrc) else {
            return;
        };
        // A single stream is its own lowest layer.
        let layer = layer.unwrap_or(Layer::LOW);
        if !publisher.permits(kind) {
            self.counters.dropped_not_permitted += 1;
            return;
        }
        let Some(codec) = publisher.codec_of(pkt.header.payload_type) else {
            return;
        };
        if publisher.sends_red(pkt.header.payload_type) {
            // Subscribers get plain Opus, or redundancy made for their link.
            match protection::primary_of(&pkt.payload) {
                Some(primary) => pkt.payload = primary.into(),
                None => {
                    self.counters.dropped_malformed_red += 1;
                    return;
                }
            }
        }
        let is_video = kind == MediaKind::Video;
        let keyframe = is_video && starts_keyframe(codec.codec, &pkt.payload);
        let early = if is_video {
            let recent = RecentPacket {
                layer,
                seq: *pkt.seq_no,
                ts: pkt.header.timestamp,
                marker: pkt.header.marker,
                at: pkt.timestamp,
                payload: pkt.payload.clone(),
            };
            publisher.note_video(now, recent, keyframe)
        } else {
            Vec::new()
        };
        if !is_video {
            if let Some(level) = pkt.header.ext_vals.audio_level {
                self.speakers
                    .record(from, level, pkt.header.ext_vals.voice_activity);
            }
        }
        // Only what the subscriber's player needs travels on; transport-level
        // extensions (TWCC, abs-send-time, mid) are the subscriber's Rtc's own.
        let ext_vals = ExtensionValues {
            audio_level: pkt.header.ext_vals.audio_level,
            voice_activity: pkt.header.ext_vals.voice_activity,
            video_orientation: pkt.header.ext_vals.video_orientation,
            ..Default::default()
        };

        let mut want_keyframe: Option<Layer> = None;
        for sub in self.participants.values_mut() {
            if sub.id == from {
                continue;
            }
            let Some((idx, entry)) = self.table.find(sub.id, from) else {
                continue;
            };
            let Some(pt) = sub.payload_type_for(kind, codec) else {
                continue;
            };
            // Redundant audio only for a lossy subscriber that can take it.
            let red = if is_video {
                None
            } else {
                sub.audio_redundancy()
            };
            let mut switched = false;
            if is_video {
                match video_step(entry.forwarding, entry.target, layer, keyframe) {
                    VideoStep::Skip => continue,
                    VideoStep::Forward => {}
                    VideoStep::Switch => {
                        sub.restart_stream(idx, MediaKind::Video);
                        self.table.switched(sub.id, idx, layer);
                        switched = true;
                        self.counters.layer_switches += 1;
                    }
                    VideoStep::Wait(l) => {
                        want_keyframe = Some(l);
                        continue;
                    }
                }
            }
            let packet = SlotPacket {
                kind,
                pt,
                red,
                seq: *pkt.seq_no,
                ts: pkt.header.timestamp,
                at: pkt.timestamp,
                marker: pkt.header.marker,
                keyframe,
                payload: &pkt.payload,
                ext_vals: &ext_vals,
            };
            // The rest of the keyframe that overtook its first packet.
            let early = if switched { early.as_slice() } else { &[] };
            match sub.send_on_slot(idx, &packet, early) {
                SlotSend::Sent { packets, protected } => {
                    self.counters.packets_forwarded += packets;
                    if protected {
                        self.counters.audio_packets_protected += 1;
                    }
                    let by_layer = &mut self.counters.video_forwarded_by_layer;
                    if let Some(n) = by_layer.get_mut(usize::from(layer.0)).filter(|_| is_video) {
                        *n += packets;
                    }
                }
                SlotSend::AwaitingKeyframe => {
                    self.counters.dropped_awaiting_keyframe += 1;
                    want_keyframe = Some(layer);
                    continue;
                }
                SlotSend::Dropped => continue,
            }
            if let Some(waited) = sub.first_packet(is_video, now) {
                let h = if is_video {
                    &mut self.counters.join_first_video
                } else {
                    &mut self.counters.join_first_audio
                };
                h.observe(waited);
            }
            sub.drain(outbox, &mut self.pending);
        }
        if let Some(layer) = want_keyframe {
            self.request_keyframe(now, from, Some(layer), KeyframeCause::Switch, outbox);
        }
    }

    /// Give `publisher` a slot at every other participant, and every other
    /// participant a slot at `newcomer`. Returns the assignments made.
    pub fn assign_slots(&mut self, newcomer: ParticipantId, outbox: &mut Outbox) {
        let others: Vec<ParticipantId> = self
            .participants
            .keys()
            .copied()
            .filter(|p| *p != newcomer)
            .collect();
        for other in others {
            self.subscribe(newcomer, other, outbox);
            self.subscribe(other, newcomer, outbox);
        }
    }

    /// Put `publisher` in a free slot of `subscriber` (if not already there).
    pub fn subscribe(
        &mut self,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        outbox: &mut Outbox,
    ) {
        let Some(sub) = self.participants.get_mut(&subscriber) else {
            return;
        };
        if !sub.wants(publisher) || self.table.slot_of(subscriber, publisher).is_some() {
            return;
        }
        let Some(idx) = self.table.free_slot(subscriber, |i| sub.slot_usable(i)) else {
            tracing::warn!(room = %self.id, %subscriber, "no free receive slot; the client offered too few");
            return;
        };
        self.table.occupy(subscriber, idx, Some(publisher));
        tracing::debug!(room = %self.id, %subscriber, %publisher, slot = idx, "slot assigned");
        outbox.queue.push_back(Output::Event(say_occupied(
            self.id,
            sub,
            idx,
            Some(publisher),
        )));
    }

    /// Empty the slot of `subscriber` that carries `publisher`.
    pub fn unsubscribe(
        &mut self,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        outbox: &mut Outbox,
    ) {
        let Some(sub) = self.participants.get_mut(&subscriber) else {
            return;
        };
        let Some(idx) = self.table.slot_of(subscriber, publisher) else {
            return;
        };
        self.table.occupy(subscriber, idx, None);
        outbox
            .queue
            .push_back(Output::Event(say_occupied(self.id, sub, idx, None)));
    }
}

/// A slot of `sub` changed hands (the table says to whom): its streams
/// restart, and the subscriber's page is told (it maps slots to tiles).
fn say_occupied(
    room: RoomId,
    sub: &mut Participant,
    idx: usize,
    publisher: Option<ParticipantId>,
) -> MediaEvent {
    let slot = sub.restart_slot(idx);
    let mid = |m: Option<str0m::media::Mid>| m.map(|m| m.to_string()).unwrap_or_default();
    let (audio_mid, video_mid) = sub.slot_mids(idx);
    MediaEvent::SlotAssigned {
        room,
        subscriber: sub.id,
        slot,
        audio_mid: mid(audio_mid),
        video_mid: mid(video_mid),
        publisher,
    }
}
