// The facilitator's side panel: the waiting list, the participants with
// their controls, raised hands in order, and the room's switches.

import { el } from './shell.js';

export class StaffPanel {
  constructor(root, announce) {
    this.announce = announce;
    this.channel = null;
    this.onEnd = () => {};
    this.you = null;
    this.roster = [];
    this.waiting = [];
    this.locked = false;
    this.chat = true;
    this.away = false;

    this.statusLine = el('p', { className: 'error', role: 'alert' });
    this.clock = el('p', { className: 'clock', dataset: { testid: 'session-clock' }, hidden: true });
    this.clockNotice = el('p', { className: 'banner calm', role: 'status', hidden: true });
    this.waitingList = el('ul', { className: 'plain waiting-list', 'aria-label': 'Waiting members, in order of arrival' });
    this.waitingHeading = el('h2', { id: 'waiting-heading' }, 'Waiting room');
    this.nobodyWaiting = el('li', { className: 'note' }, 'Nobody is waiting.');
    /** @type {Map<number, HTMLElement>} one entry per waiting member, kept across updates */
    this.entries = new Map();
    this.admitAll = el('button', { type: 'button', dataset: { testid: 'admit-all' } }, 'Admit all');
    this.admitAll.addEventListener('click', () => this.send({ type: 'admit_all' }));
    this.people = el('ul', { className: 'plain people', 'aria-label': 'People in the session' });
    /** Whose action menu is open (kept across roster updates). */
    this.openMenu = null;
    this.hands = el('ol', { 'aria-label': 'Raised hands, in order' });
    this.lockBtn = el('button', { type: 'button', className: 'secondary', 'aria-pressed': 'false' }, 'Lock the session');
    this.lockBtn.addEventListener('click', () => this.send({ type: 'lock', locked: !this.locked }));
    this.chatBtn = el('button', { type: 'button', className: 'secondary', 'aria-pressed': 'false' }, 'Turn chat off');
    this.chatBtn.addEventListener('click', () => this.send({ type: 'set_chat', enabled: !this.chat }));
    this.takeOver = el('button', { type: 'button', hidden: true, dataset: { testid: 'take-over' } }, 'Take over facilitation');
    this.takeOver.addEventListener('click', () => this.send({ type: 'take_over' }));
    this.sideRoomEnd = el('button', { type: 'button', dataset: { testid: 'side-room-end' }, hidden: true }, 'Bring them back from the side room');
    this.sideRoomEnd.addEventListener('click', () => this.send({ type: 'side_room_end' }));
    this.roundKind = el('select', { id: 'round-kind', 'aria-label': 'Kind of round' },
      el('option', { value: 'check_in' }, 'Check-in'), el('option', { value: 'check_out' }, 'Check-out'), el('option', { value: 'round' }, 'Round'));
    this.roundStart = el('button', { type: 'button', className: 'secondary', dataset: { testid: 'round-start' } }, 'Start a round');
    this.roundStart.addEventListener('click', () => this.send({ type: 'round_start', kind: this.roundKind.value }));
    this.roundNext = el('button', { type: 'button', dataset: { testid: 'round-next' }, hidden: true }, 'Next');
    this.roundNext.addEventListener('click', () => this.send({ type: 'round_next' }));
    this.roundEnd = el('button', { type: 'button', className: 'secondary', dataset: { testid: 'round-end' }, hidden: true }, 'End the round');
    this.roundEnd.addEventListener('click', () => this.send({ type: 'round_end' }));
    const end = el('button', { type: 'button', className: 'danger', dataset: { testid: 'session-end' } }, 'End the session for everyone');
    end.addEventListener('click', () => { this.send({ type: 'end' }); this.onEnd(); });
    root.replaceChildren(
      this.statusLine,
      this.clock,
      this.clockNotice,
      el('div', { className: 'row spread' }, this.waitingHeading, this.admitAll),
      this.waitingList,
      el('h2', {}, 'Raised hands'),
      this.hands,
      el('h2', {}, 'In the session'),
      this.people,
      el('div', { className: 'row' }, this.sideRoomEnd),
      el('div', { className: 'row' }, this.roundKind, this.roundStart, this.roundNext, this.roundEnd),
      el('div', { className: 'row' }, this.lockBtn, this.chatBtn, this.takeOver),
      el('div', { className: 'row' }, end),
    );
    this.renderWaiting();
  }

