// What members and facilitators share once admitted: media, the gallery,
// own microphone/camera/hand, chat, and the active speaker.

import { MediaLink, fillDeviceSelect, getLocalMedia } from './media.js';

const STOPPED = {
  audio: 'Your microphone stopped. Choose another below (or plug it back in and choose it again).',
  video: 'Your camera stopped. Choose another below, or carry on without it.',
};

/** The name of participant `id` as the roster says (`selfName` for oneself). */
function id2name(roster, id, selfName, you) {
  if (id === you) return selfName;
  return (roster.find((p) => p.id === id) || {}).name || '';
}

export class Session {
  /**
   * @param {object} o
   * @param {import('./socket.js').Channel} o.channel
   * @param {MediaStream} o.stream  own camera and microphone
   * @param {import('./gallery.js').Gallery} o.gallery
   * @param {string} o.selfName
   * @param {(text: string) => void} o.announce  live-region announcements
   * @param {object} o.ui  buttons and chat elements
   * @param {import('./e2ee.js').EndToEnd} o.e2ee  this page's keys
   */
  constructor({ channel, stream, gallery, selfName, announce, ui, e2ee }) {
    this.channel = channel;
    this.stream = stream;
    this.gallery = gallery;
    this.selfName = selfName;
    this.announce = announce;
    this.ui = ui;
    this.e2ee = e2ee;
    this.e2ee.onChange = (key) => this.showEncryption(key);
    this.link = new MediaLink((m) => this.channel.send(m), e2ee);
    this.you = null;
    this.roster = [];
    this.slots = new Map(); // slot -> { audio_mid, video_mid, participant }
    this.audioOn = stream.getAudioTracks().length > 0;
    this.videoOn = stream.getVideoTracks().length > 0;
    this.hand = false;
    this.forced = { audio: false, video: false, may_unmute: true };
    this.chatEnabled = true;
    /** Own devices that stopped and were not replaced yet. */
    this.trouble = { audio: false, video: false };
    this.watched = new WeakSet();
    this.watchTracks();
    this.wire();
    // What this page shows, so the server sends each tile the video layer
    // it can show and none to tiles off screen (sent again on changes).
    this.lastView = '';
    this.viewTimer = null;
    this.gallery.onLayout = () => this.scheduleView();
    document.addEventListener('visibilitychange', () => this.scheduleView());
    // Test hook, only for pages a test marked before they loaded.
    if (window.havenTestHooks === true) {
      window.havenStats = () => this.stats();
      window.havenSentAudioBytes = () => this.link.sentAudioBytes();
      window.havenSentVideoLayers = () => this.link.sentVideoLayers();
      window.havenFrameCounts = () => this.e2ee.counts();
    }
  }

  wire() {
    const { micBtn, camBtn, handBtn, chatForm, chatInput } = this.ui;
    micBtn.addEventListener('click', () => this.setOwn(!this.audioOn, this.videoOn));
    camBtn.addEventListener('click', () => this.setOwn(this.audioOn, !this.videoOn));
    handBtn.addEventListener('click', () => {
      this.hand = !this.hand;
      this.channel.send({ type: 'raise_hand', raised: this.hand });
      this.renderControls();
    });
    // Members only (the member page shows these buttons).
    this.ui.needMomentBtn.addEventListener('click', () => {
      this.moment = !this.moment;
      this.channel.send({ type: 'need_moment', on: this.moment });
      this.announce(this.moment ? 'Only the facilitators know you need a moment.' : 'You let the facilitators know you are all right.');
      this.renderControls();
    });
    this.ui.stepAwayBtn.addEventListener('click', () => this.stepAway(!this.away));
    this.ui.roundPass.addEventListener('click', () => this.channel.send({ type: 'round_pass' }));
    const { devicesBtn, deviceApply, deviceClose, micSelect, cameraSelect } = this.ui;
    devicesBtn.addEventListener('click', () => this.showDevices(this.ui.devicePanel.hidden));
    deviceClose.addEventListener('click', () => this.showDevices(false));
    deviceApply.addEventListener('click', () => this.useDevices(micSelect.value, cameraSelect.value));
    chatForm.addEventListener('submit', (e) => {
      e.preventDefault();
      const text = chatInput.value.trim();
      if (!text) return;
      const msg = { type: 'chat', text };
      const priv = this.ui.chatPrivate;
      if (priv && priv.checked) {
        const mod = this.roster.find((p) => p.moderator);
        if (mod) msg.to = mod.id;
      }
      this.channel.send(msg);
      chatInput.value = '';
    });
    this.renderControls();
  }

