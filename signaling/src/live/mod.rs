//! Running sessions: one actor task per open room that feeds the room state
//! machine with commands and carries out its effects (messages to sockets,
//! media-plane calls, audit rows). The only place where the control plane
//! meets tokio and the media plane.

mod actor;
pub mod resume_file;
pub mod wire;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use haven_sfu::{MediaEvent, MediaPlane};
use tokio::sync::mpsc;

use crate::protocol::{ClientMsg, ServerMsg};
use crate::room::{
    AccountId, AuditAction, Command, ConnId, GroupId, ParticipantId, Room, RoomId, RoomSettings,
};
use crate::store::Store;
use actor::{ActorContext, ResumeWriter};
use resume_file::SavedSession;

pub use actor::RoomInput;

/// Outgoing messages of one connection; bounded so that a client that stops
/// reading cannot make the server hold unlimited messages for it.
pub const CONN_QUEUE: usize = 256;

/// How long an admitted member who dropped keeps their seat.
pub const RECONNECT_GRACE: Duration = Duration::from_secs(60);

/// A session is reopened after a restart only until this long after its
/// scheduled end.
pub const STALE_AFTER_LENGTH: Duration = Duration::from_secs(2 * 3600);

/// An open session.
#[derive(Clone)]
pub struct RoomHandle {
    /// The media-plane room of this session.
    pub room: RoomId,
    /// The actor's inbox.
    pub tx: mpsc::Sender<RoomInput>,
}

/// What the control plane counts, for the metrics endpoint. Numbers only:
/// no names, no addresses, no group names.
#[derive(Default)]
pub struct SignalingMetrics {
    /// Waiting members per open room.
    waiting: Mutex<HashMap<RoomId, usize>>,
    /// Audited outcomes, indexed like [`AUDITED`].
    outcomes: [AtomicU64; AUDITED.len()],
    /// Commands to the media plane that failed, and media events dropped
    /// because a room's inbox was full (see [`MediaTrouble`]).
    media_trouble: [AtomicU64; MediaTrouble::ALL.len()],
}

/// What can go wrong on the way to and from the media plane. Each is
/// counted (for the metrics) and logged, never silently dropped: a mute
/// that did not reach the SFU is one the facilitator believes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MediaTrouble {
    /// Taking a participant out of the media plane failed.
    Remove,
    /// Changing what a participant may publish (a mute) failed.
    Publish,
    /// A media event (slot, speaker) was dropped: the room was too busy.
    EventDropped,
    /// Telling the media plane what a page shows failed.
    View,
    /// Changing who receives whom (the side room) failed.
    Route,
}

impl MediaTrouble {
    /// All of them, in the order of the counters.
    pub const ALL: [MediaTrouble; 5] = [
        Self::Remove,
        Self::Publish,
        Self::EventDropped,
        Self::View,
        Self::Route,
    ];

    /// The label in the metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Remove => "remove",
            Self::Publish => "publish",
            Self::EventDropped => "event_dropped",
            Self::View => "view",
            Self::Route => "route",
        }
    }
}

/// The audited actions, in the order of [`SignalingMetrics`]'s counters.
pub const AUDITED: [AuditAction; 7] = [
    AuditAction::Admitted,
    AuditAction::Denied,
    AuditAction::Removed,
    AuditAction::ReturnedToWaiting,
    AuditAction::Muted,
    AuditAction::HandedOver,
    AuditAction::SessionEnded,
];

impl SignalingMetrics {
    /// Members waiting in all open rooms.
    pub fn waiting(&self) -> usize {
        self.waiting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .sum()
    }

    /// How often each audited action happened.
    pub fn outcomes(&self) -> Vec<(AuditAction, u64)> {
        AUDITED
            .iter()
            .zip(&self.outcomes)
            .map(|(a, n)| (*a, n.load(Ordering::Relaxed)))
            .collect()
    }

    /// How often each kind of media-plane trouble happened.
    pub fn media_trouble(&self) -> Vec<(MediaTrouble, u64)> {
        MediaTrouble::ALL
            .iter()
            .zip(&self.media_trouble)
            .map(|(t, n)| (*t, n.load(Ordering::Relaxed)))
            .collect()
    }

