// The end-to-end frame format (web/js/sframe.js), in node's WebCrypto: a
// frame opens to exactly what was sealed, the bytes the SFU reads stay in
// the clear and the rest does not, any change is detected, and no counter
// is ever used twice.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FrameDecryptor, FrameEncryptor, FrameRefused, MAX_COUNTER, TRAILER_BYTES, clearBytes, importMediaKey, openRed,
} from '../../web/js/sframe.js';

const key = () => importMediaKey(crypto.getRandomValues(new Uint8Array(32)));
const frame = (n) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + 3) & 0xff);
const same = (a, b) => Buffer.from(new Uint8Array(a)).equals(Buffer.from(new Uint8Array(b)));

test('a sealed frame opens to exactly what was sealed, for audio and both kinds of video frame', async () => {
  const k = await key();
  const enc = new FrameEncryptor();
  const dec = new FrameDecryptor();
  dec.addKey(7, k);
  for (const [kind, type, size] of [['audio', undefined, 80], ['video', 'key', 5000], ['video', 'delta', 900], ['video', 'delta', 2]]) {
    const plain = frame(size);
    const clear = clearBytes(kind, type);
    const sealed = new Uint8Array(await enc.encrypt(plain.buffer, clear, k, 7));
    const kept = Math.min(clear, size);
    assert.equal(sealed.length, size + 16 + TRAILER_BYTES);
    assert.ok(same(sealed.subarray(0, kept), plain.subarray(0, kept)), `${kind} ${type}: the clear prefix is kept`);
    if (size > kept) assert.ok(!same(sealed.subarray(kept, size), plain.subarray(kept)), `${kind} ${type}: the rest is not the plaintext`);
    assert.ok(same(await dec.decrypt(sealed.buffer), plain), `${kind} ${type}: round trip`);
  }
  assert.deepEqual([clearBytes('audio'), clearBytes('video', 'key'), clearBytes('video', 'delta')], [0, 10, 3]);
});

test('any change to a frame is detected', async () => {
  const k = await key();
  const enc = new FrameEncryptor();
  const plain = frame(300);
  const sealed = new Uint8Array(await enc.encrypt(plain.buffer, 10, k, 1));
  // Every byte: the clear prefix, the ciphertext, the tag, the trailer.
  for (const at of [0, 9, 10, 150, sealed.length - TRAILER_BYTES - 1, sealed.length - 14, sealed.length - 5, sealed.length - 1]) {
    const dec = new FrameDecryptor();
    dec.addKey(1, k);
    const bad = sealed.slice();
    bad[at] ^= 0x01;
    await assert.rejects(dec.decrypt(bad.buffer), FrameRefused, `a change at byte ${at} went unnoticed`);
  }
  // Truncated, or empty.
  const dec = new FrameDecryptor();
  dec.addKey(1, k);
  await assert.rejects(dec.decrypt(sealed.slice(0, 20).buffer), FrameRefused);
  await assert.rejects(dec.decrypt(new ArrayBuffer(0)), FrameRefused);
});

test('a frame under a key this page does not hold, or another key, is refused', async () => {
  const [k1, k2] = [await key(), await key()];
  const sealed = await new FrameEncryptor().encrypt(frame(100).buffer, 0, k1, 3);
  const none = new FrameDecryptor();
  await assert.rejects(none.decrypt(sealed), (e) => e instanceof FrameRefused && e.message === 'no key');
  const wrong = new FrameDecryptor();
  wrong.addKey(3, k2);
  await assert.rejects(wrong.decrypt(sealed), FrameRefused);
  // A removed key opens nothing more.
  const old = new FrameDecryptor();
  old.addKey(3, k1);
  old.removeKey(3);
  await assert.rejects(old.decrypt(sealed), FrameRefused);
});

test('a refusal says whether the sender was heard before (a loss) or never (a stranger)', async () => {
  const [k1, k2] = [await key(), await key()];
  const heard = new FrameEncryptor();
  const dec = new FrameDecryptor();
  dec.addKey(1, k1);
  await dec.decrypt(await heard.encrypt(frame(50).buffer, 0, k1, 1));
  // The same sender under a key this page does not hold: a loss.
  await assert.rejects(dec.decrypt(await heard.encrypt(frame(50).buffer, 0, k2, 2)), (e) => e.known === true && e.message === 'no key');
  // Someone never opened: not counted as a loss.
  await assert.rejects(dec.decrypt(await new FrameEncryptor().encrypt(frame(50).buffer, 0, k2, 2)), (e) => e.known === false);
});

test('a counter is never used twice: a replayed frame is refused, a spent encryptor refuses to seal', async () => {
  const k = await key();
  const enc = new FrameEncryptor();
  const dec = new FrameDecryptor();
  dec.addKey(0, k);
  const frames = [];
  for (let i = 0; i < 200; i++) frames.push(await enc.encrypt(frame(40).buffer, 0, k, 0));
  // Out of order within the window is fine; a repeat is not; far behind is not.
  await dec.decrypt(frames[1]);
  await dec.decrypt(frames[0]);
  await assert.rejects(dec.decrypt(frames[1]), /counter reused/);
  await dec.decrypt(frames[199]);
  await assert.rejects(dec.decrypt(frames[2]), /counter reused/);
  // Two senders with the same counter are different streams.
  const other = await new FrameEncryptor().encrypt(frame(40).buffer, 0, k, 0);
  await dec.decrypt(other);
  // The nonce is sender id and counter: at the last counter, sealing stops.
  const spent = new FrameEncryptor();
  spent.counter = MAX_COUNTER;
  await assert.rejects(spent.encrypt(frame(10).buffer, 0, k, 0), FrameRefused);
});

/** A RED payload (RFC 2198) of `redundant` blocks then the primary. */
function red(redundant, primary) {
  const parts = [];
  redundant.forEach((b, i) => {
    const ts = 960 * (redundant.length - i);
    parts.push(Uint8Array.of(0x80 | 111, ts >> 6, ((ts & 0x3f) << 2) | (b.length >> 8), b.length & 0xff));
  });
  parts.push(Uint8Array.of(111), ...redundant, primary);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

test('redundant audio of sealed frames opens block by block', async () => {
  const k = await key();
  const enc = new FrameEncryptor();
  const plain = [frame(60), frame(70), frame(80)];
  const sealed = [];
  for (const p of plain) sealed.push(new Uint8Array(await enc.encrypt(p.buffer, 0, k, 2)));
  const dec = new FrameDecryptor();
  dec.addKey(2, k);
  const open = (d) => dec.decrypt(d);
  // Frame 0 arrived on its own; frame 1 was lost. RED carries 0 and 1 beside 2.
  await dec.decrypt(sealed[0].buffer);
  const opened = new Uint8Array(await openRed(open, red([sealed[0], sealed[1]], sealed[2])));
  // What is left: frame 1 (redundant, now opened) and frame 2 (primary).
  assert.ok(same(opened, red([plain[1]], plain[2])), 'the opened RED payload');
  // A primary that does not open refuses the packet.
  const bad = sealed[2].slice();
  bad[5] ^= 1;
  await assert.rejects(openRed(open, red([], bad)), FrameRefused);
  // Malformed RED: a header running past the end, a block longer than the packet.
  await assert.rejects(openRed(open, Uint8Array.of(0x80 | 111, 0)), FrameRefused);
  await assert.rejects(openRed(open, Uint8Array.of(0x80 | 111, 0, 3, 0xff, 111, 1, 2)), FrameRefused);
});
