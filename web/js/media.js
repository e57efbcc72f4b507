// The browser side of Haven's media plane (docs/media.md): one peer
// connection that publishes our microphone and camera and offers a fixed set
// of receive slots, one audio + one video per possible remote participant.
// Joins and leaves never renegotiate; the server says which slot is whom.

/** Receive slots offered: a room holds at most 14 people. */
export const SLOTS = 13;

/** Ask for camera and microphone; either may be missing. */
export async function getLocalMedia(audioId, videoId) {
  // Not a secure page (plain http on another host than localhost).
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) return new MediaStream();
  const audio = audioId ? { deviceId: { exact: audioId } } : true;
  const video = videoId ? { deviceId: { exact: videoId }, width: 640, height: 360 } : { width: 640, height: 360 };
  try {
    return await navigator.mediaDevices.getUserMedia({ audio, video });
  } catch {
    // Try each alone, so that a missing camera does not silence the microphone.
    const stream = new MediaStream();
    for (const c of [{ audio }, { video }]) {
      try { (await navigator.mediaDevices.getUserMedia(c)).getTracks().forEach((t) => stream.addTrack(t)); } catch { /* absent */ }
    }
    return stream;
  }
}

/** Drives a <meter> from the microphone so people can see they are heard. */
export function levelMeter(stream, meter) {
  const track = stream.getAudioTracks()[0];
  if (!track) return () => {};
  const ctx = new AudioContext();
  const source = ctx.createMediaStreamSource(new MediaStream([track]));
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 512;
  source.connect(analyser);
  const data = new Uint8Array(analyser.fftSize);
  let running = true;
  // A meter nobody sees (the session screen covers the join screen, the
  // tab is hidden) costs nothing: its audio graph is suspended and it only
  // looks, twice a second, whether it is back on screen.
  const tick = () => {
    if (!running) return;
    const seen = meter.offsetParent !== null && document.visibilityState === 'visible';
    if (!seen) {
      if (ctx.state === 'running') ctx.suspend().catch(() => {});
      setTimeout(tick, 500);
      return;
    }
    if (ctx.state === 'suspended') ctx.resume().catch(() => {});
    analyser.getByteTimeDomainData(data);
    let peak = 0;
    for (const v of data) peak = Math.max(peak, Math.abs(v - 128));
    meter.value = Math.min(1, peak / 64);
    setTimeout(tick, 100);
  };
  tick();
  return () => { running = false; ctx.close(); };
}

// RED (redundant Opus) is offered after Opus: the page publishes plain Opus,
// and Haven sends RED to it only when its connection loses packets. Video is
// VP8 alone: end-to-end encryption leaves a VP8 frame's first bytes in the
// clear for the SFU, and H.264's packetizer would have to read through
// encrypted NAL units.
const WANTED = { audio: /^audio\/(opus|red)$/i, video: /^video\/(vp8|rtx)$/i };

function preferCodecs(transceiver) {
  const kind = transceiver.receiver.track.kind;
  if (!transceiver.setCodecPreferences || !RTCRtpReceiver.getCapabilities) return;
  const caps = RTCRtpReceiver.getCapabilities(kind);
  if (!caps) return;
  const codecs = caps.codecs
    .filter((c) => WANTED[kind].test(c.mimeType))
    .sort((a, b) => /red/i.test(a.mimeType) - /red/i.test(b.mimeType));
  try { transceiver.setCodecPreferences(codecs); } catch { /* keep the browser's defaults */ }
}

// The camera (640×360) in two sizes (simulcast): Haven forwards to each
// member the one that fits each tile: 320×180 for the small tiles of a big
// group (a 13-tile gallery on a laptop shows tiles about 300 pixels wide),
// the full size for a few large tiles or the speaker. Browsers without
// simulcast send one stream.
const SIMULCAST = [
  { rid: 'q', scaleResolutionDownBy: 2, maxBitrate: 150_000 },
  { rid: 'h', scaleResolutionDownBy: 1, maxBitrate: 700_000 },
];
// The SFU names layers smallest first (`send_layers`).
const LAYER_OF_RID = { q: 0, h: 1, f: 2 };

export class MediaLink {
  /**
   * @param {(msg: object) => void} send  the signaling channel
   * @param {import('./e2ee.js').EndToEnd} e2ee  seals and opens every frame
   */
  constructor(send, e2ee) {
    this.send = send;
    this.e2ee = e2ee;
    this.pc = null;
  }

