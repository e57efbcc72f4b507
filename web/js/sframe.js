// Haven's media frame encryption (docs/security.md), after SFrame (RFC 9605)
// but not its wire format: the header is a trailer, so that the first bytes
// of a VP8 frame, which the SFU and the receiving browser's packetizer read
// (the keyframe bit and, on keyframes, the picture size), can stay in the
// clear. Pure: no DOM, no worker API; runs in the media worker and in node
// (its unit tests).
//
//   frame = clear prefix ‖ AES-GCM(rest of the frame) with 16-byte tag ‖ trailer
//   trailer = clear length (1) ‖ sender id (8) ‖ counter (4, big-endian) ‖ key id (1)
//
// The nonce is sender id ‖ counter. Every encryptor (one per published
// track on each page) draws a random 64-bit sender id and counts its frames,
// so no two frames under one key share a nonce. The additional data is the
// clear prefix and the trailer: neither can be changed without detection.

export const TRAILER_BYTES = 14;
const TAG_BYTES = 16;
/** The most frames one encryptor may seal: its counter is never reused. */
export const MAX_COUNTER = 0xffff_ffff;

/**
 * Bytes left in the clear: a VP8 keyframe's 10-byte header (frame tag,
 * start code, picture size), a delta frame's 3-byte frame tag, nothing of
 * an Opus frame (the SFU reads the audio level from an RTP header
 * extension, never the payload).
 */
export function clearBytes(kind, frameType) {
  if (kind !== 'video') return 0;
  return frameType === 'key' ? 10 : 3;
}

/**
 * The error of a frame that must not be played. `known` says whether the
 * frame's sender had frames opened before (then the refusal is a loss the
 * listener may hear, not a stranger's noise).
 */
export class FrameRefused extends Error {
  constructor(message, known = false) {
    super(message);
    this.known = known;
  }
}

export class FrameEncryptor {
  /** @param {Uint8Array} [senderId] 8 bytes; random by default */
  constructor(senderId) {
    this.senderId = senderId || globalThis.crypto.getRandomValues(new Uint8Array(8));
    this.counter = 0;
  }

  /**
   * Seal one frame with `key` (a CryptoKey for AES-GCM) under key id `kid`
   * (0–255), leaving `clear` bytes in the clear. Refuses to reuse a counter.
   * @returns {Promise<ArrayBuffer>}
   */
  async encrypt(data, clear, key, kid) {
    if (this.counter >= MAX_COUNTER) throw new FrameRefused('the frame counter is spent; a new key is needed');
    const bytes = new Uint8Array(data);
    const prefix = Math.min(clear, bytes.length);
    const trailer = new Uint8Array(TRAILER_BYTES);
    const view = new DataView(trailer.buffer);
    trailer[0] = prefix;
    trailer.set(this.senderId, 1);
    view.setUint32(9, this.counter);
    trailer[13] = kid;
    this.counter += 1;
    const sealed = await globalThis.crypto.subtle.encrypt(
      { name: 'AES-GCM', iv: trailer.subarray(1, 13), additionalData: aad(bytes.subarray(0, prefix), trailer) },
      key,
      bytes.subarray(prefix),
    );
    const out = new Uint8Array(prefix + sealed.byteLength + TRAILER_BYTES);
    out.set(bytes.subarray(0, prefix), 0);
    out.set(new Uint8Array(sealed), prefix);
    out.set(trailer, prefix + sealed.byteLength);
    return out.buffer;
  }
}

function aad(prefix, trailer) {
  const out = new Uint8Array(prefix.length + trailer.length);
  out.set(prefix, 0);
  out.set(trailer, prefix.length);
  return out;
}

/** How far back a frame may arrive late and still be accepted. */
const REPLAY_WINDOW = 128;

export class FrameDecryptor {
  constructor() {
    /** key id -> CryptoKey */
    this.keys = new Map();
    /** sender id + key id -> { top, seen: Set<counter> } */
    this.replay = new Map();
    /** Sender ids with at least one frame opened. */
    this.senders = new Set();
  }

  /** Accept frames sealed under `kid`. */
  addKey(kid, key) {
    this.keys.set(kid, key);
    for (const id of [...this.replay.keys()]) if (id.endsWith(`/${kid}`)) this.replay.delete(id);
  }

  /** Forget key `kid` (frames sealed under it are refused from now on). */
  removeKey(kid) {
    this.keys.delete(kid);
  }

