//! Four members with independent WebRTC stacks (webrtc-rs) join one room over
//! real UDP on loopback. Each publishes a distinct Opus tone and a video
//! stream; each decodes what it receives and must recognise every other
//! member's tone, and never its own. This proves routing, not just bytes.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use haven_e2e::webrtc_client::ToneClient;
use haven_sfu::io::{MediaAddr, MediaConfig, MediaServer};
use haven_sfu::{MediaEvent, MediaPlane, ParticipantId, RoomId};

const TONES: [f32; 4] = [440.0, 660.0, 880.0, 1100.0];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_members_each_hear_the_three_others_tones() {
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut config = MediaConfig::new(vec![MediaAddr::same(loopback)]);
    config.workers = 2;
    let (media, mut events) = MediaServer::start(config).expect("media plane starts");
    let room = RoomId(7);

    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    let mut senders = Vec::new();
    for (i, freq) in TONES.iter().enumerate() {
        let mut client = ToneClient::new(i as u32, TONES.len() - 1, TONES.to_vec()).await;
        let answer = media
            .add_participant(room, ParticipantId(i as u64 + 1), client.take_offer())
            .await
            .expect("offer accepted");
        client.accept_answer(answer).await;
        senders.push(client.spawn_media(*freq, stop.clone()));
        clients.push(client);
    }

    // Wait until every member recognises three tones, or give up after 20 s.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let all_heard = clients.iter().all(|c| {
            let r = c.received.lock().unwrap();
            r.tones.values().filter(|t| t.is_some()).count() >= 3
        });
        if all_heard || tokio::time::Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Keep listening a little longer so that a wrong tone would show up too.
    tokio::time::sleep(Duration::from_secs(1)).await;

    for (i, c) in clients.iter().enumerate() {
        let r = c.received.lock().unwrap();
        let mut heard: Vec<f32> = r.tones.values().flatten().copied().collect();
        heard.sort_by(f32::total_cmp);
        let expected: Vec<f32> = TONES.iter().copied().filter(|f| *f != TONES[i]).collect();
        assert_eq!(
            heard, expected,
            "member {i} (tone {}) heard {:?}",
            TONES[i], r.tones
        );
        assert_eq!(r.decode_errors, 0, "member {i} received undecodable audio");
        let video_streams = r.video_packets.values().filter(|n| **n > 20).count();
        assert_eq!(
            video_streams, 3,
            "member {i} video packets per stream: {:?}",
            r.video_packets
        );
    }

    // The control plane was told which slot carries whom: 3 per member.
    let mut assigned = 0;
    while let Ok(e) = events.try_recv() {
        if matches!(
            e,
            MediaEvent::SlotAssigned {
                publisher: Some(_),
                ..
            }
        ) {
            assigned += 1;
        }
    }
    assert_eq!(assigned, 12);

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in senders {
        let _ = s.await;
    }
    for (i, c) in clients.iter().enumerate() {
        let _ = c.pc.close().await;
        media
            .remove_participant(room, ParticipantId(i as u64 + 1))
            .await
            .unwrap();
    }
    let left = media.footprint().await;
    assert_eq!(
        (
            left.rooms,
            left.participants,
            left.ufrag_routes,
            left.addr_routes
        ),
        (0, 0, 0, 0)
    );
}
