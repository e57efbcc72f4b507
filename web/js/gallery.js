import { useSpeaker } from './media.js';

// The gallery: one tile per participant, laid out so that up to 14 fit the
// screen on a laptop or a phone, portrait or landscape, without scrolling.

const ASPECT = 16 / 9;

/** Columns that give the largest tiles for `n` tiles in a w×h box. */
export function bestColumns(n, w, h, gap = 8) {
  let best = { cols: 1, width: 0 };
  for (let cols = 1; cols <= Math.max(1, n); cols++) {
    const rows = Math.ceil(n / cols);
    let tw = (w - gap * (cols - 1)) / cols;
    let th = tw / ASPECT;
    if (th * rows + gap * (rows - 1) > h) {
      th = (h - gap * (rows - 1)) / rows;
      tw = th * ASPECT;
    }
    if (tw > best.width) best = { cols, width: Math.floor(tw) };
  }
  return best;
}

export class Gallery {
  /** @param {HTMLElement} el the grid container */
  constructor(el) {
    this.el = el;
    this.tiles = new Map(); // participant id -> { fig, video, caption, state }
    /** Called after every layout (tile sizes may have changed). */
    this.onLayout = () => {};
    new ResizeObserver(() => this.layout()).observe(el);
  }

  tile(id, name, { self = false } = {}) {
    let t = this.tiles.get(id);
    if (!t) {
      const fig = document.createElement('figure');
      fig.className = self ? 'tile self' : 'tile';
      if (!self) fig.dataset.testid = 'tile';
      const video = document.createElement('video');
      video.autoplay = true;
      video.playsInline = true;
      if (self) video.muted = true;
      else useSpeaker(video);
      const avatar = document.createElement('div');
      avatar.className = 'avatar';
      avatar.setAttribute('aria-hidden', 'true');
      const caption = document.createElement('figcaption');
      const label = document.createElement('span');
      const state = document.createElement('span');
      state.className = 'state';
      caption.append(label, state);
      fig.append(avatar, video, caption);
      this.el.append(fig);
      t = { fig, video, label, state, avatar, stream: null };
      this.tiles.set(id, t);
    }
    t.fig.dataset.name = name;
    t.fig.setAttribute('aria-label', self ? `${name} (you)` : name);
    t.label.textContent = self ? `${name} (you)` : name;
    t.avatar.textContent = name.slice(0, 1).toUpperCase();
    this.layout();
    return t;
  }

  /** Show `tracks` in the tile of `id`. */
  attach(id, tracks) {
    const t = this.tiles.get(id);
    if (!t) return;
    const live = tracks.filter(Boolean);
    if (live.length === 0) {
      // Nothing routed to this page for them (a side room): no frozen last
      // frame, the initial shows instead.
      t.stream = null;
      t.video.srcObject = null;
      return;
    }
    const same = t.stream && live.length === t.stream.getTracks().length && live.every((x) => t.stream.getTracks().includes(x));
    if (same) return;
    t.stream = new MediaStream(live);
    t.video.srcObject = t.stream;
    t.video.play().catch(() => {});
  }

  setState(id, { audio, video, mutedByFacilitator, hand, connected, away }) {
    const t = this.tiles.get(id);
    if (!t) return;
    const parts = [];
    if (!connected) parts.push('reconnecting');
    if (hand) parts.push(`✋ ${hand}`);
    if (away) parts.push('stepped away');
    else {
      if (!audio) parts.push(mutedByFacilitator ? 'muted by facilitator' : 'mic off');
      if (!video) parts.push('camera off');
    }
    t.state.textContent = parts.join(' · ');
    t.video.style.visibility = video ? 'visible' : 'hidden';
  }

  setSpeaker(id) {
    for (const [pid, t] of this.tiles) t.fig.classList.toggle('speaking', pid === id);
  }

  remove(id) {
    const t = this.tiles.get(id);
    if (!t) return;
    t.fig.remove();
    this.tiles.delete(id);
    this.layout();
  }

  clear() {
    for (const id of [...this.tiles.keys()]) this.remove(id);
  }

  layout() {
    const n = this.tiles.size || 1;
    const box = this.el.getBoundingClientRect();
    const { cols, width } = bestColumns(n, box.width, box.height);
    this.el.style.gridTemplateColumns = `repeat(${cols}, ${Math.max(80, width)}px)`;
    this.onLayout();
  }
}
