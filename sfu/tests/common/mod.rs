//! A whole room in simulated time: the SFU core, str0m clients, and the
//! seeded network between them. No sockets, no sleeps, no wall clock.
#![allow(dead_code)]

pub mod client;
pub mod net;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use haven_sfu::core::{CoreConfig, Input, MediaEvent, Output, SfuCore};
use haven_sfu::{ParticipantId, RoomId, SlotIndex, TileView};

pub use client::Client;
pub use net::{Conditions, Net};

pub const ROOM: RoomId = RoomId(1);

pub fn sfu_addr() -> SocketAddr {
    "10.0.0.1:3478".parse().unwrap()
}

pub struct World {
    pub now: Instant,
    pub sfu: SfuCore,
    sfu_timeout: Instant,
    pub clients: Vec<Client>,
    pub net: Net,
    pub events: Vec<(Instant, MediaEvent)>,
    pub slots: usize,
    /// Whether clients joining from now on offer RED (browsers do).
    pub offers_red: bool,
    /// Whether clients joining from now on publish simulcast (browsers do).
    pub simulcast: bool,
}

type Sends = Vec<(SocketAddr, SocketAddr, Vec<u8>)>;

impl World {
    pub fn new(seed: u64, conditions: Conditions) -> Self {
        Self::with_config(seed, conditions, |_| {})
    }

    /// As `new`, with the core's configuration changed by `configure`.
    pub fn with_config(
        seed: u64,
        conditions: Conditions,
        configure: impl FnOnce(&mut CoreConfig),
    ) -> Self {
        let now = Instant::now();
        let mut config = CoreConfig::default();
        config.host_candidates = vec![sfu_addr()];
        configure(&mut config);
        Self {
            now,
            sfu: SfuCore::new(config, now),
            sfu_timeout: now,
            clients: Vec::new(),
            net: Net::new(seed, conditions),
            events: Vec::new(),
            slots: 4,
            offers_red: true,
            simulcast: true,
        }
    }

    pub fn pid(id: u8) -> ParticipantId {
        ParticipantId(u64::from(id))
    }

    /// A new client joins (offer → SFU → answer) and is stepped until connected.
    pub fn join(&mut self, id: u8) -> usize {
        self.join_with(id, self.simulcast)
    }

    /// As `join`; `simulcast: false` publishes a single video stream.
    pub fn join_with(&mut self, id: u8, simulcast: bool) -> usize {
        let (mut client, offer) =
            Client::new_with(id, self.now, self.slots, self.offers_red, simulcast);
        let answer = self
            .sfu
            .add_participant(self.now, ROOM, Self::pid(id), &offer)
            .expect("offer accepted");
        client.accept_answer(&answer);
        let mut sends = Sends::new();
        client.drain(self.now, &mut sends);
        self.clients.push(client);
        self.transmit(sends);
        self.drain_sfu();
        let idx = self.clients.len() - 1;
        let deadline = self.now + Duration::from_secs(5);
        while !self.clients[idx].connected {
            assert!(
                self.now < deadline,
                "client {id} did not connect within 5 s"
            );
            self.step();
        }
        idx
    }

    pub fn leave(&mut self, id: u8) {
        self.sfu
            .remove_participant(self.now, ROOM, Self::pid(id))
            .expect("participant known");
        self.clients.retain(|c| c.id != id);
        self.drain_sfu();
    }

    pub fn client(&self, id: u8) -> &Client {
        self.clients
            .iter()
            .find(|c| c.id == id)
            .expect("client exists")
    }

    pub fn client_mut(&mut self, id: u8) -> &mut Client {
        self.clients
            .iter_mut()
            .find(|c| c.id == id)
            .expect("client exists")
    }

    fn transmit(&mut self, sends: Sends) {
        for (from, to, bytes) in sends {
            self.net.send(self.now, from, to, bytes);
        }
    }

    /// Feed a raw datagram to the SFU as if it came from `from`.
    pub fn inject(&mut self, from: SocketAddr, bytes: &[u8]) {
        self.sfu.handle_input(
            self.now,
            Input::Receive {
                source: from,
                destination: sfu_addr(),
                contents: bytes,
            },
        );
        self.drain_sfu();
    }

