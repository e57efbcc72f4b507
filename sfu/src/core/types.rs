//! The core's configuration, inputs, outputs and events.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::net::Transmit;

use super::ForwardCounters;
use crate::ids::{ParticipantId, RoomId, SlotIndex};

/// How the core is set up. Every field says what it costs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CoreConfig {
    /// Addresses announced to clients as host candidates (one per interface
    /// the media port listens on, plus a public address behind NAT).
    pub host_candidates: Vec<SocketAddr>,
    /// Participants per room (facilitator, co-facilitator, 12 members).
    pub max_participants_per_room: usize,
    /// Outgoing audio packets kept per receive slot. Audio is not resent, so
    /// this only needs to cover one write-then-drain cycle.
    pub send_buffer_audio: usize,
    /// Outgoing video packets kept per receive slot to answer NACKs. 128 is
    /// about 1.3 s of 1 Mbps video: more than any round trip a group call
    /// survives. Payloads are shared between subscribers (reference counted).
    pub send_buffer_video: usize,
    /// At most one keyframe request per publisher per this interval for
    /// Haven's own needs (a new subscription, a layer switch).
    pub keyframe_min_interval: Duration,
    /// At most one per this interval for subscribers' repairs (PLI/FIR
    /// after loss), across all subscribers of a publisher.
    pub keyframe_repair_interval: Duration,
    /// How often the active speaker is decided (about 4 per second).
    pub speaker_interval: Duration,
    /// How often str0m reports per-stream statistics (NACKs, loss) for the
    /// metrics and the audio protection; `None` turns them off (and with
    /// them the protection). Each report is a few hundred bytes per stream.
    pub stats_interval: Option<Duration>,
    /// Send redundant audio (RED) to subscribers whose downlink loses
    /// packets, costing them about two to three times the audio bytes.
    pub audio_protection: bool,
    /// Estimate each subscriber's downlink (str0m TWCC) and fit its video
    /// layers to it. Off: not yet trustworthy (see `allocation`).
    pub bandwidth_estimation: bool,
}

impl Default for CoreConfig {
    fn default() -> Self {
        Self {
            host_candidates: Vec::new(),
            max_participants_per_room: crate::ids::MAX_ROOM_SIZE,
            send_buffer_audio: 16,
            send_buffer_video: 128,
            keyframe_min_interval: Duration::from_millis(300),
            keyframe_repair_interval: Duration::from_secs(1),
            speaker_interval: Duration::from_millis(250),
            stats_interval: Some(Duration::from_secs(1)),
            audio_protection: true,
            bandwidth_estimation: false,
        }
    }
}

/// What the media plane tells the control plane.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MediaEvent {
    /// ICE and DTLS are up: media can flow.
    Connected {
        /// The room.
        room: RoomId,
        /// Who connected.
        participant: ParticipantId,
    },
    /// ICE lost the participant (network drop); the control plane decides
    /// whether to wait for a reconnect or to remove them.
    Disconnected {
        /// The room.
        room: RoomId,
        /// Who dropped.
        participant: ParticipantId,
    },
    /// A subscriber's slot now carries `publisher` (or nobody). The client
    /// uses this to put the right name on the right tile.
    SlotAssigned {
        /// The room.
        room: RoomId,
        /// Whose slot.
        subscriber: ParticipantId,
        /// Which slot.
        slot: SlotIndex,
        /// The m-line (mid) of the slot's audio.
        audio_mid: String,
        /// The m-line (mid) of the slot's video.
        video_mid: String,
        /// Who is carried, if anyone.
        publisher: Option<ParticipantId>,
    },
    /// The person speaking changed (evaluated `speaker_interval` apart).
    ActiveSpeaker {
        /// The room.
        room: RoomId,
        /// Who speaks now, or nobody.
        participant: Option<ParticipantId>,
    },
    /// A subscriber's downlink cannot carry even the lowest video layers:
    /// it gets audio only (`paused: true`) until bandwidth returns.
    VideoPaused {
        /// The room.
        room: RoomId,
        /// Whose video is paused.
        subscriber: ParticipantId,
        /// Paused (true) or back (false).
        paused: bool,
    },
    /// Which of a publisher's simulcast layers anyone receives: its page
    /// stops encoding the others (and starts again when told).
    SendLayers {
        /// The room.
        room: RoomId,
        /// Whose camera.
        publisher: ParticipantId,
        /// Per layer, smallest first (`q`, `h`, `f`): send it or not.
        active: [bool; 3],
    },
}

/// A key the IO shell can route datagrams by, before they reach the core.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Route {
    /// STUN whose USERNAME starts with this local ufrag.
    Ufrag(String),
    /// Anything from this ICE-verified address.
    Addr(SocketAddr),
}

/// Input to the core.
#[derive(Debug)]
pub enum Input<'a> {
    /// A datagram arrived on the media port.
    Receive {
        /// Who sent it.
        source: SocketAddr,
        /// The local address (as announced) it arrived at.
        destination: SocketAddr,
        /// The bytes, untrusted.
        contents: &'a [u8],
    },
    /// Time passed (at or after the last `Output::Timeout`).
    Timeout,
}

/// What the core wants done.
#[derive(Debug)]
pub enum Output {
    /// Send this datagram.
    Transmit(Transmit),
    /// Tell the control plane.
    Event(MediaEvent),
    /// Datagrams for this key now belong to this core.
    RouteAdded(Route),
    /// Datagrams for this key no longer belong here.
    RouteRemoved(Route),
    /// Nothing more until this time (or the next input).
    Timeout(Instant),
}