  /** Admitted: show ourselves and connect media. */
  /** @param {object[]} [iceServers] the clinic's TURN server, if any */
  async admitted(you, iceServers = []) {
    this.you = you;
    this.moment = false;
    this.away = false;
    this.beforeAway = null;
    const self = this.gallery.tile('self', this.selfName, { self: true });
    this.gallery.attach('self', this.stream.getVideoTracks());
    self.video.muted = true;
    this.slots.clear();
    this.lastView = '';
    await this.link.start(this.stream, iceServers);
    this.channel.send({ type: 'media', audio: this.audioOn, video: this.videoOn });
    this.reportTrouble();
  }

  /** A track that ends (unplugged, taken by another app) is said, not lost. */
  watchTracks() {
    for (const track of this.stream.getTracks()) {
      if (this.watched.has(track)) continue;
      this.watched.add(track);
      track.addEventListener('ended', () => {
        if (!this.stream.getTracks().includes(track)) return; // replaced already
        this.trouble[track.kind] = true;
        this.announce(STOPPED[track.kind]);
        this.reportTrouble();
        this.showDevices(true);
      });
    }
  }

  /** Tell the facilitators (an icon in their console) what stopped. */
  reportTrouble() {
    const { deviceTrouble } = this.ui;
    const said = ['audio', 'video'].filter((k) => this.trouble[k]).map((k) => STOPPED[k]);
    deviceTrouble.textContent = said.join(' ');
    deviceTrouble.hidden = said.length === 0;
    if (this.you !== null) this.channel.send({ type: 'device_trouble', mic_stopped: this.trouble.audio, camera_stopped: this.trouble.video });
  }

  async showDevices(open) {
    const { devicePanel, devicesBtn, micSelect, cameraSelect } = this.ui;
    devicePanel.hidden = !open;
    devicesBtn.setAttribute('aria-expanded', String(open));
    if (!open || !navigator.mediaDevices) return;
    const found = await navigator.mediaDevices.enumerateDevices();
    const of = (kind) => found.filter((d) => d.kind === kind);
    fillDeviceSelect(micSelect, of('audioinput'), this.stream.getAudioTracks()[0]);
    fillDeviceSelect(cameraSelect, of('videoinput'), this.stream.getVideoTracks()[0]);
  }

  /** Switch to the chosen microphone and camera, without renegotiating. */
  async useDevices(audioId, videoId) {
    const old = this.stream;
    const fresh = await getLocalMedia(audioId || undefined, videoId || undefined);
    this.setStream(fresh);
    old.getTracks().forEach((t) => t.stop());
    this.showDevices(false);
    this.announce('Your camera and microphone were switched.');
  }

  /**
   * Devices that arrive (or change) after the knock: a member may knock
   * while the permission prompt is still open. They are published on the
   * senders the peer connection already has (replaceTrack: no
   * renegotiation), and a device that was missing is turned on unless the
   * facilitator muted it; one that was there keeps the person's choice.
   */
  setStream(stream) {
    const had = { audio: this.stream.getAudioTracks().length > 0, video: this.stream.getVideoTracks().length > 0 };
    this.stream = stream;
    const has = { audio: stream.getAudioTracks().length > 0, video: stream.getVideoTracks().length > 0 };
    this.audioOn = has.audio && (had.audio ? this.audioOn : !this.forced.audio);
    this.videoOn = has.video && (had.video ? this.videoOn : !this.forced.video);
    this.applyLocal();
    // A working replacement ends the trouble with that kind of device.
    if (has.audio) this.trouble.audio = false;
    if (has.video) this.trouble.video = false;
    this.watchTracks();
    if (this.you !== null) {
      this.gallery.attach('self', stream.getVideoTracks());
      this.link.replace('audio', stream.getAudioTracks()[0] || null);
      this.link.replace('video', stream.getVideoTracks()[0] || null);
      this.channel.send({ type: 'media', audio: this.audioOn, video: this.videoOn });
    }
    this.reportTrouble();
    this.renderControls();
  }

