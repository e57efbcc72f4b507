//! The actor that owns one room.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use haven_sfu::{MediaEvent, MediaPlane, PublishPermission};
use tokio::sync::mpsc;

use super::resume_file::{self, SavedSession};
use super::wire::{command_for, notice_to_msg};
use crate::protocol::{ClientMsg, ServerMsg};
use crate::room::{AccountId, Command, ConnId, Effect, GroupId, ParticipantId, Room, RoomId};
use crate::store::Store;

use super::{MediaTrouble, SignalingMetrics};

/// What reaches a room actor.
pub enum RoomInput {
    /// A new connection with its outbox, presenting a seat.
    Connect {
        /// The connection.
        conn: ConnId,
        /// Where its messages go.
        outbox: mpsc::Sender<ServerMsg>,
        /// The `Enter` command for its seat.
        enter: Command,
    },
    /// A message from a connection.
    Message {
        /// The connection.
        conn: ConnId,
        /// The message.
        msg: ClientMsg,
    },
    /// The connection closed.
    Lost {
        /// The connection.
        conn: ConnId,
    },
    /// An event from the media plane.
    Media(MediaEvent),
    /// The server is about to stop (SIGTERM): tell every page, so that it
    /// reconnects at once to the restarted server.
    Restarting,
    /// End the session now, from the console over HTTP, if `account` may
    /// (see `Room::may_end`); the answer goes to `done`.
    EndBy {
        /// The logged-in account asking.
        account: AccountId,
        /// Whether it owns the group (its facilitator).
        owner: bool,
        /// Whether the session was ended.
        done: tokio::sync::oneshot::Sender<bool>,
    },
}

struct Actor<M: MediaPlane> {
    group: GroupId,
    room_id: RoomId,
    room: Room,
    media: Arc<M>,
    store: Arc<Store>,
    metrics: Arc<SignalingMetrics>,
    outboxes: HashMap<ConnId, mpsc::Sender<ServerMsg>>,
    conn_of: HashMap<ParticipantId, ConnId>,
    closed: bool,
    resume: Option<ResumeWriter>,
}

/// Keeps the session's resume file (see `resume_file.rs`) in step with the
/// room: rewritten when what a restart needs changes, deleted at the end.
pub struct ResumeWriter {
    /// The file.
    pub path: std::path::PathBuf,
    /// The session's settings and opening time (the room is filled in).
    pub session: SavedSession,
    /// What was last written (none yet: the first change writes).
    pub written: Option<crate::room::RoomSnapshot>,
}

impl ResumeWriter {
    fn keep(&mut self, room: &Room) {
        let snapshot = room.snapshot();
        if self.written.as_ref() == Some(&snapshot) {
            return;
        }
        self.session.room = snapshot;
        let text = resume_file::encode(&self.session);
        match resume_file::write_atomically(&self.path, &text) {
            Ok(()) => self.written = Some(self.session.room.clone()),
            Err(e) => {
                tracing::warn!(error = %e, "the session's resume file cannot be written: a restart would end this session")
            }
        }
    }

    fn forget(&self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(error = %e, "the ended session's resume file cannot be removed");
            }
        }
    }
}

/// Where a room actor runs and what it reports to.
pub struct ActorContext<M: MediaPlane> {
    /// The group.
    pub group: GroupId,
    /// The media-plane room.
    pub room_id: RoomId,
    /// The media plane.
    pub media: Arc<M>,
    /// The database (audit log).
    pub store: Arc<Store>,
    /// Counters.
    pub metrics: Arc<SignalingMetrics>,
}

/// Run a room (new, or restored after a restart) until its session ends.
pub async fn run<M: MediaPlane>(
    cx: ActorContext<M>,
    room: Room,
    resume: Option<ResumeWriter>,
    mut inbox: mpsc::Receiver<RoomInput>,
) {
    let mut a = Actor {
        group: cx.group,
        room_id: cx.room_id,
        room,
        media: cx.media,
        store: cx.store,
        metrics: cx.metrics,
        outboxes: HashMap::new(),
        conn_of: HashMap::new(),
        closed: false,
        resume,
    };
    a.keep_resume_file();
    while !a.closed {
        let deadline = a.room.next_deadline();
        let input = match deadline {
            Some(d) => tokio::select! {
                i = inbox.recv() => i,
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(d)) => {
                    a.apply(Command::Tick).await;
                    a.keep_resume_file();
                    continue;
                }
            },
            None => inbox.recv().await,
        };
        let Some(input) = input else { break };
        // Media events (slots, speakers) change nothing a restart needs.
        let may_change = !matches!(input, RoomInput::Media(_));
        a.input(input).await;
        if may_change {
            a.keep_resume_file();
        }
    }
    if let Some(w) = &a.resume {
        w.forget();
    }
}

impl<M: MediaPlane> Actor<M> {
    fn keep_resume_file(&mut self) {
        if self.closed {
            return;
        }
        if let Some(w) = self.resume.as_mut() {
            w.keep(&self.room);
        }
    }

