// One WebSocket per participant (docs/protocol.md). Reconnects on its own
// after a drop, saying the same hello, until told to stop.

export class Channel {
  /**
   * @param {() => object} hello builds the hello message (called on every connect)
   * @param {(msg: object) => void} onMessage
   * @param {(state: 'open' | 'reconnecting' | 'closed') => void} onState
   */
  constructor(hello, onMessage, onState) {
    this.hello = hello;
    this.onMessage = onMessage;
    this.onState = onState;
    this.ws = null;
    this.reconnect = true;
    this.attempt = 0;
  }

  connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const ws = new WebSocket(`${scheme}://${location.host}/ws`);
    this.ws = ws;
    ws.onopen = () => {
      this.attempt = 0;
      ws.send(JSON.stringify(this.hello()));
      this.onState('open');
    };
    ws.onmessage = (e) => {
      let msg;
      try { msg = JSON.parse(e.data); } catch { return; }
      // The server is restarting: come back as soon as it is up again.
      if (msg.type === 'restarting') { this.restartingSince = Date.now(); return; }
      this.onMessage(msg);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      if (!this.reconnect) { this.onState('closed'); return; }
      this.onState('reconnecting');
      // Soon, and not all at once (jitter): a restart keeps the session, so
      // every page of it comes back within a few seconds; after a server
      // said it restarts, every half second or so for half a minute.
      const jitter = Math.random() * 500;
      const restarting = this.restartingSince && Date.now() - this.restartingSince < 30000;
      const delay = restarting ? 250 + jitter : Math.min(3000, 500 * 2 ** this.attempt++) + jitter;
      setTimeout(() => { if (this.reconnect) this.connect(); }, delay);
    };
  }

  send(msg) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  /** Close for good (left, removed, denied, ended). */
  close() {
    this.reconnect = false;
    if (this.ws) this.ws.close();
  }
}
