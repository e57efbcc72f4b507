// Small helpers shared by both pages, and the in-session screen's markup
// (static: nothing user-provided is ever put into innerHTML).

export const $ = (id) => document.getElementById(id);

/** Say something to screen-reader users (and nothing to anyone else). */
export function announcer() {
  const el = $('announcer');
  return (text) => {
    el.textContent = '';
    setTimeout(() => { el.textContent = text; }, 50);
  };
}

/** Show exactly one of the page's screens. */
export function show(id) {
  for (const el of document.querySelectorAll('body > main, body > .session')) el.hidden = el.id !== id;
}

export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (k === 'dataset') Object.assign(e.dataset, v);
    else if (k.startsWith('aria-') || k === 'role') e.setAttribute(k, v);
    else e[k] = v;
  }
  e.append(...children.filter((c) => c !== null && c !== undefined));
  return e;
}

const SESSION_SHELL = `
  <div class="session-top">
    <span class="honest">This session cannot be recorded by Haven.</span>
    <span id="e2ee-status" class="honest" role="status" data-testid="e2ee-status" data-state="waiting">Waiting for the key…</span>
    <p id="reconnecting" class="banner" role="status" hidden>Your connection dropped. Reconnecting…</p>
    <p id="facilitator-away" class="banner" role="status" hidden>The facilitator's connection dropped. Please wait; nobody new can join meanwhile.</p>
    <p id="side-room-banner" class="banner calm" role="status" data-testid="side-room-banner" hidden></p>
    <p id="stepped-out" class="banner calm" role="status" data-testid="stepped-out-notice" hidden></p>
    <p id="video-paused" class="banner calm" role="status" data-testid="video-paused" hidden>Video paused to keep voices clear. It comes back by itself when your connection allows.</p>
  </div>
  <div class="session-body">
    <section class="stage" aria-label="Participants">
      <div id="gallery" class="gallery"></div>
    </section>
    <aside class="side" aria-label="Session panel">
      <section id="round" class="round" aria-labelledby="round-heading" hidden>
        <h2 id="round-heading">Round</h2>
        <ol id="round-order" data-testid="round-order"></ol>
        <button id="round-pass" data-testid="round-pass" type="button" class="secondary" hidden>Pass</button>
      </section>
      <div id="staff-panel"></div>
      <section aria-labelledby="chat-heading">
        <h2 id="chat-heading">Chat</h2>
        <p class="note">Chat is never stored.</p>
        <div id="chat-log" class="chat-log" aria-live="polite"></div>
        <form id="chat-form">
          <label for="chat-input">Message</label>
          <input id="chat-input" type="text" maxlength="1000" autocomplete="off">
          <label class="check" id="chat-private-label"><input id="chat-private" type="checkbox"> Only to the facilitator</label>
          <button type="submit">Send</button>
        </form>
      </section>
    </aside>
  </div>
  <div id="device-panel" class="card device-panel" data-testid="device-panel" hidden>
    <p id="device-trouble" class="banner" role="alert" data-testid="device-trouble-self" hidden></p>
    <label for="session-mic">Microphone</label>
    <select id="session-mic" data-testid="session-mic"></select>
    <label for="session-camera">Camera</label>
    <select id="session-camera" data-testid="session-camera"></select>
    <div class="row"><button id="device-apply" data-testid="device-apply" type="button">Use these</button>
    <button id="device-close" type="button" class="secondary">Close</button></div>
  </div>
  <div class="controls" role="toolbar" aria-label="Your controls">
    <button id="mute-self" data-testid="mute-self" type="button" aria-pressed="false">Mute microphone</button>
    <button id="camera-self" data-testid="camera-self" type="button" aria-pressed="false">Turn camera off</button>
    <button id="devices-self" data-testid="devices-self" type="button" aria-expanded="false" aria-controls="device-panel">Camera and microphone…</button>
    <button id="raise-hand" data-testid="raise-hand" type="button" aria-pressed="false">Raise hand</button>
    <button id="need-moment" data-testid="need-moment" type="button" aria-pressed="false" hidden title="Tells the facilitators only">I need a moment</button>
    <button id="step-away" data-testid="step-away" type="button" aria-pressed="false" hidden>Step away</button>
    <button id="leave" data-testid="leave" type="button" class="danger">Leave</button>
  </div>`;

/** Fill the session screen and return its parts. */
export function sessionShell() {
  const root = $('session-screen');
  root.innerHTML = SESSION_SHELL;
  return {
    gallery: $('gallery'),
    staffPanel: $('staff-panel'),
    reconnecting: $('reconnecting'),
    away: $('facilitator-away'),
    ui: {
      videoPaused: $('video-paused'),
      e2eeStatus: $('e2ee-status'),
      sideRoomBanner: $('side-room-banner'),
      steppedOut: $('stepped-out'),
      micBtn: $('mute-self'),
      camBtn: $('camera-self'),
      handBtn: $('raise-hand'),
      needMomentBtn: $('need-moment'),
      round: $('round'),
      roundHeading: $('round-heading'),
      roundOrder: $('round-order'),
      roundPass: $('round-pass'),
      stepAwayBtn: $('step-away'),
      devicesBtn: $('devices-self'),
      devicePanel: $('device-panel'),
      deviceTrouble: $('device-trouble'),
      micSelect: $('session-mic'),
      cameraSelect: $('session-camera'),
      deviceApply: $('device-apply'),
      deviceClose: $('device-close'),
      leaveBtn: $('leave'),
      chatLog: $('chat-log'),
      chatForm: $('chat-form'),
      chatInput: $('chat-input'),
      chatPrivate: $('chat-private'),
      chatPrivateLabel: $('chat-private-label'),
    },
  };
}