  stop() {
    this.link.close();
    this.e2ee.forget();
    this.gallery.clear();
    this.slots.clear();
    this.roster = [];
    this.you = null;
  }

  handle(msg) {
    switch (msg.type) {
      case 'answer': this.link.answer(msg.sdp).then(() => this.attachAll()); return true;
      case 'roster': this.setRoster(msg.participants); return true;
      case 'slot': {
        // A slot that no longer carries someone (they left, or a side room
        // separates us): their tile stops showing the last frame.
        const before = this.slots.get(msg.slot);
        if (before && before.participant !== null && before.participant !== undefined && before.participant !== msg.participant) {
          this.gallery.attach(before.participant, []);
        }
        this.slots.set(msg.slot, msg);
        this.attachAll();
        return true;
      }
      case 'active_speaker': this.gallery.setSpeaker(msg.participant); return true;
      case 'rotate_key':
        this.e2ee.rotate(msg).then((keys) => { if (keys) this.channel.send(keys); }).catch(() => {});
        return true;
      case 'media_key': this.e2ee.accept(msg); return true;
      case 'round': this.showRound(msg); return true;
      case 'side_room': this.showSideRoom(msg); return true;
      case 'video_paused':
        this.ui.videoPaused.hidden = !msg.paused;
        return true;
      case 'send_layers': this.link.sendLayers(msg.active); return true;
      case 'chat': this.showChat(msg); return true;
      case 'chat_policy':
        this.chatEnabled = msg.enabled;
        this.ui.chatInput.disabled = !msg.enabled && !this.isModerator();
        this.announce(msg.enabled ? 'Chat is on.' : 'The facilitator turned chat off.');
        return true;
      case 'forced_mute':
        this.forced = msg;
        if (msg.audio) this.audioOn = false;
        if (msg.video) this.videoOn = false;
        this.applyLocal();
        this.announce(msg.audio || msg.video ? 'The facilitator muted you.' : 'The facilitator allowed your microphone again.');
        this.renderControls();
        return true;
      default: return false;
    }
  }

  /**
   * Say whether the session is end-to-end encrypted for this page, with
   * the safety code of the current keys (the same on every page unless
   * someone sits in the middle), or that the key has not come yet.
   */
  showEncryption(key) {
    const status = this.ui.e2eeStatus;
    status.dataset.state = key ? 'encrypted' : 'waiting';
    status.dataset.code = key ? key.code : '';
    status.dataset.epoch = key ? String(key.epoch) : '';
    status.dataset.since = String(Date.now());
    if (key) {
      // The code stays on one line (read aloud in groups of three).
      const code = document.createElement('span');
      code.className = 'nowrap';
      code.textContent = key.code;
      status.replaceChildren('End-to-end encrypted · safety code ', code);
    } else {
      status.textContent = 'Waiting for the key…';
    }
    status.title = key ? 'Everyone in this session sees the same safety code. The facilitator may read it aloud to compare.' : '';
  }

  isModerator() {
    return this.roster.some((p) => p.id === this.you && p.moderator);
  }

  setRoster(list) {
    const before = new Map(this.roster.map((p) => [p.id, p]));
    this.roster = list;
    const present = new Set();
    for (const p of list) {
      if (p.id === this.you) {
        this.gallery.setState('self', p);
        continue;
      }
      present.add(p.id);
      this.gallery.tile(p.id, p.name);
      this.gallery.setState(p.id, {
        audio: p.audio, video: p.video, mutedByFacilitator: p.muted_by_facilitator, hand: p.hand, connected: p.connected, away: p.away,
      });
      const old = before.get(p.id);
      if (!old && this.you !== null) this.announce(`${p.name} joined.`);
      if (p.hand && (!old || !old.hand)) this.announce(`${p.name} raised a hand.`);
    }
    for (const id of [...this.gallery.tiles.keys()]) {
      if (id !== 'self' && !present.has(id)) {
        const gone = before.get(id);
        this.gallery.remove(id);
        if (gone) this.announce(`${gone.name} left.`);
      }
    }
    this.attachAll();
    this.renderControls();
  }