    pub fn drain_sfu(&mut self) {
        loop {
            match self.sfu.poll_output() {
                Output::Timeout(t) => {
                    self.sfu_timeout = t;
                    return;
                }
                Output::Transmit(t) => {
                    let bytes = t.contents.to_vec();
                    self.net.send(self.now, t.source, t.destination, bytes);
                }
                Output::Event(e) => {
                    // Pages encode only the layers somebody receives.
                    if let MediaEvent::SendLayers {
                        publisher, active, ..
                    } = e
                    {
                        if let Some(c) = self
                            .clients
                            .iter_mut()
                            .find(|c| Self::pid(c.id) == publisher)
                        {
                            c.send_layers(active);
                        }
                    }
                    self.events.push((self.now, e));
                }
                Output::RouteAdded(_) | Output::RouteRemoved(_) => {}
            }
        }
    }

    /// Advance to the next thing that happens, and do it.
    pub fn step(&mut self) {
        let mut next = self.sfu_timeout;
        for c in &self.clients {
            next = next.min(c.next_timeout);
            if let Some(t) = c.next_media() {
                next = next.min(t);
            }
        }
        if let Some(t) = self.net.next_time() {
            next = next.min(t);
        }
        self.now = self.now.max(next);
        let now = self.now;

        while let Some(p) = self.net.pop_due(now) {
            if p.to == sfu_addr() {
                self.sfu.handle_input(
                    now,
                    Input::Receive {
                        source: p.from,
                        destination: p.to,
                        contents: &p.bytes,
                    },
                );
                self.drain_sfu();
            } else if let Some(c) = self.clients.iter_mut().find(|c| c.addr == p.to) {
                let mut sends = Sends::new();
                c.receive(now, p.from, &p.bytes, &mut sends);
                self.transmit(sends);
            }
        }
        if self.sfu_timeout <= now {
            self.sfu.handle_input(now, Input::Timeout);
            self.drain_sfu();
        }
        for i in 0..self.clients.len() {
            let mut sends = Sends::new();
            if self.clients[i].next_timeout <= now {
                self.clients[i].timeout(now, &mut sends);
            }
            if self.clients[i].next_media().is_some_and(|t| t <= now) {
                self.clients[i].send_media(now, &mut sends);
            }
            self.transmit(sends);
        }
    }

    /// Client `id` asks every video stream it receives for a keyframe.
    pub fn ask_for_keyframes(&mut self, id: u8) {
        let now = self.now;
        let mut sends = Sends::new();
        self.client_mut(id).ask_for_keyframes(now, &mut sends);
        self.transmit(sends);
    }

    pub fn run_for(&mut self, d: Duration) {
        let until = self.now + d;
        while self.now < until {
            self.step();
        }
    }

    /// The slot of `sub` that carries `publisher` (from the announcements).
    pub fn slot_of(&self, sub: u8, publisher: u8) -> SlotIndex {
        self.events
            .iter()
            .rev()
            .find_map(|(_, e)| match e {
                MediaEvent::SlotAssigned {
                    subscriber,
                    slot,
                    publisher: Some(p),
                    ..
                } if *subscriber == Self::pid(sub) && *p == Self::pid(publisher) => Some(*slot),
                _ => None,
            })
            .expect("slot assigned")
    }

    /// `sub`'s page shows these tiles (publisher, width in pixels), and no
    /// others.
    pub fn show(&mut self, sub: u8, tiles: &[(u8, u16)]) {
        let visible = tiles
            .iter()
            .map(|(publisher, width)| (self.slot_of(sub, *publisher), *width))
            .collect();
        let now = self.now;
        self.sfu
            .set_view(now, ROOM, Self::pid(sub), TileView { visible })
            .expect("known subscriber");
        self.drain_sfu();
    }

    /// Video packets per layer `sub` received from `publisher` over the
    /// next `d`.
    pub fn received_during(&mut self, d: Duration, sub: u8, publisher: u8) -> BTreeMap<u8, u64> {
        let before = self.client(sub).from(publisher).video_layers.clone();
        self.run_for(d);
        self.client(sub)
            .from(publisher)
            .video_layers
            .iter()
            .map(|(l, n)| (*l, n - before.get(l).copied().unwrap_or(0)))
            .filter(|(_, n)| *n > 0)
            .collect()
    }

    /// Events the SFU emitted since `since`.
    pub fn events_since(&self, since: Instant) -> impl Iterator<Item = &MediaEvent> {
        self.events
            .iter()
            .filter(move |(t, _)| *t >= since)
            .map(|(_, e)| e)
    }
}