    async fn input(&mut self, input: RoomInput) {
        match input {
            RoomInput::Restarting => {
                let conns: Vec<ConnId> = self.outboxes.keys().copied().collect();
                for conn in conns {
                    self.send_conn(conn, ServerMsg::Restarting);
                }
            }
            RoomInput::Connect {
                conn,
                outbox,
                enter,
            } => {
                self.outboxes.insert(conn, outbox);
                self.apply(enter).await;
            }
            RoomInput::Message { conn, msg } => {
                let Some(by) = self.room.participant_of(conn) else {
                    self.send_conn(
                        conn,
                        ServerMsg::error("not_joined", "This connection is not in the room."),
                    );
                    return;
                };
                match command_for(by, msg) {
                    Ok(cmd) => self.apply(cmd).await,
                    Err(error) => self.send_conn(conn, error),
                }
            }
            RoomInput::Lost { conn } => {
                self.outboxes.remove(&conn);
                self.apply(Command::ConnectionLost { conn }).await;
            }
            RoomInput::Media(event) => self.media_event(event),
            RoomInput::EndBy {
                account,
                owner,
                done,
            } => {
                let allowed = self.room.may_end(account, owner);
                if allowed {
                    let moderator = self.room.moderator();
                    let fx = self.room.end_now(moderator);
                    self.carry_out(fx).await;
                }
                // The asker may have gone (closed the page): nothing to tell.
                let _ = done.send(allowed);
            }
        }
    }

    async fn apply(&mut self, cmd: Command) {
        let kind = cmd.kind();
        let fx = self.room.handle(Instant::now(), cmd);
        tracing::debug!(room = %self.room_id, command = kind, effects = fx.len(), "room command");
        self.carry_out(fx).await;
        self.metrics
            .set_waiting(self.room_id, Some(self.room.waiting_count()));
    }

    async fn carry_out(&mut self, fx: Vec<Effect>) {
        for effect in fx {
            match effect {
                Effect::Attach { conn, who } => {
                    tracing::trace!(room = %self.room_id, conn = conn.0, participant = %who, "connection attached");
                    self.conn_of.insert(who, conn);
                }
                Effect::Notify { to, notice } => {
                    if let Some(conn) = self.conn_of.get(&to).copied() {
                        self.send_conn(conn, notice_to_msg(notice));
                    }
                }
                Effect::Reply { conn, notice } => self.send_conn(conn, notice_to_msg(notice)),
                Effect::Close { conn } => {
                    // Dropping the outbox ends the connection's writer, which
                    // closes the socket after what was already queued.
                    self.outboxes.remove(&conn);
                    self.conn_of.retain(|_, c| *c != conn);
                }
                Effect::MediaAdd { who, sdp } => {
                    let answer = self.media.add_participant(self.room_id, who, sdp).await;
                    let msg = match answer {
                        Ok(sdp) => ServerMsg::Answer { sdp },
                        Err(e) => ServerMsg::error("media", e.to_string()),
                    };
                    self.send_to(who, msg);
                }
                Effect::MediaRemove { who } => {
                    if let Err(e) = self.media.remove_participant(self.room_id, who).await {
                        self.metrics.trouble(MediaTrouble::Remove);
                        tracing::warn!(room = %self.room_id, participant = %who, error = %e, "media plane: remove failed");
                    }
                }
                Effect::MediaPublish { who, audio, video } => {
                    let permission = PublishPermission { audio, video };
                    if let Err(e) = self.media.set_publish(self.room_id, who, permission).await {
                        self.metrics.trouble(MediaTrouble::Publish);
                        tracing::warn!(room = %self.room_id, participant = %who, error = %e, "media plane: publish permission failed");
                    }
                }
                Effect::MediaRoute {
                    subscriber,
                    publisher,
                    receive,
                } => {
                    if let Err(e) = self
                        .media
                        .set_subscription(self.room_id, subscriber, publisher, receive)
                        .await
                    {
                        self.metrics.trouble(MediaTrouble::Route);
                        tracing::warn!(room = %self.room_id, %subscriber, %publisher, error = %e, "media plane: route failed");
                    }
                }
                Effect::MediaView { who, view } => {
                    if let Err(e) = self.media.set_view(self.room_id, who, view).await {
                        self.metrics.trouble(MediaTrouble::View);
                        tracing::warn!(room = %self.room_id, participant = %who, error = %e, "media plane: view failed");
                    }
                }
                Effect::Audit {
                    action,
                    actor,
                    subject,
                } => {
                    self.metrics.count(action);
                    if let Err(e) =
                        self.store
                            .audit(self.group, self.room_id.0, action, actor, subject)
                    {
                        tracing::error!(error = %e, "audit log write failed");
                    }
                }
                Effect::RoomClosed => self.closed = true,
            }
        }
    }

