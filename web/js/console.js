// The facilitator's page: log in, groups and links, and the session console.

import { $, announcer, el, sessionShell, show } from './shell.js';
import { api } from './api.js';
import { Channel } from './socket.js';
import { EndToEnd, NO_E2EE, canEncrypt } from './e2ee.js';
import { getLocalMedia } from './media.js';
import { Gallery } from './gallery.js';
import { Session } from './session.js';
import { StaffPanel } from './staff.js';

const announce = announcer();
let me = null;

async function start() {
  let r;
  try {
    r = await api('GET', '/api/me');
  } catch {
    // Haven could not be reached (restarting, a network blip): a blank
    // page would stay blank, so ask again shortly.
    setTimeout(start, 1000);
    return;
  }
  if (r.ok) {
    me = r.data.username;
    await showGroups();
  } else {
    show('login-screen');
    $('login-username').focus();
  }
}

$('login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const r = await api('POST', '/api/login', { username: $('login-username').value, password: $('login-password').value });
  if (!r.ok) {
    $('login-error').textContent = r.data ? r.data.message : 'Login failed.';
    return;
  }
  $('login-error').textContent = '';
  $('login-password').value = '';
  me = r.data.username;
  await showGroups();
});

$('logout').addEventListener('click', async () => {
  await api('POST', '/api/logout');
  me = null;
  show('login-screen');
});

$('group-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = { name: $('group-create-name').value, capacity: Number($('group-capacity').value) || 12 };
  const co = $('group-co').value.trim();
  if (co) body.co_facilitator = co;
  const r = await api('POST', '/api/groups', body);
  if (!r.ok) {
    $('group-error').textContent = r.data ? r.data.message : 'Could not create the group.';
    return;
  }
  $('group-error').textContent = '';
  $('group-create-name').value = '';
  announce(`Group ${r.data.name} created.`);
  await showGroups(r.data.id);
});

async function showGroups(focusId) {
  show('groups-screen');
  const r = await api('GET', '/api/groups');
  if (r.status === 401) { show('login-screen'); return; }
  const list = $('group-list');
  const inv = await api('GET', '/api/invitations');
  list.replaceChildren(...(inv.data || []).map(invitationCard), ...(r.data || []).reverse().map(groupCard));
  const focus = focusId && list.querySelector(`[data-group="${focusId}"] [data-testid="session-start"]`);
  if (focus) focus.focus();
}

const UNSHOWABLE = 'This link can no longer be shown here (its key is gone); it still works. Make a new one to see a link.';

/** A colleague asks us to co-facilitate: nothing happens until we accept. */
function invitationCard(i) {
  const answer = async (accept) => {
    const r = await api('POST', `/api/invitations/${i.group}`, { accept });
    announce(r.ok ? (accept ? `You now co-facilitate ${i.name}.` : 'Invitation declined.') : 'That invitation is gone.');
    await showGroups(accept ? i.group : undefined);
  };
  const yes = el('button', { type: 'button', dataset: { testid: 'invitation-accept' } }, 'Accept');
  const no = el('button', { type: 'button', className: 'secondary' }, 'Decline');
  yes.addEventListener('click', () => answer(true));
  no.addEventListener('click', () => answer(false));
  return el('section', { className: 'card', dataset: { invitation: String(i.group) }, 'aria-label': `Invitation: ${i.name}` },
    el('h2', {}, `Invitation: ${i.name}`),
    el('p', {}, `${i.facilitator} invites you to co-facilitate this group. You will see its waiting room and can take over if they drop.`),
    el('div', { className: 'row' }, yes, no));
}