    pub(crate) fn trouble(&self, what: MediaTrouble) {
        if let Some(i) = MediaTrouble::ALL.iter().position(|t| *t == what) {
            self.media_trouble[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn count(&self, action: AuditAction) {
        if let Some(i) = AUDITED.iter().position(|a| *a == action) {
            self.outcomes[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn set_waiting(&self, room: RoomId, n: Option<usize>) {
        let mut w = self.waiting.lock().unwrap_or_else(|p| p.into_inner());
        match n {
            Some(n) => w.insert(room, n),
            None => w.remove(&room),
        };
    }
}

/// All open sessions, and the ids they hand out.
pub struct Live<M: MediaPlane> {
    media: Arc<M>,
    store: Arc<Store>,
    by_group: Mutex<HashMap<GroupId, RoomHandle>>,
    by_room: Arc<Mutex<HashMap<RoomId, mpsc::Sender<RoomInput>>>>,
    next_room: AtomicU64,
    next_participant: AtomicU64,
    next_conn: AtomicU64,
    /// Where open sessions are kept for a restart (the data directory), if
    /// anywhere.
    resume_dir: Option<PathBuf>,
    /// Counts for the metrics endpoint.
    pub metrics: Arc<SignalingMetrics>,
}

impl<M: MediaPlane> Live<M> {
    /// Sessions open now.
    pub fn open_sessions(&self) -> usize {
        self.by_group
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// No sessions yet. Media events are routed to rooms from `events`.
    /// With `resume_dir`, every open session is kept there for a restart
    /// (see [`Live::resume_sessions`]).
    pub fn new(
        media: Arc<M>,
        store: Arc<Store>,
        mut events: mpsc::Receiver<MediaEvent>,
        resume_dir: Option<PathBuf>,
    ) -> Arc<Self> {
        let live = Arc::new(Self {
            media,
            store,
            by_group: Mutex::default(),
            by_room: Arc::default(),
            next_room: AtomicU64::new(1),
            next_participant: AtomicU64::new(1),
            next_conn: AtomicU64::new(1),
            resume_dir,
            metrics: Arc::default(),
        });
        let by_room = live.by_room.clone();
        let metrics = live.metrics.clone();
        tokio::spawn(async move {
            while let Some(event) = events.recv().await {
                let room = match &event {
                    MediaEvent::SlotAssigned { room, .. }
                    | MediaEvent::ActiveSpeaker { room, .. }
                    | MediaEvent::VideoPaused { room, .. }
                    | MediaEvent::SendLayers { room, .. }
                    | MediaEvent::Connected { room, .. }
                    | MediaEvent::Disconnected { room, .. } => *room,
                    _ => continue,
                };
                let tx = by_room
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get(&room)
                    .cloned();
                if let Some(tx) = tx {
                    if tx.try_send(RoomInput::Media(event)).is_err() {
                        metrics.trouble(MediaTrouble::EventDropped);
                        tracing::warn!(%room, "media event dropped: the room's inbox is full or closed");
                    }
                }
            }
        });
        live
    }

    /// The open session of a group, if any.
    pub fn session(&self, group: GroupId) -> Option<RoomHandle> {
        self.by_group
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&group)
            .cloned()
    }

    /// Open the group's room (if not open). Returns the session's handle.
    /// `length`: the session's scheduled length (the facilitators' clock).
    pub fn start(
        self: &Arc<Self>,
        group: GroupId,
        capacity: usize,
        length: Duration,
        stepped_out_notice: Option<String>,
    ) -> RoomHandle {
        let settings = RoomSettings {
            capacity,
            reconnect_grace: RECONNECT_GRACE,
            length,
            stepped_out_notice,
        };
        let room = Room::new(settings.clone());
        self.open(group, settings, room, SystemTime::now())
    }

    /// Reopen the sessions that were open when the server stopped, with
    /// everyone in them reconnecting: pages come back by themselves, with
    /// their resume keys (members) or logins (staff), and find their places.
    /// Returns how many were reopened.
    pub fn resume_sessions(self: &Arc<Self>) -> usize {
        let Some(dir) = &self.resume_dir else {
            return 0;
        };
        let saved = resume_file::load_all(dir);
        let mut reopened = 0;
        for s in saved {
            // A session long past its time (the server was down for hours)
            // is not reopened for members to knock on.
            let stale = SystemTime::now() > s.opened + s.length + STALE_AFTER_LENGTH;
            if stale {
                let _ = std::fs::remove_file(resume_file::path_for(dir, s.group));
                continue;
            }
            let group = match self.store.group(s.group) {
                Ok(Some(g)) => g,
                _ => {
                    let _ = std::fs::remove_file(resume_file::path_for(dir, s.group));
                    continue;
                }
            };
            let settings = RoomSettings {
                capacity: s.capacity,
                reconnect_grace: RECONNECT_GRACE,
                length: s.length,
                stepped_out_notice: group.stepped_out_notice.clone(),
            };
            let now = Instant::now();
            let since = SystemTime::now()
                .duration_since(s.opened)
                .unwrap_or_default();
            let opened = now.checked_sub(since).unwrap_or(now);
            let room = Room::restore(settings.clone(), s.room.clone(), opened, now);
            // Ids stay unique: new ones start above every restored one.
            if let Some(top) = room.highest_id() {
                self.next_participant
                    .fetch_max(top.0 + 1, Ordering::Relaxed);
            }
            self.open(s.group, settings, room, s.opened);
            reopened += 1;
        }
        reopened
    }

    /// Tell every page that the server is about to restart (they reconnect
    /// at once, with a little jitter, instead of backing off).
    pub async fn restarting(&self) {
        let rooms: Vec<mpsc::Sender<RoomInput>> = self
            .by_room
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .cloned()
            .collect();
        for tx in rooms {
            let _ = tx.send(RoomInput::Restarting).await;
        }
    }

    fn open(
        self: &Arc<Self>,
        group: GroupId,
        settings: RoomSettings,
        room: Room,
        opened: SystemTime,
    ) -> RoomHandle {
        let mut by_group = self.by_group.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(h) = by_group.get(&group) {
            if !h.tx.is_closed() {
                return h.clone();
            }
        }
        let room_id = RoomId(self.next_room.fetch_add(1, Ordering::Relaxed));
        let (tx, rx) = mpsc::channel(1024);
        let handle = RoomHandle {
            room: room_id,
            tx: tx.clone(),
        };
        by_group.insert(group, handle.clone());
        self.by_room
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(room_id, tx);
        let resume = self.resume_dir.as_ref().map(|dir| ResumeWriter {
            path: resume_file::path_for(dir, group),
            session: SavedSession {
                group,
                opened,
                capacity: settings.capacity,
                length: settings.length,
                room: room.snapshot(),
            },
            written: None,
        });
        let live = self.clone();
        let cx = ActorContext {
            group,
            room_id,
            media: self.media.clone(),
            store: self.store.clone(),
            metrics: self.metrics.clone(),
        };
        tokio::spawn(async move {
            actor::run(cx, room, resume, rx).await;
            live.metrics.set_waiting(room_id, None);
            live.forget(group, room_id);
        });
        tracing::info!(room = %room_id, group = group.0, "session started");
        handle
    }

    fn forget(&self, group: GroupId, room: RoomId) {
        let mut by_group = self.by_group.lock().unwrap_or_else(|p| p.into_inner());
        if by_group.get(&group).is_some_and(|h| h.room == room) {
            by_group.remove(&group);
        }
        self.by_room
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&room);
        tracing::info!(%room, group = group.0, "session closed");
    }

    /// A fresh participant id (unique across all rooms: the media plane
    /// relies on it).
    pub fn new_participant(&self) -> ParticipantId {
        ParticipantId(self.next_participant.fetch_add(1, Ordering::Relaxed))
    }

    /// A fresh connection id.
    pub fn new_conn(&self) -> ConnId {
        ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }
}

impl RoomHandle {
    /// Register a connection's outbox and present its seat.
    pub async fn connect(
        &self,
        conn: ConnId,
        outbox: mpsc::Sender<ServerMsg>,
        enter: Command,
    ) -> bool {
        self.tx
            .send(RoomInput::Connect {
                conn,
                outbox,
                enter,
            })
            .await
            .is_ok()
    }

    /// A message from a connection.
    pub async fn message(&self, conn: ConnId, msg: ClientMsg) -> bool {
        self.tx.send(RoomInput::Message { conn, msg }).await.is_ok()
    }

    /// The connection closed.
    pub async fn lost(&self, conn: ConnId) {
        let _ = self.tx.send(RoomInput::Lost { conn }).await;
    }

    /// End the session from outside the room (the console), if `account`
    /// may (`owner`: it is the group's facilitator). `None`: the session is
    /// already gone.
    pub async fn end(&self, account: AccountId, owner: bool) -> Option<bool> {
        let (done, answer) = tokio::sync::oneshot::channel();
        self.tx
            .send(RoomInput::EndBy {
                account,
                owner,
                done,
            })
            .await
            .ok()?;
        answer.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every kind of trouble has its counter (a missing one would panic in
    /// the room's actor, ending the session).
    #[test]
    fn every_kind_of_media_trouble_is_counted() {
        let m = SignalingMetrics::default();
        for t in MediaTrouble::ALL {
            m.trouble(t);
        }
        for action in AUDITED {
            m.count(action);
        }
        assert!(m.media_trouble().iter().all(|(_, n)| *n == 1));
        assert_eq!(m.media_trouble().len(), MediaTrouble::ALL.len());
    }
}
