//! The thin tokio shell around [`crate::core::SfuCore`].
//!
//! * One UDP port for every peer (bound once per announced address).
//! * Worker threads, each with its own single-threaded runtime and its own
//!   `SfuCore`. A room lives on exactly one worker, so a room's packets never
//!   cross threads and one busy room cannot stall another worker's rooms.
//! * Receiver tasks read datagrams and hand each to the worker that owns its
//!   route (STUN ufrag or verified address); unknown senders are dropped here.

mod addrs;
mod worker;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, RwLock};

use tokio::sync::{mpsc, oneshot};

pub use addrs::{default_media_addrs, MediaAddr};
use worker::{Command, Datagram, Worker};

use crate::core::{CoreConfig, CoreCounters, Footprint, MediaEvent, Route};
use crate::ids::{ParticipantId, PublishPermission, RoomId, TileView};
use crate::plane::{MediaError, MediaPlane};

/// Everything the media plane needs to start.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct MediaConfig {
    /// Where to listen and what to announce (same port on each).
    pub addrs: Vec<MediaAddr>,
    /// Worker threads; rooms are spread over them.
    pub workers: usize,
    /// Settings of each worker's core. Host candidates are filled from `addrs`.
    pub core: CoreConfig,
}

impl MediaConfig {
    /// Listen on these addresses with one worker per available core.
    pub fn new(addrs: Vec<MediaAddr>) -> Self {
        let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            addrs,
            workers,
            core: CoreConfig::default(),
        }
    }
}

/// Why the media plane could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// A media socket could not be bound.
    #[error("cannot listen for media on UDP {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// No address to listen on was configured.
    #[error("no media address configured")]
    NoAddress,
    /// A worker thread could not start.
    #[error("cannot start a media worker: {0}")]
    Worker(std::io::Error),
}

/// Where each route's datagrams go: shared by the receivers (read) and the
/// workers (write when their core adds or removes a route).
pub(crate) type RouteTable = Arc<RwLock<HashMap<Route, usize>>>;

/// The media sockets, bound, with no thread started yet.
pub struct BoundMedia {
    config: MediaConfig,
    sockets: Vec<(SocketAddr, std::net::UdpSocket)>,
}

impl BoundMedia {
    /// The addresses that will be announced to clients.
    pub fn local_addrs(&self) -> Vec<SocketAddr> {
        self.sockets.iter().map(|(a, _)| *a).collect()
    }

    /// Start the workers and the receivers.
    pub fn start(self) -> Result<(MediaServer, mpsc::Receiver<MediaEvent>), StartError> {
        let local_addrs = self.local_addrs();
        let port = local_addrs.first().map_or(0, |a| a.port());
        let sockets = Arc::new(self.sockets);
        let routes: RouteTable = Arc::default();
        let (events_tx, events_rx) = mpsc::channel(4096);
        let mut commands = Vec::new();
        let mut datagram_txs = Vec::new();
        let workers = self.config.workers.max(1);
        // One worker reads the sockets itself; several share a receiver
        // thread that routes each datagram to the worker owning its room.
        let mut direct = Vec::new();
        if workers == 1 {
            for (announced, socket) in sockets.iter() {
                direct.push((*announced, socket.try_clone().map_err(StartError::Worker)?));
            }
        }
        for index in 0..workers {
            let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
            let (dg_tx, dg_rx) = mpsc::channel::<Datagram>(4096);
            let worker = Worker::new(
                index,
                self.config.core.clone(),
                sockets.clone(),
                routes.clone(),
                events_tx.clone(),
            );
            let direct = std::mem::take(&mut direct);
            std::thread::Builder::new()
                .name(format!("haven-media-{index}"))
                .spawn(move || worker.run(cmd_rx, dg_rx, direct))
                .map_err(StartError::Worker)?;
            commands.push(cmd_tx);
            datagram_txs.push(dg_tx);
        }
        if workers > 1 {
            worker::spawn_receivers(&sockets, routes, datagram_txs).map_err(StartError::Worker)?;
        }
        tracing::info!(workers = commands.len(), port, "media plane started");
        let server = MediaServer {
            workers: Arc::new(commands),
            rooms: Arc::default(),
            local_addrs: Arc::new(local_addrs),
        };
        Ok((server, events_rx))
    }
}

/// The running media plane. Cheap to clone; implements [`MediaPlane`].
#[derive(Clone)]
pub struct MediaServer {
    workers: Arc<Vec<mpsc::UnboundedSender<Command>>>,
    rooms: Arc<Mutex<RoomPlacement>>,
    local_addrs: Arc<Vec<SocketAddr>>,
}

/// Which worker owns which room, and how many participants each room has
/// (so the placement is forgotten when a room empties).
#[derive(Default)]
struct RoomPlacement {
    worker_of: HashMap<RoomId, (usize, usize)>,
}

impl MediaServer {
    /// Bind the media port and start the workers. Returns the server and the
    /// stream of events for the control plane.
    pub fn start(config: MediaConfig) -> Result<(Self, mpsc::Receiver<MediaEvent>), StartError> {
        Self::bind(config)?.start()
    }

