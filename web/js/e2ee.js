// End-to-end encryption on the page (docs/security.md). Each page makes an
// ECDH key pair for its connection (the private half cannot leave the
// browser) and says the public half in its hello. The key holder (the
// facilitator's page, or the co-facilitator's after a take-over) is asked
// by the server for a new media key whenever who may listen changes; it
// makes one and wraps it for each listener's public key. The server relays
// the wrapped keys and can read none of them. Frames are sealed and opened
// in a worker (`e2ee-worker.js`, format in `sframe.js`).

import { importMediaKey } from './sframe.js';

const ECDH = { name: 'ECDH', namedCurve: 'P-256' };
const WRAP_INFO = new TextEncoder().encode('haven media key wrap v1');
/** How long pages open frames under a new key before sealing with it. */
const SWITCH_DELAY_MS = 500;
const POINT_BYTES = 65;

/** Whether this browser can encrypt media end to end (encoded transforms). */
export const canEncrypt = typeof RTCRtpScriptTransform !== 'undefined' && typeof Worker !== 'undefined'
  && typeof crypto !== 'undefined' && Boolean(crypto.subtle);

/** What a page says where it cannot encrypt (and so cannot join). */
export const NO_E2EE = 'This browser cannot encrypt the session end to end, so it cannot join. '
  + 'Please open the link in a current Chrome, Edge, Firefox or Safari, over https.';

export function toBase64Url(bytes) {
  let s = '';
  for (const b of new Uint8Array(bytes)) s += String.fromCharCode(b);
  return btoa(s).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

export function fromBase64Url(text) {
  const s = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

function epochBytes(epoch, point) {
  const out = new Uint8Array(4 + point.length);
  new DataView(out.buffer).setUint32(0, epoch);
  out.set(point, 4);
  return out;
}

/** The 12-digit safety code of a set of public keys (any order). */
export async function safetyCode(points) {
  const sorted = [...points].map(toBase64Url).sort();
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(sorted.join('.'))));
  let n = 0n;
  for (const b of digest.subarray(0, 8)) n = (n << 8n) | BigInt(b);
  const digits = (n % 10n ** 12n).toString().padStart(12, '0');
  return digits.match(/.{3}/g).join(' ');
}

export class EndToEnd {
  /** Make this page's key pair and its media worker. */
  static async create() {
    const pair = await crypto.subtle.generateKey(ECDH, false, ['deriveBits']);
    const point = new Uint8Array(await crypto.subtle.exportKey('raw', pair.publicKey));
    return new EndToEnd(pair, point);
  }

  constructor(pair, point) {
    this.pair = pair;
    this.point = point;
    this.publicKey = toBase64Url(point);
    this.worker = new Worker(new URL('./e2ee-worker.js', import.meta.url), { type: 'module' });
    /** The newest key this page holds: { epoch, code } or null. */
    this.current = null;
    /** The newest epoch ever accepted: an older key is never taken again. */
    this.newest = -1;
    this.onChange = () => {};
    this.asks = 0;
    /** The key being made or taken (see `inTurn`). */
    this.turn = Promise.resolve();
    /** Counts `forget` calls: a key unwrapped across one is not installed. */
    this.forgets = 0;
  }

  /** Seal what `sender` publishes. */
  seal(sender, kind) {
    sender.transform = new RTCRtpScriptTransform(this.worker, { side: 'send', kind });
  }

  /** Open what `receiver` receives. */
  open(receiver, kind) {
    receiver.transform = new RTCRtpScriptTransform(this.worker, { side: 'receive', kind });
  }

  async wrappingKey(peerPoint) {
    const peer = await crypto.subtle.importKey('raw', peerPoint, ECDH, false, []);
    const shared = await crypto.subtle.deriveBits({ name: 'ECDH', public: peer }, this.pair.privateKey, 256);
    const base = await crypto.subtle.importKey('raw', shared, 'HKDF', false, ['deriveKey']);
    return crypto.subtle.deriveKey(
      { name: 'HKDF', hash: 'SHA-256', salt: new Uint8Array(32), info: WRAP_INFO },
      base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'],
    );
  }