    fn media_event(&mut self, event: MediaEvent) {
        match event {
            // An event queued before the subscriber was returned to the
            // waiting room (or removed) must not tell them who is in it.
            MediaEvent::SlotAssigned { subscriber, .. } if !self.room.is_admitted(subscriber) => {}
            MediaEvent::SlotAssigned {
                subscriber,
                slot,
                audio_mid,
                video_mid,
                publisher,
                ..
            } => self.send_to(
                subscriber,
                ServerMsg::Slot {
                    slot: slot.0,
                    audio_mid,
                    video_mid,
                    participant: publisher.map(|p| p.0),
                },
            ),
            MediaEvent::ActiveSpeaker { participant, .. } => {
                // Nobody learns who speaks on the other side of a side room.
                let admitted: Vec<ParticipantId> = self
                    .conn_of
                    .keys()
                    .copied()
                    .filter(|p| self.room.is_admitted(*p))
                    .filter(|p| participant.is_none_or(|s| self.room.hears(*p, s)))
                    .collect();
                for p in admitted {
                    self.send_to(
                        p,
                        ServerMsg::ActiveSpeaker {
                            participant: participant.map(|x| x.0),
                        },
                    );
                }
            }
            MediaEvent::VideoPaused {
                subscriber, paused, ..
            } if self.room.is_admitted(subscriber) => {
                self.send_to(subscriber, ServerMsg::VideoPaused { paused })
            }
            MediaEvent::SendLayers {
                publisher, active, ..
            } if self.room.is_admitted(publisher) => {
                self.send_to(publisher, ServerMsg::SendLayers { active })
            }
            _ => {}
        }
    }

    fn send_to(&mut self, who: ParticipantId, msg: ServerMsg) {
        if let Some(conn) = self.conn_of.get(&who).copied() {
            self.send_conn(conn, msg);
        }
    }

    fn send_conn(&mut self, conn: ConnId, msg: ServerMsg) {
        if let Some(outbox) = self.outboxes.get(&conn) {
            if outbox.try_send(msg).is_err() {
                // A client that does not read its messages is dropped rather
                // than allowed to hold the room's memory.
                self.outboxes.remove(&conn);
                self.conn_of.retain(|_, c| *c != conn);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use haven_sfu::io::{MediaAddr, MediaConfig, MediaServer};
    use haven_sfu::SlotIndex;

    use super::*;
    use crate::room::{Arrival, DisplayName, ResumeKey, Role, RoomSettings, Seat};

    fn arrival(conn: u64, id: u64, seat: Seat, role: Role) -> Command {
        Command::Enter(Arrival {
            conn: ConnId(conn),
            id: ParticipantId(id),
            seat,
            role,
            name: DisplayName::parse("Someone").unwrap(),
            key: ResumeKey::new(format!("key-{conn}")),
            public_key: None,
        })
    }

    /// Finding 11 of the hardening round: slot events are filtered to
    /// admitted participants, like speaker events.
    #[tokio::test]
    async fn a_queued_slot_event_never_reaches_someone_back_in_the_waiting_room() {
        let config = MediaConfig::new(vec![MediaAddr::same(([127, 0, 0, 1], 0).into())]);
        let (media, _events) = MediaServer::start(config).expect("media plane on loopback");
        let (tx, rx) = mpsc::channel(64);
        let room = RoomId(1);
        let settings = RoomSettings {
            capacity: 12,
            reconnect_grace: Duration::from_secs(60),
            length: Duration::from_secs(90 * 60),
            stepped_out_notice: None,
        };
        let cx = ActorContext {
            group: GroupId(1),
            room_id: room,
            media: Arc::new(media),
            store: Arc::new(Store::in_memory().unwrap()),
            metrics: Arc::default(),
        };
        let actor = tokio::spawn(run(cx, Room::new(settings), None, rx));
        let (fac_out, _fac_in) = mpsc::channel(256);
        let (member_out, mut member_in) = mpsc::channel(256);
        let inputs = [
            RoomInput::Connect {
                conn: ConnId(1),
                outbox: fac_out,
                enter: arrival(1, 1, Seat::Staff(AccountId(1)), Role::Facilitator),
            },
            RoomInput::Connect {
                conn: ConnId(2),
                outbox: member_out,
                enter: arrival(2, 2, Seat::Group, Role::Member),
            },
            RoomInput::Message {
                conn: ConnId(1),
                msg: ClientMsg::Admit { participant: 2 },
            },
            RoomInput::Message {
                conn: ConnId(1),
                msg: ClientMsg::ReturnToWaiting { participant: 2 },
            },
            // Queued by the media plane before it heard of the return.
            RoomInput::Media(MediaEvent::SlotAssigned {
                room,
                subscriber: ParticipantId(2),
                slot: SlotIndex(0),
                audio_mid: "2".into(),
                video_mid: "3".into(),
                publisher: Some(ParticipantId(1)),
            }),
            RoomInput::EndBy {
                account: AccountId(1),
                owner: true,
                done: tokio::sync::oneshot::channel().0,
            },
        ];
        for input in inputs {
            assert!(tx.send(input).await.is_ok());
        }
        actor.await.unwrap();
        let mut seen = Vec::new();
        while let Ok(msg) = member_in.try_recv() {
            seen.push(msg);
        }
        assert!(
            seen.iter()
                .any(|m| matches!(m, ServerMsg::ReturnedToWaiting)),
            "{seen:?}"
        );
        assert!(
            !seen.iter().any(|m| matches!(m, ServerMsg::Slot { .. })),
            "a slot reached the waiting room: {seen:?}"
        );
    }
}