  /**
   * Publish `stream` and offer the receive slots. `iceServers`: the clinic's
   * TURN server (with credentials for this session), for networks that
   * block UDP to the server; empty when there is none.
   */
  async start(stream, iceServers = []) {
    this.close();
    const pc = new RTCPeerConnection({ iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' });
    this.pc = pc;
    const audio = stream.getAudioTracks()[0];
    const video = stream.getVideoTracks()[0];
    const audioOut = pc.addTransceiver(audio || 'audio', { direction: 'sendonly', streams: [stream] });
    const videoOut = pc.addTransceiver(video || 'video', { direction: 'sendonly', streams: [stream], sendEncodings: SIMULCAST });
    this.audioSender = audioOut.sender;
    this.videoSender = videoOut.sender;
    // Every frame out is sealed and every frame in is opened (e2ee.js).
    this.e2ee.seal(audioOut.sender, 'audio');
    this.e2ee.seal(videoOut.sender, 'video');
    const all = [audioOut, videoOut];
    for (let i = 0; i < SLOTS; i++) {
      for (const kind of ['audio', 'video']) {
        const t = pc.addTransceiver(kind, { direction: 'recvonly' });
        this.e2ee.open(t.receiver, kind);
        all.push(t);
      }
    }
    // Offer only what the SFU forwards (Opus and RED; VP8 and H.264 with
    // RTX): a shorter offer, and no codec the room cannot share.
    for (const t of all) preferCodecs(t);
    await pc.setLocalDescription(await pc.createOffer());
    this.send({ type: 'offer', sdp: pc.localDescription.sdp });
  }

  async answer(sdp) {
    if (this.pc) await this.pc.setRemoteDescription({ type: 'answer', sdp });
  }

  /** The remote track arriving on m-line `mid`, if any. */
  track(mid) {
    if (!this.pc) return null;
    const t = this.pc.getTransceivers().find((x) => x.mid === mid);
    return t ? t.receiver.track : null;
  }

  /** Publish `track` (or nothing) on the sender of `kind`, without renegotiating. */
  async replace(kind, track) {
    const sender = kind === 'audio' ? this.audioSender : this.videoSender;
    if (!sender || !this.pc) return;
    try { await sender.replaceTrack(track); } catch { /* the connection was closed meanwhile */ }
  }

  close() {
    if (this.pc) this.pc.close();
    this.pc = null;
  }

  /** Inbound statistics by mid (audio bytes, video frames decoded). */
  async inbound() {
    const byMid = {};
    if (!this.pc) return byMid;
    const report = await this.pc.getStats();
    report.forEach((s) => {
      if (s.type !== 'inbound-rtp' || s.mid === undefined) return;
      byMid[s.mid] = {
        kind: s.kind,
        bytes: s.bytesReceived || 0,
        framesDecoded: s.framesDecoded || 0,
        frameWidth: s.frameWidth || 0,
        concealedSamples: s.concealedSamples || 0,
        totalSamples: s.totalSamplesReceived || 0,
      };
    });
    return byMid;
  }

  /**
   * Encode only the camera layers somebody receives (`active[i]` for layer
   * i, smallest first): an encoder nobody needs costs this page CPU. Calls
   * run one after another (each needs the parameters the last one set).
   */
  sendLayers(active) {
    const sender = this.videoSender;
    this.layerChange = (this.layerChange || Promise.resolve()).then(async () => {
      if (!sender || sender !== this.videoSender) return;
      const params = sender.getParameters();
      if (!params.encodings || params.encodings.length < 2) return;
      let changed = false;
      for (const e of params.encodings) {
        const on = active[LAYER_OF_RID[e.rid]] !== false;
        if (e.active !== on) { e.active = on; changed = true; }
      }
      if (changed) await sender.setParameters(params);
    }).catch(() => { /* the encoders stay as they were: the SFU forwards what arrives */ });
  }

  /** Per simulcast layer this page publishes: frames sent, width, on or off (for tests). */
  async sentVideoLayers() {
    const out = {};
    if (!this.pc) return out;
    (await this.pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'video') {
        out[s.rid || 'single'] = { framesSent: s.framesSent || 0, frameWidth: s.frameWidth || 0 };
      }
    });
    for (const e of this.videoSender ? this.videoSender.getParameters().encodings || [] : []) {
      if (out[e.rid || 'single']) out[e.rid || 'single'].active = e.active !== false;
    }
    return out;
  }

  /** Audio payload bytes this page has published so far (for tests). */
  async sentAudioBytes() {
    if (!this.pc) return 0;
    let bytes = 0;
    (await this.pc.getStats()).forEach((s) => {
      if (s.type === 'outbound-rtp' && s.kind === 'audio') bytes += s.bytesSent || 0;
    });
    return bytes;
  }
}

/** Where sound goes (an `audiooutput` device id), chosen on the join page. */
let speaker = '';

/** Whether this browser lets a page choose the output device. */
export const canChooseSpeaker = typeof HTMLMediaElement !== 'undefined' && 'setSinkId' in HTMLMediaElement.prototype;

/** Send the session's sound to `deviceId` from now on. */
export function chooseSpeaker(deviceId) {
  speaker = deviceId;
}

/** Play a media element's sound on the chosen output, if any. */
export function useSpeaker(element) {
  if (speaker && canChooseSpeaker) element.setSinkId(speaker).catch(() => {});
}

/**
 * A short, gentle two-note chime on the chosen output, so people can check
 * they hear (and how loud) before they knock. Made here: no sound file.
 * Resolves with the audio element that played it.
 */
export async function playTestSound() {
  const ctx = new AudioContext();
  const out = ctx.createMediaStreamDestination();
  const gain = ctx.createGain();
  gain.connect(out);
  gain.gain.setValueAtTime(0, ctx.currentTime);
  for (const [i, freq] of [523.25, 659.25].entries()) {
    const osc = ctx.createOscillator();
    osc.frequency.value = freq;
    osc.connect(gain);
    const t = ctx.currentTime + i * 0.45;
    osc.start(t);
    osc.stop(t + 0.45);
  }
  gain.gain.linearRampToValueAtTime(0.25, ctx.currentTime + 0.05);
  gain.gain.linearRampToValueAtTime(0, ctx.currentTime + 0.9);
  const audio = new Audio();
  audio.srcObject = out.stream;
  useSpeaker(audio);
  await audio.play();
  setTimeout(() => { audio.pause(); ctx.close(); }, 1000);
  return audio;
}

/** Fill a <select> with `devices`, the one `track` uses (if live) chosen. */
export function fillDeviceSelect(select, devices, track) {
  const current = track && track.readyState === 'live' ? track.getSettings().deviceId : '';
  select.replaceChildren(...devices.map((d, i) => {
    const o = document.createElement('option');
    o.value = d.deviceId;
    o.textContent = d.label || `Device ${i + 1}`;
    o.selected = d.deviceId === current;
    return o;
  }));
  select.disabled = devices.length === 0;
}
