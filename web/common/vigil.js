// The Vigil protocol (docs/protocol.md) for the pages: one WebSocket with the
// subprotocol vigil.v1, requests answered by id, events dispatched by type, and a
// reconnect loop. The connection comes back on its own after a drop; the page
// decides what to resume (case_resume for a citizen, resume for staff) in onopen.

// A connection can die without closing (a tunnel, a lift, a NAT or mobile network that
// forgets an idle flow): nothing arrives, and what is sent goes nowhere while the page
// still says connected. So after QUIET_MS with nothing received the page asks the
// gateway for a `hello`; with no answer in PROBE_MS it drops the connection itself,
// and the reconnect and the page's resume run at once.
const QUIET_MS = 10000;
const PROBE_MS = 6000;
// A connection still opening after CONNECT_MS is given up and tried again: on a weak
// network a handshake can hang for minutes, the page saying "Reconnecting" all along.
const CONNECT_MS = 10000;

export class Gateway {
  constructor() {
    this.ws = null;
    this.lastRx = 0;              // when anything last arrived
    this.probing = false;
    this.nextId = 1;
    this.pending = new Map();     // id -> {resolve, timer}
    this.handlers = new Map();    // type -> [fn]
    this.onopen = null;           // called on every (re)connection
    this.onclose = null;
    this.wanted = false;          // keep reconnecting while true
    this.backoff = 250;
  }

  on(type, fn) {
    if (!this.handlers.has(type)) this.handlers.set(type, []);
    this.handlers.get(type).push(fn);
  }

  connect() {
    this.wanted = true;
    const ws = new WebSocket('wss://' + location.host + '/ws', 'vigil.v1');
    this.ws = ws;
    const opening = setTimeout(() => {
      if (this.ws === ws && ws.readyState === WebSocket.CONNECTING) {
        console.warn(`the connection did not open in ${CONNECT_MS} ms: trying again`);
        this.drop();
      }
    }, CONNECT_MS);
    ws.onopen = () => {
      clearTimeout(opening);
      this.backoff = 250;
      this.lastRx = Date.now();
      if (!this.beat) this.beat = setInterval(() => this.heartbeat(), 1000);
      if (this.onopen) this.onopen();
    };
    ws.onmessage = (ev) => {
      // A connection given up on (drop) or replaced is done: what it still delivers
      // belongs to it, not to the page's current connection.
      if (this.ws !== ws) return;
      this.lastRx = Date.now();
      let m;
      try { m = JSON.parse(ev.data); } catch (e) { return; }
      this.dispatch(m);
    };
    ws.onclose = () => { clearTimeout(opening); this.lost(ws); };
  }

  // ws is gone (closed, or given up on by drop()): what was in flight is answered
  // `disconnected`, and a new connection is made unless the page closed it.
  lost(ws) {
    if (this.ws !== ws) return;
    this.ws = null;
    // Requests in flight will never be answered on this connection.
    for (const [, p] of this.pending) { clearTimeout(p.timer); p.resolve({ type: 'error', code: 'disconnected' }); }
    this.pending.clear();
    if (this.onclose) this.onclose();
    if (this.wanted) {
      setTimeout(() => { if (this.wanted && !this.ws) this.connect(); }, this.backoff);
      this.backoff = Math.min(this.backoff * 2, 4000);
    }
  }

  close() {
    this.wanted = false;
    if (this.ws) this.ws.close();
  }

  // Drops the connection as a network change would; it comes back by itself. Given up
  // on here and now: on a dead path the browser's closing handshake could take a
  // minute, and the page must not wait for it.
  drop() {
    const ws = this.ws;
    if (!ws) return;
    this.lost(ws);
    try { ws.close(); } catch (e) { /* already closing */ }
  }

  // Asks the gateway for a sign of life; no answer in ms and the connection is
  // dropped (see QUIET_MS). Also for the page after a network change.
  probe(ms = PROBE_MS) {
    const ws = this.ws;
    if (!this.open || this.probing) return;
    this.probing = true;
    this.request('hello', {}, ms).then((r) => {
      this.probing = false;
      if (r.code === 'timeout' && this.ws === ws) {
        console.warn(`no answer from the gateway in ${ms} ms: reconnecting`);
        this.drop();
      }
    });
  }

  heartbeat() {
    if (this.open && Date.now() - this.lastRx >= QUIET_MS) this.probe();
  }

  get open() { return !!this.ws && this.ws.readyState === WebSocket.OPEN; }

  dispatch(m) {
    if (m.id !== undefined && this.pending.has(m.id)) {
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      p.resolve(m);
      return;
    }
    for (const fn of this.handlers.get(m.type) || []) fn(m);
    for (const fn of this.handlers.get('*') || []) fn(m);
  }