  /**
   * Open one frame. Throws FrameRefused for a frame too short, under an
   * unknown key, altered, or whose counter was already seen.
   * @returns {Promise<ArrayBuffer>}
   */
  async decrypt(data) {
    const bytes = new Uint8Array(data);
    if (bytes.length < TRAILER_BYTES + TAG_BYTES) throw new FrameRefused('too short');
    const trailer = bytes.subarray(bytes.length - TRAILER_BYTES);
    const prefix = trailer[0];
    const kid = trailer[13];
    const sender = hex(trailer.subarray(1, 9));
    const refuse = (why) => new FrameRefused(why, this.senders.has(sender));
    if (prefix > bytes.length - TRAILER_BYTES - TAG_BYTES) throw refuse('bad clear length');
    const key = this.keys.get(kid);
    if (!key) throw refuse('no key');
    const counter = new DataView(trailer.buffer, trailer.byteOffset).getUint32(9);
    const stream = `${sender}/${kid}`;
    const state = this.replay.get(stream) || { top: -1, seen: new Set() };
    if (state.seen.has(counter) || counter + REPLAY_WINDOW <= state.top) throw refuse('counter reused');
    let opened;
    try {
      opened = await globalThis.crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: trailer.slice(1, 13), additionalData: aad(bytes.subarray(0, prefix), trailer) },
        key,
        bytes.subarray(prefix, bytes.length - TRAILER_BYTES),
      );
    } catch {
      throw refuse('altered or sealed with another key');
    }
    this.senders.add(sender);
    state.seen.add(counter);
    if (counter > state.top) {
      state.top = counter;
      for (const c of state.seen) if (c + REPLAY_WINDOW <= counter) state.seen.delete(c);
    }
    this.replay.set(stream, state);
    const out = new Uint8Array(prefix + opened.byteLength);
    out.set(bytes.subarray(0, prefix), 0);
    out.set(new Uint8Array(opened), prefix);
    return out.buffer;
  }
}

function hex(bytes) {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** A media key from its 32 random bytes (AES-256-GCM, not extractable). */
export function importMediaKey(raw) {
  return globalThis.crypto.subtle.importKey('raw', raw, 'AES-GCM', false, ['encrypt', 'decrypt']);
}

/**
 * Open a RED packet (RFC 2198) whose blocks are sealed frames: Haven sends
 * redundant audio to a member on a lossy link by packing earlier sealed
 * Opus frames beside the current one, and the browser hands the whole RED
 * payload to the receive transform. Each block is opened on its own; a
 * redundant block that does not open (usually: its frame already arrived,
 * so its counter was seen) is left out; if the primary does not open, the
 * packet is refused. Returns the RED payload with opened blocks.
 * @param {(data: Uint8Array) => Promise<ArrayBuffer>} open
 * @param {Uint8Array} bytes
 */
export async function openRed(open, bytes) {
  const headers = [];
  let at = 0;
  while (at < bytes.length && bytes[at] & 0x80) {
    if (at + 4 > bytes.length) throw new FrameRefused('bad RED header');
    headers.push({ head: bytes.subarray(at, at + 3), length: ((bytes[at + 2] & 0x03) << 8) | bytes[at + 3] });
    at += 4;
  }
  if (at >= bytes.length) throw new FrameRefused('bad RED header');
  const primaryType = bytes[at];
  at += 1;
  const blocks = [];
  for (const h of headers) {
    if (at + h.length > bytes.length) throw new FrameRefused('bad RED block length');
    blocks.push({ head: h.head, data: bytes.subarray(at, at + h.length) });
    at += h.length;
  }
  const primary = new Uint8Array(await open(bytes.slice(at)));
  const kept = [];
  for (const b of blocks) {
    try {
      const data = new Uint8Array(await open(b.data.slice()));
      if (data.length <= 0x3ff) kept.push({ head: b.head, data });
    } catch { /* redundant: its frame came already, or cannot be opened */ }
  }
  const size = kept.reduce((n, b) => n + 4 + b.data.length, 0) + 1 + primary.length;
  const out = new Uint8Array(size);
  let w = 0;
  for (const b of kept) {
    out.set(b.head, w);
    out[w + 2] = (b.head[2] & 0xfc) | (b.data.length >> 8);
    out[w + 3] = b.data.length & 0xff;
    w += 4;
  }
  out[w] = primaryType;
  w += 1;
  for (const b of kept) { out.set(b.data, w); w += b.data.length; }
  out.set(primary, w);
  return out.buffer;
}
