// The member's page: device check, name and agreement, knock, wait, session.

import { $, announcer, sessionShell, show } from './shell.js';
import { Channel } from './socket.js';
import { EndToEnd, NO_E2EE, canEncrypt } from './e2ee.js';
import {
  canChooseSpeaker, chooseSpeaker, fillDeviceSelect, getLocalMedia, levelMeter, playTestSound,
} from './media.js';
import { Gallery } from './gallery.js';
import { Session } from './session.js';

const token = decodeURIComponent(location.pathname.split('/').pop() || '');
const announce = announcer();
let stream = new MediaStream();
let stopMeter = () => {};
let channel = null;
let session = null;
let admitted = false;
/** 'pending' until the devices answer, then 'ready' or 'failed'. */
let deviceState = 'pending';

const ENDINGS = {
  denied: ['You were not admitted', 'The facilitator did not admit you to this session. If you think this is a mistake, contact them.'],
  removed: ['You were removed from the session', 'The facilitator removed you from this session.'],
  replaced: ['You joined from another device', 'The facilitator let you in on your other device, so this page has closed.'],
  session_ended: ['The session has ended', 'Thank you for being part of the group.'],
  left: ['You have left the session', 'You can close this page.'],
};

/**
 * Camera and microphone are only offered to secure pages (https, or
 * localhost). Elsewhere the page says so plainly, and a member who knocks
 * anyway has chosen to join unheard.
 */
