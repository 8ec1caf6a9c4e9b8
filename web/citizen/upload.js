// Resumable uploads of a case's photos and videos (contract: /api/uploads, see
// docs/protocol.md "Uploads"). Files go one at a time in chunks; after a failed
// chunk (a dropped connection) the uploader waits, asks the server where the file
// stands (GET /api/uploads/<id>) and carries on from that offset, so nothing is
// sent twice and nothing is lost. A file counts as received when the server says
// complete (with its sha256) and again when upload_received arrives on the socket.

const CALL_MS = 60000; // one chunk of 256 KiB at 35 kbit/s
// A chunk counts only when all of it arrived: on an uplink slower than a whole chunk
// per CALL_MS, full chunks would time out for ever. So a chunk that times out is
// halved for the next try (down to MIN_CHUNK: 16 KiB in 60 s is ~2 kbit/s), and a
// chunk sent in under a quarter of the time lets the next one double, up to the
// server's chunk_max.
const MIN_CHUNK = 16384;
// For tests and drills: a shorter call time (the page sets it; never in use).
const callMs = () => globalThis.vigilUploadCallMs || CALL_MS;

export class Uploader {
  constructor(caseId, token, onchange) {
    this.caseId = caseId;
    this.token = token;
    this.onchange = onchange;
    this.items = [];
    this.running = false;
    this.stopped = false;
    this.wake = null;
  }

  add(file) {
    this.items.push({ file, name: file.name || 'file', size: file.size, id: null, offset: 0,
                      chunk: 262144, chunkMax: 262144, state: 'waiting', error: '', sha256: null });
    this.changed();
  }

  changed() { this.onchange(this.items); }

  stop() { this.stopped = true; this.kick(); }

  // Some file is still on its way.
  busy() { return this.items.some((i) => ['waiting', 'sending', 'retrying'].includes(i.state)); }

  // Wakes a retry wait at once (the connection is back).
  kick() { if (this.wake) this.wake(); }

  received(m) {
    const it = this.items.find((i) => i.id === m.upload_id);
    if (!it) return;
    it.confirmed = true;
    it.state = 'received';
    it.sha256 = m.sha256;
    it.offset = it.size;
    this.changed();
  }

  // A request that hangs on a dead path is given up after CALL_MS and retried (the
  // retry asks where the file stands): otherwise "sending 40%" could stay for minutes.
  async call(method, path, body, type) {
    const headers = { Authorization: 'Bearer ' + this.token };
    if (type) headers['Content-Type'] = type;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), callMs());
    try {
      const r = await fetch(path, { method, headers, body, signal: ctl.signal });
      let j = {};
      try { j = await r.json(); } catch (e) { /* not JSON */ }
      return { status: r.status, body: j };
    } finally {
      clearTimeout(timer);
    }
  }

  async pause(ms) {
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => { clearTimeout(timer); resolve(); };
    });
    this.wake = null;
  }

  async run() {
    if (this.running) return;
    this.running = true;
    try {
      for (const it of this.items) {
        if (this.stopped) break;
        if (it.state === 'waiting' || it.state === 'retrying') await this.send(it);
      }
    } finally {
      this.running = false;
    }
  }

  // Sends one file to the end, retrying through dropped connections.
  async send(it) {
    let delay = 500;
    while (!this.stopped && !['sent', 'received', 'failed'].includes(it.state)) {
      try {
        await this.step(it);
        delay = 500;
      } catch (e) {
        it.state = 'retrying';
        this.changed();
        await this.pause(delay);
        delay = Math.min(delay * 2, 8000);
        if (it.id) await this.where(it).catch(() => {});
      }
    }
  }

  async where(it) {
    const r = await this.call('GET', '/api/uploads/' + encodeURIComponent(it.id));
    if (r.status === 200) {
      it.offset = r.body.offset;
      if (r.body.complete) { it.state = 'sent'; it.sha256 = r.body.sha256; }
    }
  }

  fail(it, r) {
    it.state = 'failed';
    it.error = (r.body && (r.body.message || r.body.error)) || 'HTTP ' + r.status;
    it.code = (r.body && r.body.error) || ''; // for a page whose language the message is not in
    this.changed();
  }

  async step(it) {
    if (!it.id) {
      const r = await this.call('POST', '/api/uploads',
                                JSON.stringify({ case_id: this.caseId, name: it.name, size: it.size }),
                                'application/json');
      if (r.status >= 500) throw new Error('server ' + r.status);
      if (r.status !== 201) { this.fail(it, r); return; }
      it.id = r.body.upload_id;
      it.offset = r.body.offset || 0;
      it.chunkMax = r.body.chunk_max || it.chunkMax;
      it.chunk = Math.min(it.chunk, it.chunkMax);
    }
    it.state = 'sending';
    this.changed();
    const end = Math.min(it.offset + it.chunk, it.size);
    const t0 = Date.now();
    let r;
    try {
      r = await this.call('POST', `/api/uploads/${encodeURIComponent(it.id)}?offset=${it.offset}`,
                          it.file.slice(it.offset, end), 'application/octet-stream');
    } catch (e) {
      if (e && e.name === 'AbortError') it.chunk = Math.max(MIN_CHUNK, Math.floor(it.chunk / 2));
      throw e;
    }
    if (r.status === 200 && Date.now() - t0 < callMs() / 4) it.chunk = Math.min(it.chunkMax, it.chunk * 2);
    if (r.status === 200) {
      it.offset = r.body.offset;
      if (r.body.complete) {
        it.state = it.confirmed ? 'received' : 'sent';
        it.sha256 = r.body.sha256;
      }
    } else if (r.status === 409 && r.body.error === 'offset') {
      // The server has it all already (our last chunk's answer was lost): done, not
      // an empty chunk that would be refused and mark the file "not sent".
      it.offset = r.body.offset;
      if (r.body.complete) { it.state = it.confirmed ? 'received' : 'sent'; it.sha256 = r.body.sha256 || it.sha256; }
    } else if (r.status >= 500) {
      throw new Error('server ' + r.status);
    } else {
      this.fail(it, r);
    }
    this.changed();
  }
}
