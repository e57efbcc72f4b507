//! While two members talk through the real media port, a stranger floods it
//! with random datagrams, truncated SRTP/SRTCP, DTLS-looking junk and STUN
//! with wrong credentials. The process stays up and the members' audio keeps
//! arriving, still recognisable.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use haven_e2e::webrtc_client::ToneClient;
use haven_sfu::io::{MediaAddr, MediaConfig, MediaServer};
use haven_sfu::{MediaPlane, ParticipantId, RoomId};

const TONES: [f32; 2] = [440.0, 880.0];

fn junk(rng: &mut u64, round: u32) -> Vec<u8> {
    let mut next = || {
        *rng ^= *rng << 13;
        *rng ^= *rng >> 7;
        *rng ^= *rng << 17;
        *rng
    };
    let len = (next() % 1400) as usize;
    let mut bytes: Vec<u8> = (0..len).map(|_| next() as u8).collect();
    match round % 5 {
        // Truncated SRTP / SRTCP.
        0 => {
            bytes = vec![0x80, 0x6f, 0, round as u8, 0, 0, 0, 1, 0, 0, 3, 232]
                [..(round as usize % 12)]
                .to_vec()
        }
        1 => bytes = vec![0x81, 200, 0, 6, 0, 0, 3, 232][..(round as usize % 8)].to_vec(),
        // DTLS-looking.
        2 if !bytes.is_empty() => bytes[0] = 22,
        // STUN binding request with a made-up USERNAME and integrity.
        3 => {
            let user = format!("nobody{round}:x");
            let mut attr = vec![0, 6, 0, user.len() as u8];
            attr.extend_from_slice(user.as_bytes());
            while attr.len() % 4 != 0 {
                attr.push(0);
            }
            attr.extend_from_slice(&[0, 8, 0, 20]);
            attr.extend_from_slice(&[0xab; 20]);
            bytes = vec![0, 1, 0, attr.len() as u8, 0x21, 0x12, 0xa4, 0x42];
            bytes.extend_from_slice(&[1; 12]);
            bytes.extend_from_slice(&attr);
        }
        _ => {}
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_keep_hearing_each_other_through_a_flood_of_junk() {
    let loopback: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let mut config = MediaConfig::new(vec![MediaAddr::same(loopback)]);
    config.workers = 1;
    let (media, _events) = MediaServer::start(config).expect("media plane starts");
    let port = media.local_addrs()[0];
    let room = RoomId(9);

    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = Vec::new();
    let mut senders = Vec::new();
    for (i, freq) in TONES.iter().enumerate() {
        let mut client = ToneClient::new(i as u32, 1, TONES.to_vec()).await;
        let answer = media
            .add_participant(room, ParticipantId(i as u64 + 1), client.take_offer())
            .await
            .unwrap();
        client.accept_answer(answer).await;
        senders.push(client.spawn_media(*freq, stop.clone()));
        clients.push(client);
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let video_before: Vec<u64> = clients
        .iter()
        .map(|c| c.received.lock().unwrap().video_packets.values().sum())
        .collect();

    // Flood from a stranger's socket: 20,000 datagrams.
    let flood = tokio::task::spawn_blocking(move || {
        let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        for round in 0..20_000u32 {
            let _ = stranger.send_to(&junk(&mut rng, round), port);
            if round % 500 == 0 {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    });
    flood.await.unwrap();
    // Clear what the members heard before, then listen again.
    for c in &clients {
        c.received.lock().unwrap().tones.clear();
    }
    tokio::time::sleep(Duration::from_secs(2)).await;

    for (i, c) in clients.iter().enumerate() {
        let r = c.received.lock().unwrap();
        let heard: Vec<f32> = r.tones.values().flatten().copied().collect();
        assert_eq!(
            heard,
            vec![TONES[1 - i]],
            "member {i} after the flood heard {:?}",
            r.tones
        );
        let video: u64 = r.video_packets.values().sum();
        assert!(
            video > video_before[i] + 50,
            "member {i}'s video stalled: {video} vs {}",
            video_before[i]
        );
    }
    let counters = media.counters().await;
    assert!(counters.forward.packets_forwarded > 0);

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in senders {
        let _ = s.await;
    }
    for c in &clients {
        let _ = c.pc.close().await;
    }
}