function mediaAvailable() {
  return window.isSecureContext && Boolean(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
}

/** A knock without a microphone must be a choice, never an accident. */
function showUnheardChoice() {
  const noMic = deviceState === 'failed' || (deviceState === 'ready' && !stream.getAudioTracks().length);
  $('unheard-choice').hidden = !noMic;
}

async function setupDevices(audioId, videoId) {
  if (!mediaAvailable()) {
    deviceState = 'failed';
    $('insecure').hidden = false;
    $('device-note').textContent = '';
    $('preview').hidden = true;
    showUnheardChoice();
    return;
  }
  stream.getTracks().forEach((t) => t.stop());
  stopMeter();
  try {
    stream = await getLocalMedia(audioId, videoId);
  } catch {
    stream = new MediaStream();
  }
  deviceState = stream.getTracks().length ? 'ready' : 'failed';
  showUnheardChoice();
  // Knocking does not wait for the devices: a session already under way
  // publishes them when they come.
  if (session) session.setStream(stream);
  $('preview').srcObject = stream;
  stopMeter = levelMeter(stream, $('mic-level'));
  const note = [];
  if (!stream.getVideoTracks().length) note.push('No camera found: you can join with audio only.');
  if (!stream.getAudioTracks().length) note.push('No microphone found, or the browser was not allowed to use it: others will not hear you. Check the permission (the icon beside the address) and reload.');
  $('device-note').textContent = note.join(' ');
  const found = await navigator.mediaDevices.enumerateDevices();
  fillDeviceSelect($('camera-select'), found.filter((d) => d.kind === 'videoinput'), stream.getVideoTracks()[0]);
  fillDeviceSelect($('mic-select'), found.filter((d) => d.kind === 'audioinput'), stream.getAudioTracks()[0]);
  const outputs = found.filter((d) => d.kind === 'audiooutput');
  if (canChooseSpeaker && outputs.length > 1) {
    fillDeviceSelect($('speaker-select'), outputs, null);
    $('speaker-choice').hidden = false;
  }
}

function resumeKey() {
  return sessionStorage.getItem(`haven-resume-${token}`) || undefined;
}

function end(kind, text) {
  if (channel) channel.close();
  if (session) { session.stream.getTracks().forEach((t) => t.stop()); session.stop(); }
  stream.getTracks().forEach((t) => t.stop());
  stopMeter();
  const [title, body] = ENDINGS[kind] || ['The session is closed', ''];
  $('ended-title').textContent = title;
  $('ended-text').textContent = text || body;
  show('ended-screen');
  announce(title);
}

function onMessage(msg) {
  switch (msg.type) {
    case 'welcome':
      if (msg.resume) sessionStorage.setItem(`haven-resume-${token}`, msg.resume);
      return;
    case 'waiting':
      admitted = false;
      if (session) session.stop();
      show('waiting-screen');
      announce('You are in the waiting room. Nobody can see or hear you yet.');
      $('waiting-leave').focus();
      return;
    case 'admitted':
      admitted = true;
      show('session-screen');
      announce('You are in the session.');
      session.admitted(msg.you, msg.ice_servers);
      return;
    case 'returned_to_waiting':
      announce('The facilitator returned you to the waiting room.');
      return;
    case 'facilitator_message': {
      const box = $('waiting-messages');
      const p = document.createElement('p');
      p.textContent = `Message from the facilitator: ${msg.text}`;
      box.append(p);
      box.hidden = false;
      return;
    }
    case 'facilitator_away':
      $('facilitator-away').hidden = !msg.away;
      return;
    case 'denied':
    case 'removed':
    case 'replaced':
    case 'session_ended':
      end(msg.type);
      return;
    case 'refused':
      if (['blocked', 'locked', 'ended'].includes(msg.reason) && !admitted) end('closed', msg.message);
      else announce(msg.message);
      return;
    case 'error':
      if (!admitted) {
        channel.close();
        $('join-error').textContent = msg.message;
        $('join-knock').disabled = false;
        show('join-screen');
      } else {
        announce(msg.message);
      }
      return;
    default:
      if (session) session.handle(msg);
  }
}

function onState(state) {
  const banner = $('reconnecting');
  if (banner) banner.hidden = state !== 'reconnecting' || !admitted;
  if (state === 'reconnecting' && !admitted) {
    $('waiting-status').textContent = 'Your connection dropped. Reconnecting…';
    $('waiting-status').hidden = false;
  } else {
    $('waiting-status').hidden = true;
  }
}

async function knock(e) {
  e.preventDefault();
  if (!canEncrypt) { $('join-error').textContent = NO_E2EE; return; }
  const name = $('join-name').value.trim();
  const error = $('join-error');
  if (!name) { error.textContent = 'Please enter a name (a pseudonym is fine).'; $('join-name').focus(); return; }
  if (!$('join-agree').checked) { error.textContent = 'Please accept the group agreement to join.'; $('join-agree').focus(); return; }
  if (!$('unheard-choice').hidden && !$('join-unheard').checked) {
    error.textContent = 'Others would not hear you. Fix the microphone above, or choose to join without camera and microphone.';
    $('join-unheard').focus();
    return;
  }
  error.textContent = '';
  $('join-knock').disabled = true;
  const e2ee = await EndToEnd.create();
  const shell = sessionShell();
  shell.ui.leaveBtn.addEventListener('click', leave);
  shell.ui.needMomentBtn.hidden = false;
  shell.ui.stepAwayBtn.hidden = false;
  session = new Session({ channel: null, stream, gallery: new Gallery(shell.gallery), selfName: name, announce, ui: shell.ui, e2ee });
  channel = new Channel(
    () => ({ type: 'hello', v: 1, join: { kind: 'member', token, name, agreed: true, resume: resumeKey() }, public_key: e2ee.publicKey }),
    onMessage,
    onState,
  );
  session.channel = channel;
  channel.connect();
}

function leave() {
  if (channel) channel.send({ type: 'leave' });
  end('left');
}

$('speaker-select').addEventListener('change', () => chooseSpeaker($('speaker-select').value));
$('speaker-test').addEventListener('click', async () => {
  try {
    await playTestSound();
    $('speaker-note').textContent = 'Did you hear two soft notes? If not, check the volume or choose other speakers or headphones.';
  } catch {
    $('speaker-note').textContent = 'This browser could not play the test sound.';
  }
});
$('join-form').addEventListener('submit', knock);
// Fail closed: a browser that cannot encrypt says so before anyone types a name.
if (!canEncrypt) {
  $('join-error').textContent = NO_E2EE;
  $('join-knock').disabled = true;
}
// The group's own agreement, if its facilitator wrote one (else the default
// in the page stays).
fetch(`/api/invite/${encodeURIComponent(token)}`).then((r) => (r.ok ? r.json() : null)).then((data) => {
  if (!data || !Array.isArray(data.agreement) || data.agreement.length === 0) return;
  $('agreement').replaceChildren(...data.agreement.map((point) => {
    const li = document.createElement('li');
    li.textContent = point;
    return li;
  }));
}).catch(() => {});
$('waiting-leave').addEventListener('click', leave);
$('camera-select').addEventListener('change', () => setupDevices($('mic-select').value, $('camera-select').value));
$('mic-select').addEventListener('change', () => setupDevices($('mic-select').value, $('camera-select').value));
setupDevices().catch(() => {
  deviceState = 'failed';
  $('device-note').textContent = 'Camera and microphone are not available.';
  showUnheardChoice();
});