function groupCard(g) {
  const link = el('code', { className: 'link', dataset: { testid: 'group-invite-link' } }, g.invite_link || UNSHOWABLE);
  const copy = el('button', { type: 'button', className: 'secondary', disabled: !g.invite_link, 'aria-label': `Copy the invite link of ${g.name}` }, 'Copy link');
  copy.addEventListener('click', async () => {
    try { await navigator.clipboard.writeText(g.invite_link); announce('Invite link copied.'); } catch { announce('Select the link and copy it.'); }
  });
  const replace = replaceLink(g, (url) => { g.invite_link = url; link.textContent = url; copy.disabled = false; });
  const startBtn = el('button', { type: 'button', dataset: { testid: 'session-start' } }, g.session_open ? 'Rejoin the session' : 'Start the session');
  startBtn.addEventListener('click', () => startSession(g));
  const links = el('ul', { className: 'plain' });
  const label = el('input', { type: 'text', maxLength: 40, id: `link-label-${g.id}` });
  const add = el('button', { type: 'button', className: 'secondary' }, 'Create personal link');
  add.addEventListener('click', async () => {
    const r = await api('POST', `/api/groups/${g.id}/links`, { label: label.value });
    if (r.ok) { label.value = ''; announce('Personal link created.'); await loadLinks(g, links); }
  });
  const details = el('details', {},
    el('summary', {}, 'Personal links'),
    el('p', { className: 'note' }, 'A personal link marks its holder as known in the waiting room. Label it with initials, not a full name.'),
    el('label', { htmlFor: `link-label-${g.id}` }, 'Label'), label, add, links);
  details.addEventListener('toggle', () => { if (details.open) loadLinks(g, links); });
  const words = g.role === 'facilitator' ? wordsEditor(g) : null;
  return el('section', { className: 'card', dataset: { group: String(g.id) }, 'aria-label': g.name },
    el('h2', {}, g.name),
    el('p', { className: 'note' }, `Up to ${g.capacity} members${g.co_facilitator ? ` · co-facilitator ${g.co_facilitator}` : ''}${g.co_facilitator_invited ? ` · ${g.co_facilitator_invited} invited to co-facilitate (until they accept, nobody is)` : ''}${g.role === 'co_facilitator' ? ' · you co-facilitate' : ''}`),
    el('p', {}, 'Group invite link: ', link),
    el('div', { className: 'row' }, copy, startBtn),
    replace,
    details,
    words);
}

/** Haven's group agreement, as the join page shows it until a group has its own. */
const DEFAULT_AGREEMENT = [
  'What is said in the group stays in the group.',
  'Join from a private space where nobody else can see or hear the session.',
  'Headphones are recommended, so others\' voices stay with you.',
  'Do not record, photograph or share the session.',
].join('\n');
const DEFAULT_STEPPED_OUT = '{member} stepped out with {facilitator}.';

/** The facilitator's own words: the agreement and the side-room line. */
function wordsEditor(g) {
  const agreement = el('textarea', { id: `agreement-${g.id}`, rows: 5, maxLength: 2000, dataset: { testid: 'agreement-edit' } });
  agreement.value = g.agreement ?? DEFAULT_AGREEMENT;
  const line = el('input', { type: 'text', id: `stepped-out-${g.id}`, maxLength: 200, dataset: { testid: 'stepped-out-edit' } });
  line.value = g.stepped_out_notice ?? DEFAULT_STEPPED_OUT;
  const save = el('button', { type: 'button', className: 'secondary', dataset: { testid: 'agreement-save' } }, 'Save');
  save.addEventListener('click', async () => {
    const r = await api('POST', `/api/groups/${g.id}/words`, { agreement: agreement.value, stepped_out_notice: line.value });
    announce(r.ok ? 'Saved. Members see it from their next visit to the link.' : (r.data ? r.data.message : 'Could not save.'));
  });
  return el('details', {},
    el('summary', {}, 'Group agreement and wording'),
    el('label', { htmlFor: agreement.id }, 'The agreement members accept before they knock (one point per line)'), agreement,
    el('label', { htmlFor: line.id }, 'What the group sees while someone is in the side room ({member}, {facilitator}; empty: nothing)'), line,
    save);
}

/**
 * "New group link": for a link shared too widely or with someone who left.
 * Asks once more in place, because the old link stops working at once.
 */
function replaceLink(g, done) {
  if (g.role !== 'facilitator') return null;
  const ask = el('button', { type: 'button', className: 'secondary', dataset: { testid: 'invite-replace' } }, 'New group link…');
  const yes = el('button', { type: 'button', className: 'danger', dataset: { testid: 'invite-replace-confirm' } }, 'Replace the link');
  const no = el('button', { type: 'button', className: 'secondary' }, 'Keep the current link');
  const confirm = el('div', { className: 'card', hidden: true },
    el('p', {}, 'The current group link will stop working at once. Members who have it will need the new one; people already in a session stay.'),
    el('div', { className: 'row' }, yes, no));
  ask.addEventListener('click', () => { confirm.hidden = false; yes.focus(); });
  no.addEventListener('click', () => { confirm.hidden = true; ask.focus(); });
  yes.addEventListener('click', async () => {
    const r = await api('POST', `/api/groups/${g.id}/invite`);
    confirm.hidden = true;
    if (!r.ok) { announce(r.data ? r.data.message : 'Could not make a new link.'); return; }
    done(r.data.invite_link);
    announce('New group link made; the old one no longer works.');
    ask.focus();
  });
  return el('div', {}, ask, confirm);
}