  send(msg) { if (this.channel) this.channel.send(msg); }

  status(text) {
    this.statusLine.textContent = text;
    this.announce(text);
  }

  setWaiting(list) {
    const before = new Set(this.waiting.map((w) => w.id));
    for (const w of list) {
      if (!before.has(w.id)) {
        const how = w.device_of != null ? 'a new device on a personal link already in use' : (w.known ? 'personal link' : 'group link');
        this.announce(`${w.name} is waiting (${how}).`);
      }
    }
    this.waiting = list;
    this.renderWaiting();
  }

  /**
   * Update the list in place: entries of people still waiting are kept as
   * they are, so a message being typed (or focus on a button) survives
   * someone else knocking or being admitted.
   */
  renderWaiting() {
    const ids = new Set(this.waiting.map((w) => w.id));
    for (const [id, entry] of this.entries) {
      if (!ids.has(id)) { entry.remove(); this.entries.delete(id); }
    }
    const n = this.waiting.length;
    this.waitingHeading.textContent = n ? `Waiting room (${n})` : 'Waiting room';
    this.admitAll.disabled = n === 0;
    this.admitAll.hidden = n < 2;
    if (!n) { this.waitingList.replaceChildren(this.nobodyWaiting); return; }
    this.nobodyWaiting.remove();
    this.waiting.forEach((w, i) => {
      let entry = this.entries.get(w.id);
      if (!entry) { entry = this.waitingEntry(w); this.entries.set(w.id, entry); }
      if (this.waitingList.children[i] !== entry) this.waitingList.insertBefore(entry, this.waitingList.children[i] || null);
    });
  }

  /**
   * A knock on a personal link someone is already using: the same person on
   * a second device, or someone else holding their link. The facilitator
   * decides; admitting it replaces the other device.
   */
  deviceNote(w) {
    if (w.device_of === null || w.device_of === undefined) return null;
    const holder = [...this.roster, ...this.waiting].find((p) => p.id === w.device_of);
    const who = holder ? holder.name : 'someone';
    return el('p', { className: 'note device', dataset: { testid: 'new-device' } },
      `New device: this link is already in use by ${who}. Admit only if you know it is them; admitting replaces their other device.`);
  }

