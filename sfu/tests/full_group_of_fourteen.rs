//! A full group: facilitator, co-facilitator and twelve members, fourteen
//! str0m peers each offering thirteen receive slots. Everyone receives all
//! thirteen others' audio and video, and a bad offer or a fifteenth person is
//! refused without disturbing anyone.

mod common;
use std::time::Duration;

use common::{Client, Conditions, World, ROOM};
use haven_sfu::core::CoreError;
use haven_sfu::ParticipantId;

#[test]
fn fourteen_people_all_receive_the_thirteen_others() {
    let mut w = World::new(14, Conditions::CLEAN);
    w.slots = 13;
    for id in 1..=14 {
        w.join(id);
    }
    w.run_for(Duration::from_secs(1));
    let mark: Vec<(u8, u8, u64, u64)> = w
        .clients
        .iter()
        .flat_map(|c| {
            (1..=14u8)
                .filter(move |o| *o != c.id)
                .map(move |o| (c.id, o, c.from(o).audio_packets, c.from(o).video_packets))
        })
        .collect();

    // Refusals leave the room as it was.
    let (_, offer) = Client::new(15, w.now, 13);
    let now = w.now;
    assert_eq!(
        w.sfu.add_participant(now, ROOM, ParticipantId(15), &offer),
        Err(CoreError::RoomFull(ROOM))
    );
    let other_room = haven_sfu::RoomId(2);
    for garbage in ["", "v=0\r\nnot sdp", &offer[..offer.len() / 2]] {
        let refused = w
            .sfu
            .add_participant(now, other_room, ParticipantId(16), garbage);
        assert!(
            matches!(refused, Err(CoreError::BadOffer(_))),
            "{refused:?}"
        );
    }
    let f = w.sfu.footprint();
    assert_eq!((f.rooms, f.participants, f.ufrag_routes), (1, 14, 14));

    w.run_for(Duration::from_secs(1));
    for (sub, publisher, audio, video) in mark {
        let r = w.client(sub).from(publisher);
        assert!(
            r.audio_packets >= audio + 40,
            "{sub} stopped hearing {publisher}"
        );
        assert!(
            r.video_packets >= video + 20,
            "{sub} stopped seeing {publisher}"
        );
    }
    for c in &w.clients {
        assert!(!c.received.contains_key(&c.id));
        assert_eq!(c.received.len(), 13);
    }
    assert_eq!(w.sfu.footprint().occupied_slots, 14 * 13);
}