    /// Bind the media sockets without starting any thread (so the process
    /// can be locked down between the two).
    pub fn bind(mut config: MediaConfig) -> Result<BoundMedia, StartError> {
        if config.addrs.is_empty() {
            return Err(StartError::NoAddress);
        }
        let mut sockets = Vec::new();
        let mut local_addrs = Vec::new();
        let mut port = None;
        for a in &config.addrs {
            let mut bind = a.bind;
            // Port 0 means "any": the first socket picks, the others follow it.
            if bind.port() == 0 {
                if let Some(p) = port {
                    bind.set_port(p);
                }
            }
            let socket = std::net::UdpSocket::bind(bind)
                .map_err(|source| StartError::Bind { addr: bind, source })?;
            let bound = socket
                .local_addr()
                .map_err(|source| StartError::Bind { addr: bind, source })?;
            port.get_or_insert(bound.port());
            let mut announce = a.announce;
            if announce.port() == 0 {
                announce.set_port(bound.port());
            }
            socket
                .set_nonblocking(true)
                .map_err(|source| StartError::Bind { addr: bind, source })?;
            local_addrs.push(announce);
            sockets.push((announce, socket));
        }
        config.core.host_candidates = local_addrs;
        Ok(BoundMedia { config, sockets })
    }

    /// The addresses announced to clients (with the bound port).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// Counters summed over all workers.
    pub async fn counters(&self) -> CoreCounters {
        let mut total = CoreCounters::default();
        for (i, w) in self.workers.iter().enumerate() {
            let (tx, rx) = oneshot::channel();
            if w.send(Command::Counters(tx)).is_ok() {
                if let Ok(c) = rx.await {
                    total.merge(&c, i as u64);
                }
            }
        }
        total
    }

    /// State held, summed over all workers.
    pub async fn footprint(&self) -> Footprint {
        let mut total = Footprint::default();
        for w in self.workers.iter() {
            let (tx, rx) = oneshot::channel();
            if w.send(Command::Footprint(tx)).is_ok() {
                if let Ok(f) = rx.await {
                    total.merge(&f);
                }
            }
        }
        total
    }

    /// The worker that owns `room`, placing a new room on the least busy one.
    fn worker_for(&self, room: RoomId, joining: bool) -> Option<usize> {
        let mut placement = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((w, n)) = placement.worker_of.get_mut(&room) {
            if joining {
                *n += 1;
            }
            return Some(*w);
        }
        if !joining {
            return None;
        }
        let mut load = vec![0usize; self.workers.len()];
        for (w, _) in placement.worker_of.values() {
            load[*w] += 1;
        }
        let w = (0..load.len()).min_by_key(|i| load[*i]).unwrap_or(0);
        placement.worker_of.insert(room, (w, 1));
        Some(w)
    }

    /// One participant fewer in `room` (forget the room when it empties).
    fn left(&self, room: RoomId) {
        let mut placement = self.rooms.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, n)) = placement.worker_of.get_mut(&room) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                placement.worker_of.remove(&room);
            }
        }
    }

    async fn call<T>(
        &self,
        worker: usize,
        make: impl FnOnce(oneshot::Sender<Result<T, crate::core::CoreError>>) -> Command,
    ) -> Result<T, MediaError> {
        let (tx, rx) = oneshot::channel();
        self.workers[worker]
            .send(make(tx))
            .map_err(|_| MediaError::Stopped)?;
        Ok(rx.await.map_err(|_| MediaError::Stopped)??)
    }

    fn unknown(participant: ParticipantId) -> MediaError {
        MediaError::Refused(crate::core::CoreError::UnknownParticipant(participant))
    }
}

impl MediaPlane for MediaServer {
    async fn add_participant(
        &self,
        room: RoomId,
        participant: ParticipantId,
        offer: String,
    ) -> Result<String, MediaError> {
        let worker = self.worker_for(room, true).ok_or(MediaError::Stopped)?;
        let result = self
            .call(worker, |reply| Command::Add {
                room,
                participant,
                offer,
                reply,
            })
            .await;
        if result.is_err() {
            self.left(room);
        }
        result
    }

    async fn remove_participant(
        &self,
        room: RoomId,
        participant: ParticipantId,
    ) -> Result<(), MediaError> {
        let worker = self
            .worker_for(room, false)
            .ok_or_else(|| Self::unknown(participant))?;
        let result = self
            .call(worker, |reply| Command::Remove {
                room,
                participant,
                reply,
            })
            .await;
        if result.is_ok() {
            self.left(room);
        }
        result
    }

    async fn set_publish(
        &self,
        room: RoomId,
        participant: ParticipantId,
        permission: PublishPermission,
    ) -> Result<(), MediaError> {
        let worker = self
            .worker_for(room, false)
            .ok_or_else(|| Self::unknown(participant))?;
        self.call(worker, |reply| Command::Publish {
            room,
            participant,
            permission,
            reply,
        })
        .await
    }

    async fn set_subscription(
        &self,
        room: RoomId,
        subscriber: ParticipantId,
        publisher: ParticipantId,
        receive: bool,
    ) -> Result<(), MediaError> {
        let worker = self
            .worker_for(room, false)
            .ok_or_else(|| Self::unknown(subscriber))?;
        self.call(worker, |reply| Command::Subscribe {
            room,
            subscriber,
            publisher,
            receive,
            reply,
        })
        .await
    }
    async fn set_view(
        &self,
        room: RoomId,
        subscriber: ParticipantId,
        view: TileView,
    ) -> Result<(), MediaError> {
        let worker = self
            .worker_for(room, false)
            .ok_or_else(|| Self::unknown(subscriber))?;
        self.call(worker, |reply| Command::View {
            room,
            subscriber,
            view,
            reply,
        })
        .await
    }
}