  /** One knock: who, how they came, admit/deny, and a private message. */
  waitingEntry(w) {
    const admit = el('button', { type: 'button', dataset: { testid: 'admit' }, 'aria-label': `Admit ${w.name}` }, 'Admit');
    admit.addEventListener('click', () => this.send({ type: 'admit', participant: w.id }));
    const deny = el('button', { type: 'button', className: 'secondary', dataset: { testid: 'deny' }, 'aria-label': `Deny ${w.name}` }, 'Deny');
    deny.addEventListener('click', () => this.send({ type: 'deny', participant: w.id }));
    const inputId = `message-to-${w.id}`;
    const text = el('input', { type: 'text', id: inputId, maxLength: 1000, required: true, dataset: { testid: 'message-text' } });
    const form = el('form', { className: 'message-form', hidden: true },
      el('label', { htmlFor: inputId }, `Private message to ${w.name}`),
      el('div', { className: 'row' }, text, el('button', { type: 'submit', className: 'secondary', dataset: { testid: 'message-send' } }, 'Send')));
    const write = el('button', { type: 'button', className: 'secondary', 'aria-expanded': 'false', dataset: { testid: 'message-open' }, 'aria-label': `Write to ${w.name}` }, 'Message…');
    write.addEventListener('click', () => {
      form.hidden = !form.hidden;
      write.setAttribute('aria-expanded', String(!form.hidden));
      if (!form.hidden) text.focus();
    });
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!text.value.trim()) return;
      this.send({ type: 'message_waiting', participant: w.id, text: text.value });
      text.value = '';
      form.hidden = true;
      write.setAttribute('aria-expanded', 'false');
      this.announce(`Message sent to ${w.name}.`);
      write.focus();
    });
    return el('li', { className: 'waiting-entry', dataset: { testid: 'waiting-entry', name: w.name } },
      el('div', { className: 'row' },
        el('span', { className: 'who' }, w.name),
        el('span', { className: `tag ${w.known ? 'known' : 'unknown'}` }, w.known ? 'personal link' : 'group link')),
      this.deviceNote(w),
      el('div', { className: 'row' }, admit, deny, write),
      form);
  }

  /**
   * Members who said "I need a moment": a discreet flag in their row with
   * the time since, and a word for screen readers when one is new.
   */
  setNeedMoment(list) {
    const before = this.moments || new Map();
    this.moments = new Map(list.map((m) => [m.id, Date.now() - m.since_seconds * 1000]));
    for (const id of this.moments.keys()) {
      const p = this.roster.find((r) => r.id === id);
      if (!before.has(id) && p) this.announce(`${p.name} needs a moment.`);
    }
    clearInterval(this.momentTimer);
    if (this.moments.size) this.momentTimer = setInterval(() => this.setRoster(this.roster), 30000);
    this.setRoster(this.roster);
  }

  /**
   * The session clock (facilitators only): elapsed and remaining, counted
   * on here; a gentle notice 10 and 5 minutes before the scheduled end.
   */
  setClock(elapsedSeconds, lengthMinutes) {
    const openedAt = Date.now() - elapsedSeconds * 1000;
    const told = new Set();
    const render = () => {
      const elapsed = Math.floor((Date.now() - openedAt) / 60000);
      const left = lengthMinutes - elapsed;
      this.clock.hidden = false;
      this.clock.textContent = left >= 0
        ? `${elapsed} min in · ${left} min left of ${lengthMinutes}`
        : `${elapsed} min in · ${-left} min past the scheduled ${lengthMinutes}`;
      // One notice per mark crossed (a console opened late says it once).
      const mark = [5, 10].find((m) => left > 0 && left <= m);
      if (mark && !told.has(mark)) {
        [5, 10].filter((m) => m >= mark).forEach((m) => told.add(m));
        this.clockNotice.hidden = false;
        this.clockNotice.textContent = `${left} minutes left in the session.`;
        this.announce(this.clockNotice.textContent);
      }
    };
    clearInterval(this.clockTimer);
    render();
    this.clockTimer = setInterval(render, 15000);
  }

  /** A side room runs (its end button) or not (a side-room button per member). */
  setSideRoom(active) {
    this.sideRoomActive = active;
    this.sideRoomEnd.hidden = !active;
    this.setRoster(this.roster);
  }

  /** A round started, moved on or ended: "Next" and "End" while one runs. */
  setRound(active) {
    this.roundNext.hidden = !active;
    this.roundEnd.hidden = !active;
    this.roundStart.hidden = active;
    this.roundKind.hidden = active;
  }

  /** Whose microphone or camera stopped: an icon in their row, no sound. */
  setTrouble(list) {
    this.trouble = new Map(list.map((t) => [t.id, t]));
    this.setRoster(this.roster);
  }

  setRoster(list) {
    this.roster = list;
    const mine = list.find((p) => p.id === this.you);
    const moderating = Boolean(mine && mine.moderator);
    this.people.replaceChildren(...list.filter((p) => p.id !== this.you).map((p) => this.row(p, moderating, mine)));
    const raised = list.filter((p) => p.hand).sort((a, b) => a.hand - b.hand);
    this.hands.replaceChildren(...(raised.length ? raised.map((p) => el('li', {}, p.name)) : [el('li', { className: 'note' }, 'No hands raised.')]));
    this.takeOver.hidden = !(this.away && mine && !mine.moderator && mine.role === 'co_facilitator');
  }

  row(p, moderating, mine) {
    const controls = [];
    if (moderating && p.role === 'member') {
      const muted = !p.audio && p.muted_by_facilitator;
      const mute = el('button', { type: 'button', className: 'secondary', dataset: { testid: 'participant-mute' }, 'aria-pressed': String(muted), 'aria-label': `${muted ? 'Unmute' : 'Mute'} ${p.name}` }, muted ? 'Unmute' : 'Mute');
      mute.addEventListener('click', () => this.send({ type: 'mute', participant: p.id, audio: !muted, video: false, may_unmute: muted }));
      const camOff = !p.video && p.muted_by_facilitator;
      const cam = el('button', { type: 'button', className: 'secondary', dataset: { testid: 'participant-camera' }, 'aria-label': `${camOff ? 'Allow' : 'Stop'} ${p.name}'s camera` }, camOff ? 'Allow camera' : 'Stop camera');
      cam.addEventListener('click', () => this.send({ type: 'mute', participant: p.id, audio: !p.audio && p.muted_by_facilitator, video: !camOff, may_unmute: camOff }));
      const back = el('button', { type: 'button', className: 'secondary', dataset: { testid: 'participant-return' }, 'aria-label': `Return ${p.name} to the waiting room` }, 'To waiting room');
      back.addEventListener('click', () => this.send({ type: 'return_to_waiting', participant: p.id }));
      const remove = el('button', { type: 'button', className: 'danger', dataset: { testid: 'participant-remove' }, 'aria-label': `Remove ${p.name} from the session` }, 'Remove');
      remove.addEventListener('click', () => this.send({ type: 'remove', participant: p.id }));
      controls.push(mute, cam, back, remove);
    }
    if (mine && mine.role !== 'member' && p.role === 'member' && !this.sideRoomActive) {
      const aside = el('button', { type: 'button', className: 'secondary', dataset: { testid: 'side-room' }, 'aria-label': `Take ${p.name} into a side room` }, 'Side room');
      aside.addEventListener('click', () => this.send({ type: 'side_room_start', participant: p.id }));
      controls.push(aside);
    }
    if (moderating && p.role === 'co_facilitator' && mine) {
      const hand = el('button', { type: 'button', className: 'secondary', 'aria-label': `Hand facilitation to ${p.name}` }, 'Hand over');
      hand.addEventListener('click', () => this.send({ type: 'hand_over', participant: p.id }));
      controls.push(hand);
    }
    const facts = [p.role === 'member' ? null : p.role.replace('_', '-'), p.moderator ? 'facilitating' : null, p.away ? 'stepped away' : null, p.audio ? null : 'mic off', p.video ? null : 'camera off', p.hand ? `hand ${p.hand}` : null, p.connected ? null : 'reconnecting'].filter(Boolean);
    const t = this.trouble && this.trouble.get(p.id);
    const stopped = t ? [t.mic_stopped ? 'microphone' : null, t.camera_stopped ? 'camera' : null].filter(Boolean).join(' and ') : '';
    const icon = stopped ? el('span', { className: 'trouble', role: 'img', title: `${p.name}'s ${stopped} stopped`, 'aria-label': `${p.name}'s ${stopped} stopped`, dataset: { testid: 'device-trouble' } }, ' ⚠') : null;
    const since = this.moments && this.moments.get(p.id);
    const minutes = since === undefined ? 0 : Math.floor((Date.now() - since) / 60000);
    const moment = since === undefined ? null : el('span', { className: 'moment', dataset: { testid: 'need-moment-flag' }, title: 'Said privately to the facilitators' },
      ` needs a moment${minutes ? ` · ${minutes} min` : ''}`);
    // One line per person: name, states, and the actions in a menu, so
    // thirteen people fit a laptop's console without scrolling.
    let menu = null;
    if (controls.length) {
      for (const c of controls) c.addEventListener('click', () => { this.openMenu = null; });
      const summary = el('summary', { dataset: { testid: 'participant-menu' }, 'aria-label': `Actions for ${p.name}` }, '⋯');
      menu = el('details', { className: 'menu' }, summary, el('div', { className: 'menu-items' }, ...controls));
      menu.open = this.openMenu === p.id;
      menu.addEventListener('toggle', () => {
        if (menu.open) this.openMenu = p.id;
        else if (this.openMenu === p.id) this.openMenu = null;
      });
    }
    return el('li', { dataset: { testid: 'participant-row', name: p.name } },
      el('span', { className: 'who' }, p.name), icon, moment,
      el('span', { className: 'facts' }, facts.join(', ')), menu);
  }

  setLocked(locked) {
    this.locked = locked;
    this.lockBtn.setAttribute('aria-pressed', String(locked));
    this.lockBtn.textContent = locked ? 'Unlock the session' : 'Lock the session';
    this.announce(locked ? 'The session is locked: no new knocks.' : 'The session is open for knocks.');
  }

  setChat(enabled) {
    this.chat = enabled;
    this.chatBtn.setAttribute('aria-pressed', String(!enabled));
    this.chatBtn.textContent = enabled ? 'Turn chat off' : 'Turn chat on';
  }

  setAway(away) {
    this.away = away;
    this.setRoster(this.roster);
  }
}