  /**
   * The server asks this page (the key holder) for a new key: make it, wrap
   * it for each listener, and return the `keys` message to send (null for
   * a request older than a key already made).
   */
  rotate(msg) {
    return this.inTurn((forgets) => (msg.epoch > this.newest ? this.makeKey(msg, forgets) : null));
  }

  /**
   * Keys are made and taken one at a time, in the order they came: a slow
   * older one must never be installed after a newer one (the page would
   * then seal with a key the others have dropped or never got).
   */
  inTurn(work) {
    const forgets = this.forgets;
    const run = this.turn.then(() => (this.forgets === forgets ? work(forgets) : null));
    this.turn = run.catch(() => {});
    return run;
  }

  async makeKey(msg, forgets) {
    const raw = crypto.getRandomValues(new Uint8Array(32));
    const points = [this.point, ...msg.listeners.map((l) => fromBase64Url(l.public_key))];
    if (points.some((p) => p.length !== POINT_BYTES)) throw new Error('a listener key is not a P-256 point');
    const plain = new Uint8Array(32 + points.length * POINT_BYTES);
    plain.set(raw, 0);
    points.forEach((p, i) => plain.set(p, 32 + i * POINT_BYTES));
    const wrapped = [];
    for (const l of msg.listeners) {
      const point = fromBase64Url(l.public_key);
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: epochBytes(msg.epoch, point) },
        await this.wrappingKey(point), plain,
      );
      const blob = new Uint8Array(12 + sealed.byteLength);
      blob.set(iv, 0);
      blob.set(new Uint8Array(sealed), 12);
      wrapped.push({ participant: l.participant, key: toBase64Url(blob) });
    }
    if (!(await this.install(msg.epoch, raw, points, forgets))) return null;
    return { type: 'keys', epoch: msg.epoch, wrapped };
  }

  /**
   * A key the holder wrapped for this page. Refused (and ignored) unless it
   * opens with our private key, is newer than the key we hold, and was made
   * for a set of keys that includes ours and the holder's.
   */
  accept(msg) {
    return this.inTurn((forgets) => this.take(msg, forgets));
  }

  async take(msg, forgets) {
    if (msg.epoch <= this.newest) return false;
    try {
      const holder = fromBase64Url(msg.public_key);
      const blob = fromBase64Url(msg.key);
      const plain = new Uint8Array(await crypto.subtle.decrypt(
        { name: 'AES-GCM', iv: blob.subarray(0, 12), additionalData: epochBytes(msg.epoch, this.point) },
        await this.wrappingKey(holder), blob.subarray(12),
      ));
      const n = (plain.length - 32) / POINT_BYTES;
      if (!Number.isInteger(n) || n < 2) return false;
      const points = Array.from({ length: n }, (_, i) => plain.slice(32 + i * POINT_BYTES, 32 + (i + 1) * POINT_BYTES));
      const has = (p) => points.some((q) => q.every((b, i) => b === p[i]));
      if (!has(this.point) || !has(holder)) return false;
      return await this.install(msg.epoch, plain.slice(0, 32), points, forgets);
    } catch {
      return false;
    }
  }

  /** Use a key from now on, unless the page forgot its keys meanwhile. */
  async install(epoch, raw, points, forgets) {
    const key = await importMediaKey(raw);
    raw.fill(0);
    if (this.forgets !== forgets) return false;
    this.worker.postMessage({ type: 'key', kid: epoch & 0xff, key, delayMs: SWITCH_DELAY_MS });
    this.newest = Math.max(this.newest, epoch);
    this.current = { epoch, code: await safetyCode(points) };
    this.onChange(this.current);
    return true;
  }

  /** Forget every key (returned to the waiting room, removed, ended). */
  forget() {
    this.forgets += 1;
    this.worker.postMessage({ type: 'forget' });
    this.current = null;
    this.onChange(null);
  }

  /** What the worker did with frames (for tests). */
  counts() {
    const id = ++this.asks;
    return new Promise((resolve) => {
      const listen = (e) => {
        if (e.data.type === 'counts' && e.data.id === id) {
          this.worker.removeEventListener('message', listen);
          resolve(e.data.counts);
        }
      };
      this.worker.addEventListener('message', listen);
      this.worker.postMessage({ type: 'counts', id });
    });
  }
}
