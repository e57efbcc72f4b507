//! Worker threads (one `SfuCore` each) and the receivers that feed them.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::{mpsc, oneshot};

use super::RouteTable;
use crate::core::{
    classify, stun_local_ufrag, CoreConfig, CoreCounters, CoreError, DatagramKind, Footprint,
};
use crate::core::{Input, MediaEvent, Output, Route, SfuCore};
use crate::ids::{ParticipantId, PublishPermission, RoomId, TileView};

/// Largest datagram we accept; WebRTC keeps packets under the path MTU.
const MAX_DATAGRAM: usize = 2048;

type Reply<T> = oneshot::Sender<Result<T, CoreError>>;

/// A command for the worker that owns a room.
pub enum Command {
    Add {
        room: RoomId,
        participant: ParticipantId,
        offer: String,
        reply: Reply<String>,
    },
    Remove {
        room: RoomId,
        participant: ParticipantId,
        reply: Reply<()>,
    },
    Publish {
        room: RoomId,
        participant: ParticipantId,
        permission: PublishPermission,
        reply: Reply<()>,
    },
    Subscribe {
        room: RoomId,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        receive: bool,
        reply: Reply<()>,
    },
    View {
        room: RoomId,
        subscriber: ParticipantId,
        view: TileView,
        reply: Reply<()>,
    },
    Counters(oneshot::Sender<CoreCounters>),
    Footprint(oneshot::Sender<Footprint>),
}

/// One datagram on its way from a receiver to the worker that owns it.
pub struct Datagram {
    source: SocketAddr,
    destination: SocketAddr,
    contents: Vec<u8>,
}

/// The media sockets, each with the address announced for it.
pub type Sockets = Arc<Vec<(SocketAddr, UdpSocket)>>;

pub struct Worker {
    index: usize,
    core: SfuCore,
    sockets: Sockets,
    routes: RouteTable,
    events: mpsc::Sender<MediaEvent>,
    send_errors: u64,
}

impl Worker {
    pub fn new(
        index: usize,
        config: CoreConfig,
        sockets: Sockets,
        routes: RouteTable,
        events: mpsc::Sender<MediaEvent>,
    ) -> Self {
        Self {
            index,
            core: SfuCore::new(config, Instant::now()),
            sockets,
            routes,
            events,
            send_errors: 0,
        }
    }