  send(msg) {
    if (!this.open) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  // Resolves with the reply (an error reply included); never rejects.
  request(type, fields = {}, timeoutMs = 15000) {
    const id = 'w' + this.nextId++;
    return new Promise((resolve) => {
      if (!this.send(Object.assign({ type, id }, fields))) {
        resolve({ type: 'error', code: 'disconnected', message: 'not connected' });
        return;
      }
      const timer = setTimeout(() => {
        this.pending.delete(id);
        resolve({ type: 'error', code: 'timeout', message: 'no answer' });
      }, timeoutMs);
      this.pending.set(id, { resolve, timer });
    });
  }
}

// Adds a remote ICE candidate line ("" = end of candidates) to pc.
export async function addCandidate(pc, line) {
  if (!pc || pc.signalingState === 'closed') return;
  try {
    if (line) await pc.addIceCandidate({ candidate: line, sdpMLineIndex: 0 });
    else await pc.addIceCandidate(null);
  } catch (e) { /* a candidate for an older ICE generation: harmless */ }
}

export function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') e.className = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else if (v !== false && v !== null && v !== undefined) e.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children) if (c !== null && c !== undefined) e.append(c);
  return e;
}

// Sets e's text only when it differs: rewriting a node's text, even to the same,
// replaces its text node, which undoes a selection in it and makes a live region
// speak again.
export function setText(e, text) {
  if (e.textContent !== text) e.textContent = text;
}

// Appends li to a scrolling list (a chat) and follows the end only if the reader was
// there already: a new message must not pull away someone reading back. The list
// alone scrolls, not the page around it (someone typing in a field further down
// keeps it in view), unless `page` (a phone, where the chat is the page's content
// and may run below the fold).
export function appendFollowing(box, li, page = false) {
  const atEnd = box.scrollHeight - box.scrollTop - box.clientHeight < 40;
  box.append(li);
  if (!atEnd) return;
  if (page) li.scrollIntoView({ block: 'nearest' });
  else box.scrollTop = box.scrollHeight;
}

export function fmtDuration(s) {
  s = Math.max(0, Math.round(s));
  const m = Math.floor(s / 60);
  return m ? `${m} min ${s % 60} s` : `${s} s`;
}

// Typed text as the gateway takes it (signaling/core/msg.c): no control character
// but a line break or a tab (a pasted one would have the whole message refused).
export const typedText = (s) => s.replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/g, '');

// What the gateway takes of a text, in bytes (VG_CHAT_MAX): a limit in characters
// lets Chinese text three times over it through.
export const TEXT_MAX = 2000;
export const textBytes = (text) => new TextEncoder().encode(text).length;

export function fmtTime(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

// Extra legs (docs/protocol.md, "Several people on a case"): the gateway offers a
// receive-only leg per other person a page must see or hear, named by `peer`. Each
// gets its own peer connection, answered with nothing to send, and is closed when
// its media_state says closed or the person leaves. The main leg is never touched.
export class ExtraLegs {
  constructor(gw, onTrack, onClose) {
    this.gw = gw;
    this.onTrack = onTrack;   // (peer, track)
    this.onClose = onClose;   // (peer)
    this.legs = new Map();    // peer -> RTCPeerConnection
    this.n = 0;
  }

  async offer(m) {
    let pc = this.legs.get(m.peer);
    if (!pc || pc.signalingState === 'closed') {
      pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
      pc.onicecandidate = (e) => this.gw.send({ type: 'ice', case_id: m.case_id, peer: m.peer,
                                                candidate: e.candidate ? e.candidate.candidate : '' });
      pc.ontrack = (e) => this.onTrack(m.peer, e.track);
      this.legs.set(m.peer, pc);
    }
    await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
    for (const t of pc.getTransceivers()) if (t.direction !== 'stopped') t.direction = 'recvonly';
    await pc.setLocalDescription(await pc.createAnswer());
    this.gw.send({ type: 'media_answer', id: 'x' + ++this.n, case_id: m.case_id, peer: m.peer,
                   sdp: pc.localDescription.sdp });
  }

  ice(m) { return addCandidate(this.legs.get(m.peer), m.candidate); }

  close(peer) {
    const pc = this.legs.get(peer);
    if (!pc) return;
    pc.close();
    this.legs.delete(peer);
    this.onClose(peer);
  }

  // Keeps only the legs of the people named.
  keep(peers) { for (const p of [...this.legs.keys()]) if (!peers.includes(p)) this.close(p); }

  closeAll() { for (const p of [...this.legs.keys()]) this.close(p); }
}