async function loadLinks(g, list) {
  const r = await api('GET', `/api/groups/${g.id}/links`);
  list.replaceChildren(...(r.data || []).map((l) => {
    const revoke = el('button', { type: 'button', className: 'secondary', disabled: l.revoked, 'aria-label': `Revoke the link labelled ${l.label || 'unlabelled'}` }, l.revoked ? 'Revoked' : 'Revoke');
    revoke.addEventListener('click', async () => {
      const x = await api('DELETE', `/api/groups/${g.id}/links/${l.id}`);
      if (x.ok) { announce('Link revoked.'); await loadLinks(g, list); }
    });
    return el('li', {}, el('span', { className: 'who' }, l.label || '(no label)'), ' ', el('code', { className: 'link' }, l.link || UNSHOWABLE), ' ', revoke);
  }));
}

async function startSession(g) {
  // Fail closed: a browser that cannot encrypt the session does not open it.
  if (!canEncrypt) { announce(NO_E2EE); window.alert(NO_E2EE); return; }
  const e2ee = await EndToEnd.create();
  const r = await api('POST', `/api/groups/${g.id}/session`);
  if (!r.ok) { announce(r.data ? r.data.message : 'Could not start the session.'); return; }
  const stream = await getLocalMedia();
  const shell = sessionShell();
  shell.ui.chatPrivateLabel.hidden = true;
  const panel = new StaffPanel(shell.staffPanel, announce);
  const session = new Session({ channel: null, stream, gallery: new Gallery(shell.gallery), selfName: me, announce, ui: shell.ui, e2ee });
  const channel = new Channel(() => ({ type: 'hello', v: 1, join: { kind: 'staff', group: g.id, name: me }, public_key: e2ee.publicKey }), onMessage, onState);
  session.channel = channel;
  panel.channel = channel;
  panel.onEnd = () => api('DELETE', `/api/groups/${g.id}/session`);
  let admitted = false;

  function leaveConsole(text) {
    channel.close();
    session.stop();
    stream.getTracks().forEach((t) => t.stop());
    announce(text);
    showGroups(g.id);
  }
  shell.ui.leaveBtn.addEventListener('click', () => { channel.send({ type: 'leave' }); leaveConsole('You left the session; it stays open.'); });

  function onMessage(msg) {
    switch (msg.type) {
      case 'admitted':
        admitted = true;
        show('session-screen');
        session.admitted(msg.you, msg.ice_servers);
        panel.you = msg.you;
        announce('You are in the session.');
        return;
      case 'session_ended': leaveConsole('The session has ended.'); return;
      case 'facilitator_away': shell.away.hidden = !msg.away; panel.setAway(msg.away); return;
      case 'error':
        announce(msg.message);
        if (msg.code === 'logged_out') { leaveConsole(msg.message); location.reload(); return; }
        if (!admitted) leaveConsole(msg.message);
        return;
      case 'refused': panel.status(msg.message); return;
      case 'roster': session.handle(msg); panel.setRoster(msg.participants); return;
      case 'waiting_list': panel.setWaiting(msg.waiting); return;
      case 'device_trouble': panel.setTrouble(msg.participants); return;
      case 'need_moment': panel.setNeedMoment(msg.participants); return;
      case 'session_clock': panel.setClock(msg.elapsed_seconds, msg.length_minutes); return;
      case 'round': session.handle(msg); panel.setRound(msg.active); return;
      case 'side_room': session.handle(msg); panel.setSideRoom(msg.host !== undefined); return;
      case 'locked': panel.setLocked(msg.locked); return;
      case 'chat_policy': session.handle(msg); panel.setChat(msg.enabled); return;
      default: session.handle(msg);
    }
  }
  function onState(state) { shell.reconnecting.hidden = state !== 'reconnecting'; }
  channel.connect();
}

start();