    /// Run until every command sender is gone.
    /// `direct`: sockets this worker reads itself (when it is the only
    /// worker: no hand-off between threads, no copy of the datagram).
    pub fn run(
        mut self,
        mut commands: mpsc::UnboundedReceiver<Command>,
        mut datagrams: mpsc::Receiver<Datagram>,
        direct: Vec<(SocketAddr, UdpSocket)>,
    ) {
        let runtime = match tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .enable_io()
            .build()
        {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(error = %e, "media worker could not start its runtime");
                return;
            }
        };
        runtime.block_on(async move {
            let direct: Vec<(SocketAddr, tokio::net::UdpSocket)> = direct
                .into_iter()
                .filter_map(|(a, s)| tokio::net::UdpSocket::from_std(s).ok().map(|s| (a, s)))
                .collect();
            let mut buf = vec![0u8; MAX_DATAGRAM];
            loop {
                let timeout = self.drain();
                let readable = async {
                    if direct.is_empty() {
                        std::future::pending::<()>().await
                    } else {
                        let _ = futures_util::future::select_all(
                            direct.iter().map(|(_, s)| Box::pin(s.readable())),
                        )
                        .await;
                    }
                };
                tokio::select! {
                    biased;
                    _ = readable => self.read_direct(&direct, &mut buf),
                    cmd = commands.recv() => match cmd {
                        Some(cmd) => self.command(cmd),
                        None => break,
                    },
                    Some(dg) = datagrams.recv() => {
                        self.datagram(dg);
                        // Take what else is queued before computing the next
                        // timeout: under load this batches the timer work.
                        for _ in 0..64 {
                            match datagrams.try_recv() {
                                Ok(dg) => { self.drain(); self.datagram(dg) }
                                Err(_) => break,
                            }
                        }
                    }
                    _ = tokio::time::sleep_until(tokio::time::Instant::from_std(timeout)) => {
                        self.core.handle_input(Instant::now(), Input::Timeout);
                    }
                }
            }
        });
    }

    /// Read what the sockets hold (bounded per wake-up), straight into the core.
    fn read_direct(&mut self, sockets: &[(SocketAddr, tokio::net::UdpSocket)], buf: &mut [u8]) {
        for (announced, socket) in sockets {
            for _ in 0..256 {
                match socket.try_recv_from(buf) {
                    Ok((len, source)) => {
                        let input = Input::Receive {
                            source,
                            destination: *announced,
                            contents: &buf[..len],
                        };
                        self.core.handle_input(Instant::now(), input);
                        self.drain();
                    }
                    // WouldBlock, or an ICMP error about one peer.
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                    Err(_) => continue,
                }
            }
        }
    }

    fn datagram(&mut self, dg: Datagram) {
        self.core.handle_input(
            Instant::now(),
            Input::Receive {
                source: dg.source,
                destination: dg.destination,
                contents: &dg.contents,
            },
        );
    }

    fn command(&mut self, cmd: Command) {
        let now = Instant::now();
        match cmd {
            Command::Add {
                room,
                participant,
                offer,
                reply,
            } => {
                let answer = self.core.add_participant(now, room, participant, &offer);
                // Publish the new routes before the answer leaves, so that the
                // client's first connectivity check finds its way.
                self.drain();
                let _ = reply.send(answer);
            }
            Command::Remove {
                room,
                participant,
                reply,
            } => {
                let _ = reply.send(self.core.remove_participant(now, room, participant));
            }
            Command::Publish {
                room,
                participant,
                permission,
                reply,
            } => {
                let _ = reply.send(self.core.set_publish(now, room, participant, permission));
            }
            Command::Subscribe {
                room,
                subscriber,
                publisher,
                receive,
                reply,
            } => {
                let _ = reply.send(
                    self.core
                        .set_subscription(now, room, subscriber, publisher, receive),
                );
            }
            Command::View {
                room,
                subscriber,
                view,
                reply,
            } => {
                let _ = reply.send(self.core.set_view(now, room, subscriber, view));
            }
            Command::Counters(reply) => {
                let _ = reply.send(self.core.counters());
            }
            Command::Footprint(reply) => {
                let _ = reply.send(self.core.footprint());
            }
        }
    }

    /// Do everything the core asks until it only wants to wait.
    fn drain(&mut self) -> Instant {
        loop {
            match self.core.poll_output() {
                Output::Timeout(t) => return t,
                Output::Transmit(t) => {
                    let socket = self
                        .sockets
                        .iter()
                        .find(|(announced, _)| *announced == t.source)
                        .or_else(|| self.sockets.first())
                        .map(|(_, s)| s);
                    if let Some(socket) = socket {
                        // Non-blocking: a full socket buffer drops the packet,
                        // as the network would; NACK and keyframes recover.
                        if socket.send_to(&t.contents, t.destination).is_err() {
                            self.send_errors += 1;
                        }
                    }
                }
                Output::Event(e) => {
                    if self.events.try_send(e).is_err() {
                        tracing::warn!(
                            "media event dropped: the control plane is not reading events"
                        );
                    }
                }
                Output::RouteAdded(route) => {
                    self.routes
                        .write()
                        .unwrap_or_else(|p| p.into_inner())
                        .insert(route, self.index);
                }
                Output::RouteRemoved(route) => {
                    let mut routes = self.routes.write().unwrap_or_else(|p| p.into_inner());
                    if routes.get(&route) == Some(&self.index) {
                        routes.remove(&route);
                    }
                }
            }
        }
    }
}

/// Start one receiving task per socket on a dedicated thread.
pub fn spawn_receivers(
    sockets: &Sockets,
    routes: RouteTable,
    workers: Vec<mpsc::Sender<Datagram>>,
) -> std::io::Result<()> {
    let mut std_sockets = Vec::new();
    for (announced, s) in sockets.iter() {
        std_sockets.push((*announced, s.try_clone()?));
    }
    let workers = Arc::new(workers);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    std::thread::Builder::new()
        .name("haven-media-rx".into())
        .spawn(move || {
            runtime.block_on(async move {
                let mut tasks = tokio::task::JoinSet::new();
                for (announced, s) in std_sockets {
                    let socket = match tokio::net::UdpSocket::from_std(s) {
                        Ok(s) => s,
                        Err(e) => {
                            tracing::error!(error = %e, "cannot receive on a media socket");
                            continue;
                        }
                    };
                    tasks.spawn(receive_loop(
                        socket,
                        announced,
                        routes.clone(),
                        workers.clone(),
                    ));
                }
                while tasks.join_next().await.is_some() {}
            });
        })?;
    Ok(())
}

async fn receive_loop(
    socket: tokio::net::UdpSocket,
    announced: SocketAddr,
    routes: RouteTable,
    workers: Arc<Vec<mpsc::Sender<Datagram>>>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, source) = match socket.recv_from(&mut buf).await {
            Ok(r) => r,
            // ICMP errors surface here on Linux; they concern one peer only.
            Err(_) => continue,
        };
        let contents = &buf[..len];
        let route = match classify(contents) {
            DatagramKind::Stun => match stun_local_ufrag(contents) {
                Some(u) => Route::Ufrag(u.to_owned()),
                None => continue,
            },
            DatagramKind::Dtls | DatagramKind::Rtp => Route::Addr(source),
            DatagramKind::Unknown => continue,
        };
        let worker = routes
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .get(&route)
            .copied();
        let Some(worker) = worker else { continue };
        let dg = Datagram {
            source,
            destination: announced,
            contents: contents.to_vec(),
        };
        // A worker that cannot keep up loses packets, not memory.
        let _ = workers[worker].try_send(dg);
    }
}