  attachAll() {
    for (const s of this.slots.values()) {
      if (s.participant === null || s.participant === undefined) continue;
      this.gallery.attach(s.participant, [this.link.track(s.audio_mid), this.link.track(s.video_mid)]);
    }
    this.scheduleView();
  }

  /** Report the tiles on screen, half a second after things settle. */
  scheduleView() {
    clearTimeout(this.viewTimer);
    this.viewTimer = setTimeout(() => this.reportView(), 500);
  }

  reportView() {
    if (this.you === null || this.slots.size === 0) return;
    const tiles = [];
    if (document.visibilityState !== 'hidden') {
      for (const s of this.slots.values()) {
        const t = this.gallery.tiles.get(s.participant);
        if (!t) continue;
        const r = t.fig.getBoundingClientRect();
        const onScreen = r.width > 0 && r.bottom > 0 && r.right > 0 && r.top < window.innerHeight && r.left < window.innerWidth;
        if (onScreen) tiles.push({ slot: s.slot, width: Math.min(16000, Math.round(r.width * (window.devicePixelRatio || 1))) });
      }
    }
    const view = JSON.stringify(tiles);
    if (view === this.lastView) return;
    this.lastView = view;
    this.channel.send({ type: 'view', tiles });
  }

  setOwn(audio, video) {
    if ((audio && this.forced.audio || video && this.forced.video) && !this.forced.may_unmute) {
      this.announce('The facilitator has muted you; only they can unmute you.');
      return;
    }
    this.audioOn = audio && this.stream.getAudioTracks().length > 0;
    this.videoOn = video && this.stream.getVideoTracks().length > 0;
    if (audio) this.forced.audio = false;
    if (video) this.forced.video = false;
    this.applyLocal();
    this.channel.send({ type: 'media', audio: this.audioOn, video: this.videoOn });
    this.renderControls();
  }

  /**
   * The side room, worded for this page's side: the two inside are told
   * only they hear each other; the group gets a neutral line.
   */
  showSideRoom(msg) {
    const { sideRoomBanner, steppedOut } = this.ui;
    const active = msg.host !== undefined && msg.member !== undefined;
    const was = Boolean(this.sideRoom);
    this.sideRoom = active ? { host: msg.host, member: msg.member } : null;
    const name = (id) => id2name(this.roster, id, this.selfName, this.you) || 'Someone';
    const inside = active && (msg.host === this.you || msg.member === this.you);
    sideRoomBanner.hidden = !inside;
    steppedOut.hidden = !active || inside;
    if (inside) {
      const other = msg.host === this.you ? msg.member : msg.host;
      sideRoomBanner.textContent = `You are in a side room with ${name(other)}. Only the two of you hear and see each other; the group does not.`;
      this.announce(sideRoomBanner.textContent);
    } else if (active) {
      // The group's own line ("" shows none), with names filled in.
      const line = msg.notice === undefined ? '{member} stepped out with {facilitator}.' : msg.notice;
      steppedOut.hidden = line === '';
      steppedOut.textContent = line.replaceAll('{member}', name(msg.member)).replaceAll('{facilitator}', name(msg.host));
      if (line) this.announce(steppedOut.textContent);
    } else if (was) {
      this.announce('Everyone is back together.');
    }
  }

