// The media worker: every frame this page publishes is sealed here and
// every frame it receives is opened here (encoded transforms, off the main
// thread). Fail closed: without a key nothing is sent, and a frame that
// does not open is dropped, never played.

import {
  FrameDecryptor, FrameEncryptor, FrameRefused, clearBytes, openRed,
} from './sframe.js';

/** The key frames are sealed with: { kid, key }, or none yet. */
let sending = null;
const decryptor = new FrameDecryptor();
/** Key ids in the order they came (the newest last). */
const held = [];
/** How many keys are kept for frames still in flight. */
const KEEP = 3;
/** What happened to frames, for the page's status and the tests. */
const counts = {
  sealed: 0, unsent: 0, opened: 0, refused: 0, noKey: 0, lost: {},
};

onmessage = (event) => {
  const msg = event.data;
  if (msg.type === 'key') {
    decryptor.addKey(msg.kid, msg.key);
    held.push(msg.kid);
    while (held.length > KEEP) decryptor.removeKey(held.shift());
    // Everyone can open frames under the new key before anyone seals with
    // it: the first key is used at once, later ones after `delayMs`.
    const use = () => { if (held.includes(msg.kid)) sending = { kid: msg.kid, key: msg.key }; };
    if (sending === null) use(); else setTimeout(use, msg.delayMs);
  } else if (msg.type === 'forget') {
    sending = null;
    while (held.length) decryptor.removeKey(held.shift());
  } else if (msg.type === 'counts') {
    postMessage({ type: 'counts', id: msg.id, counts: { ...counts, keys: [...held] } });
  }
};

function sealer(kind) {
  const encryptor = new FrameEncryptor();
  return async (frame, controller) => {
    const key = sending;
    if (!key) { counts.unsent += 1; return; }
    try {
      frame.data = await encryptor.encrypt(frame.data, clearBytes(kind, frame.type), key.key, key.kid);
      counts.sealed += 1;
      controller.enqueue(frame);
    } catch {
      counts.unsent += 1;
    }
  };
}

/** Whether an audio frame is RED (redundant frames beside the current one). */
function isRed(frame) {
  const meta = frame.getMetadata ? frame.getMetadata() : {};
  return /red/i.test(meta.mimeType || '');
}

function opener(kind) {
  const open = (data) => decryptor.decrypt(data);
  return async (frame, controller) => {
    try {
      frame.data = kind === 'audio' && isRed(frame)
        ? await openRed(open, new Uint8Array(frame.data))
        : await open(frame.data);
      counts.opened += 1;
      controller.enqueue(frame);
    } catch (e) {
      if (e instanceof FrameRefused && e.message === 'no key') counts.noKey += 1; else counts.refused += 1;
      // A frame of someone whose frames opened before: a loss, by reason.
      if (e instanceof FrameRefused && e.known) {
        const why = `${kind} ${e.message}`;
        counts.lost[why] = (counts.lost[why] || 0) + 1;
      }
    }
  };
}

onrtctransform = (event) => {
  const { readable, writable, options } = event.transformer;
  const transform = options.side === 'send' ? sealer(options.kind) : opener(options.kind);
  readable.pipeThrough(new TransformStream({ transform })).pipeTo(writable).catch(() => {});
};