/// Counters of the whole core (live rooms plus those that ended).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct CoreCounters {
    /// What the forwarding path did.
    pub forward: ForwardCounters,
    /// Datagrams from no known participant (or not a WebRTC kind).
    pub dropped_unrouted: u64,
    /// Datagrams that str0m refused (malformed, failed SRTP, failed STUN).
    pub rejected_by_peer: u64,
    /// Datagrams received on the media port.
    pub datagrams_in: u64,
    /// Bytes received on the media port.
    pub bytes_in: u64,
    /// Datagrams sent.
    pub datagrams_out: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// NACKs received from subscribers (packets they asked to be resent).
    pub nacks_received: u64,
    /// NACKs sent to publishers (packets the SFU missed).
    pub nacks_sent: u64,
    /// Mean fraction of packets lost on incoming streams, in parts per million.
    pub ingress_loss_ppm: u64,
}

impl CoreCounters {
    /// Add another core's counters; `cores_before` is how many were merged
    /// already (the loss figure is a mean, not a sum).
    pub fn merge(&mut self, o: &CoreCounters, cores_before: u64) {
        self.dropped_unrouted += o.dropped_unrouted;
        self.rejected_by_peer += o.rejected_by_peer;
        self.datagrams_in += o.datagrams_in;
        self.bytes_in += o.bytes_in;
        self.datagrams_out += o.datagrams_out;
        self.bytes_out += o.bytes_out;
        self.nacks_received += o.nacks_received;
        self.nacks_sent += o.nacks_sent;
        self.ingress_loss_ppm =
            (self.ingress_loss_ppm * cores_before + o.ingress_loss_ppm) / (cores_before + 1);
        self.forward.merge(&o.forward);
    }
}

impl Footprint {
    /// Add another core's footprint.
    pub fn merge(&mut self, o: &Footprint) {
        self.rooms += o.rooms;
        self.participants += o.participants;
        self.ufrag_routes += o.ufrag_routes;
        self.addr_routes += o.addr_routes;
        self.occupied_slots += o.occupied_slots;
        self.speaker_entries += o.speaker_entries;
        self.video_paused += o.video_paused;
    }
}

/// Downlink estimate buckets, in kbit/s (the last bucket is +Inf): where
/// audio only (~100), low layers (~250–500) and full video (1,000 and up)
/// begin.
pub const ESTIMATE_BUCKETS_KBPS: [u64; 7] = [100, 250, 500, 1000, 2000, 4000, 8000];

/// A histogram of subscribers' downlink estimates, one observation per
/// estimate the congestion controller reports.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EstimateHistogram {
    /// Observations per bucket (not cumulative); the last one is above all bounds.
    pub counts: [u64; 8],
    /// Sum of all observations, in kbit/s.
    pub sum_kbps: u64,
}

impl EstimateHistogram {
    /// Record one estimate.
    pub fn observe(&mut self, bps: u64) {
        let kbps = bps / 1000;
        self.counts[bucket_of(&ESTIMATE_BUCKETS_KBPS, kbps)] += 1;
        self.sum_kbps += kbps;
    }

    /// Add another histogram's observations.
    pub fn merge(&mut self, other: &EstimateHistogram) {
        add_counts(&mut self.counts, &other.counts);
        self.sum_kbps += other.sum_kbps;
    }
}

/// The bucket of `value` among the upper `bounds` (one past them: above all).
fn bucket_of(bounds: &[u64], value: u64) -> usize {
    bounds
        .iter()
        .position(|b| value <= *b)
        .unwrap_or(bounds.len())
}

/// Add one histogram's bucket counts to another's.
fn add_counts(mine: &mut [u64], theirs: &[u64]) {
    for (a, b) in mine.iter_mut().zip(theirs) {
        *a += b;
    }
}

/// Join latency buckets, in milliseconds (the last bucket is +Inf).
pub const JOIN_BUCKETS_MS: [u64; 10] = [10, 25, 50, 100, 200, 300, 500, 1000, 2000, 5000];

/// A histogram of durations with [`JOIN_BUCKETS_MS`] as upper bounds.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Histogram {
    /// Observations per bucket (not cumulative); the last one is above all bounds.
    pub counts: [u64; 11],
    /// Sum of all observations, in microseconds.
    pub sum_micros: u64,
}

impl Histogram {
    /// Record one duration.
    pub fn observe(&mut self, d: Duration) {
        self.counts[bucket_of(&JOIN_BUCKETS_MS, d.as_millis() as u64)] += 1;
        self.sum_micros += d.as_micros() as u64;
    }

    /// Add another histogram's observations.
    pub fn merge(&mut self, other: &Histogram) {
        add_counts(&mut self.counts, &other.counts);
        self.sum_micros += other.sum_micros;
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// How much state the core holds: a participant who left must leave nothing.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// Rooms alive.
    pub rooms: usize,
    /// Participants in them.
    pub participants: usize,
    /// STUN routes (one per participant).
    pub ufrag_routes: usize,
    /// Verified address routes.
    pub addr_routes: usize,
    /// Slots that carry someone.
    pub occupied_slots: usize,
    /// Participants with audio levels in the open speaker window.
    pub speaker_entries: usize,
    /// Subscribers receiving audio only for now (their downlink cannot
    /// carry video).
    pub video_paused: usize,
}