  /** The round in progress: its order, whose turn it is, "Pass" on yours. */
  showRound(msg) {
    const { round, roundHeading, roundOrder, roundPass } = this.ui;
    const was = this.roundCurrent;
    this.roundCurrent = msg.active ? msg.current : null;
    round.hidden = !msg.active;
    roundPass.hidden = !msg.active || msg.current !== this.you;
    if (!msg.active) {
      roundOrder.replaceChildren();
      if (was !== null && was !== undefined) this.announce('The round is over.');
      return;
    }
    const title = { check_in: 'Check-in', check_out: 'Check-out', round: 'Round' }[msg.kind] || 'Round';
    roundHeading.textContent = title;
    const nameOf = (id) => (id === this.you ? `${this.selfName} (you)` : id2name(this.roster, id, this.selfName, this.you) || 'Someone');
    roundOrder.replaceChildren(...msg.order.map((item) => {
      const li = document.createElement('li');
      li.dataset.name = id2name(this.roster, item.id, this.selfName, this.you);
      li.textContent = nameOf(item.id) + (item.passed ? ' (passed)' : '');
      if (item.id === msg.current) li.setAttribute('aria-current', 'true');
      return li;
    }));
    if (was !== msg.current) {
      this.announce(msg.current === this.you ? `${title}: your turn. You may speak or pass.` : `${title}: ${nameOf(msg.current)}'s turn.`);
    }
  }

  /** Step away (camera and microphone off, the tile says so) or come back. */
  stepAway(away) {
    if (away === this.away) return;
    if (away) {
      this.beforeAway = { audio: this.audioOn, video: this.videoOn };
      this.setOwn(false, false);
    }
    this.away = away;
    this.channel.send({ type: 'step_away', away });
    if (!away && this.beforeAway) this.setOwn(this.beforeAway.audio, this.beforeAway.video);
    this.announce(away ? 'You stepped away: your camera and microphone are off.' : 'Welcome back.');
    this.renderControls();
  }

  applyLocal() {
    this.stream.getAudioTracks().forEach((t) => { t.enabled = this.audioOn; });
    this.stream.getVideoTracks().forEach((t) => { t.enabled = this.videoOn; });
  }

  renderControls() {
    const { micBtn, camBtn, handBtn } = this.ui;
    const lockedOut = !this.forced.may_unmute;
    micBtn.setAttribute('aria-pressed', String(!this.audioOn));
    micBtn.textContent = this.audioOn ? 'Mute microphone' : (this.forced.audio && lockedOut ? 'Muted by facilitator' : 'Unmute microphone');
    micBtn.disabled = this.forced.audio && lockedOut;
    camBtn.setAttribute('aria-pressed', String(!this.videoOn));
    camBtn.textContent = this.videoOn ? 'Turn camera off' : 'Turn camera on';
    camBtn.disabled = this.forced.video && lockedOut;
    handBtn.setAttribute('aria-pressed', String(this.hand));
    handBtn.textContent = this.hand ? 'Lower hand' : 'Raise hand';
    const { needMomentBtn, stepAwayBtn } = this.ui;
    needMomentBtn.setAttribute('aria-pressed', String(Boolean(this.moment)));
    needMomentBtn.textContent = this.moment ? 'I am all right now' : 'I need a moment';
    stepAwayBtn.setAttribute('aria-pressed', String(Boolean(this.away)));
    stepAwayBtn.textContent = this.away ? 'I am back' : 'Step away';
  }

  showChat(msg) {
    const from = this.roster.find((p) => p.id === msg.from);
    const line = document.createElement('p');
    const who = document.createElement('span');
    who.className = 'who';
    who.textContent = `${msg.from === this.you ? 'You' : (from ? from.name : 'Someone')}${msg.private ? ' (private)' : ''}: `;
    line.append(who, document.createTextNode(msg.text));
    this.ui.chatLog.append(line);
    this.ui.chatLog.scrollTop = this.ui.chatLog.scrollHeight;
  }

  /** Test hook: inbound media per remote participant name. */
  async stats() {
    const byMid = await this.link.inbound();
    const out = {};
    for (const s of this.slots.values()) {
      const p = this.roster.find((r) => r.id === s.participant);
      if (!p) continue;
      const a = byMid[s.audio_mid] || {};
      const v = byMid[s.video_mid] || {};
      out[p.name] = {
        audioBytes: a.bytes || 0,
        concealedSamples: a.concealedSamples || 0,
        totalSamples: a.totalSamples || 0,
        framesDecoded: v.framesDecoded || 0,
        frameWidth: v.frameWidth || 0,
      };
    }
    return out;
  }
}
