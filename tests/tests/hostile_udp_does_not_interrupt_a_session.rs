//! While two members talk through the real media port, a stranger floods it
//! with random datagrams, truncated SRTP/SRTCP, DTLS-looking junk and STUN
//! with wrong credentials. Measured *during* the flood: each member's audio
//! keeps arriving at its usual packet rate and is recognised afresh (what
//! was recognised before is cleared), video keeps moving, and the media
//! plane counts about every junk datagram as dropped.

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

fn video_in_locked(r: &haven_e2e::webrtc_client::Received) -> u64 {
    r.video_packets.values().sum()
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
    let audio_in =
        |c: &ToneClient| -> u64 { c.received.lock().unwrap().audio_packets.values().sum() };
    let video_in =
        |c: &ToneClient| -> u64 { c.received.lock().unwrap().video_packets.values().sum() };
    // The usual audio packet rate, before anything happens.
    let start: Vec<u64> = clients.iter().map(audio_in).collect();
    let t0 = std::time::Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let baseline: Vec<f64> = clients
        .iter()
        .zip(&start)
        .map(|(c, s)| (audio_in(c) - s) as f64 / t0.elapsed().as_secs_f64())
        .collect();

    // Forget what was recognised: what is recognised next comes from audio
    // decoded during the flood.
    for c in &clients {
        c.received.lock().unwrap().tones.clear();
    }
    let before = media.counters().await;
    let audio_before: Vec<u64> = clients.iter().map(audio_in).collect();
    let video_before: Vec<u64> = clients.iter().map(video_in).collect();

    // Flood from a stranger's socket: 20,000 datagrams over about 3 s.
    const SENT: u32 = 20_000;
    let flood_started = std::time::Instant::now();
    let flood = tokio::task::spawn_blocking(move || {
        let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut rng = 0x9e37_79b9_7f4a_7c15u64;
        let mut sent = 0u64;
        for round in 0..SENT {
            if stranger.send_to(&junk(&mut rng, round), port).is_ok() {
                sent += 1;
            }
            if round % 150 == 0 {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        sent
    });
    let sent = flood.await.unwrap();
    let flood_secs = flood_started.elapsed().as_secs_f64();
    // Measured at the end of the flood, before listening any longer.
    for (i, c) in clients.iter().enumerate() {
        let rate = (audio_in(c) - audio_before[i]) as f64 / flood_secs;
        eprintln!("member {i}: {rate:.0} audio packets/s during the flood ({flood_secs:.1} s), {:.0} before", baseline[i]);
        assert!(
            rate >= 0.6 * baseline[i],
            "member {i}'s audio during the flood: {rate:.0} packets/s, {:.0} before",
            baseline[i]
        );
        let r = c.received.lock().unwrap();
        let heard: Vec<f32> = r.tones.values().flatten().copied().collect();
        assert_eq!(
            heard,
            vec![TONES[1 - i]],
            "member {i} during the flood heard {:?}",
            r.tones
        );
        let video = video_in_locked(&r);
        assert!(
            video > video_before[i] + 30,
            "member {i}'s video stalled during the flood: {video} vs {}",
            video_before[i]
        );
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = media.counters().await;
    let dropped = after.dropped_unrouted - before.dropped_unrouted;
    assert!(
        dropped as f64 >= 0.9 * sent as f64 && dropped <= after.datagrams_in - before.datagrams_in,
        "{dropped} of {sent} junk datagrams counted as dropped"
    );
    assert!(after.forward.packets_forwarded > before.forward.packets_forwarded);

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for s in senders {
        let _ = s.await;
    }
    for c in &clients {
        let _ = c.pc.close().await;
    }
}
