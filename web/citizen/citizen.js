// The citizen's alarm page: four choices (video, silent, voice, report), then one
// case until it ends, then a rating. The case survives a dropped connection: the
// page reconnects, sends case_resume with the case token and restarts ICE with a
// new media_offer (docs/protocol.md). A silent alarm never puts an <audio> or an
// unmuted <video> element into the page and receives nothing from the gateway.
import { ExtraLegs, Gateway, TEXT_MAX, addCandidate, appendFollowing, el, fmtTime, setText, textBytes, typedText }
  from '/common/vigil.js';
import { Uploader } from '/citizen/upload.js';
import { N_, applyStatic, langTag, serverText, switchLang, t } from '/common/i18n.js';
import '/citizen/zh.js';

const $ = (id) => document.getElementById(id);
const gw = new Gateway();
const PHONE_KEY = 'vigil.phone';
const SMS_KEY = 'vigil.sms'; // the centre's SMS alarm number, from its hello

// Storage the browser may refuse (site data blocked): the page works without it,
// it only forgets the number and cannot come back to a case after a reload.
function stored(area, key) {
  try { return window[area].getItem(key); } catch (e) { return null; }
}
function store(area, key, value) {
  try {
    if (value === null) window[area].removeItem(key); else window[area].setItem(key, value);
  } catch (e) { /* not kept */ }
}

const c = {
  mode: null,
  caseId: null,
  token: null,
  state: 'idle',     // idle, starting, connecting, queued, answered, ended
  pc: null,
  local: null,       // our MediaStream
  watch: null,       // watchPosition id
  lastFix: null,
  position: null,
  waiting: 0,
  heldBy: null,
  chatSeen: new Set(),
  unread: new Set(), // the police's messages told delivered, not yet seen
  outbox: [],        // chat texts not yet sent (connection down)
  uploader: null,
  stars: 0,
  cancelPending: [], // alarms gone back on while trying: {client_ref, phone} (deliverCancels)
};

// ---- screens and state text --------------------------------------------------

function show(screen) {
  for (const id of ['home', 'report-form', 'call', 'outside', 'rating', 'quiet-end']) $(id).hidden = id !== screen;
  document.body.classList.remove('screen-home', 'screen-report-form', 'screen-call', 'screen-outside',
                                 'screen-rating', 'screen-quiet-end');
  document.body.classList.add('screen-' + screen);
}

// #state is a live region: a screen reader speaks each change, so it is written only
// when its text changes, and the waiting time that ticks every second stays out of it
// (in #state-time, hidden from screen readers).
function setState(text, time = '') {
  setText($('state'), text);
  $('state-time').textContent = time;
  $('state-time').hidden = !time;
}

function banner(text) {
  $('banner').textContent = text;
  $('banner').hidden = !text;
}

// Why a request failed, in the page's language: the gateway's words when they are
// in its script, else the words for a lost connection, else the code.
function why(r) {
  if (r.code === 'disconnected') return t('not connected');
  if (r.code === 'timeout') return t('no answer');
  return serverText(r.message) || r.code;
}

// A wait in minutes and seconds, in the page's language.
function fmtWait(secs) {
  const s = Math.max(0, Math.round(secs));
  const m = Math.floor(s / 60);
  return m ? t('{m} min {s} s', { m, s: s % 60 }) : t('{s} s', { s });
}

function renderState() {
  const silent = c.mode === 'silent';
  let s = '';
  let time = '';
  switch (c.state) {
    case 'starting': s = silent ? t('Opening…') : t('Starting: allow the access your phone asks for.'); break;
    case 'connecting': s = silent ? t('Connecting…') : t('Connecting to the police…'); break;
    case 'reconnecting': s = silent ? t('Reconnecting…') : t('Connection lost: reconnecting, your alarm stays open…'); break;
    case 'queued': {
      const n = c.position ?? '…';
      if (c.mode === 'report') { s = t('Report sent: number {n} in the queue.', { n }); break; }
      if (silent) { s = t('Waiting ({n})', { n }) + (c.escalated ? t(' · still trying') : ''); break; }
      s = t('Waiting for a call-taker: you are number {n} in the queue.', { n });
      time = t('Waiting {t}.', { t: fmtWait(c.waiting) });
      break;
    }
    case 'answered': {
      const name = c.heldBy;
      if (c.mode === 'report') {
        s = name ? t('A call-taker ({name}) has your report.', { name }) : t('A call-taker has your report.');
      } else if (silent) s = t('Connected');
      else s = name ? t('Connected to the police ({name}).', { name }) : t('Connected to the police.');
      break;
    }
    case 'ended': s = t('Ended.'); break;
    default: s = t('Choose how to reach the police.');
  }
  setState(s, time);
  renderHelp();
  $('hangup').hidden = !['starting', 'connecting', 'reconnecting', 'queued', 'answered'].includes(c.state);
  $('hangup').textContent = c.mode === 'report' ? t('Close report') : (silent ? t('End') : t('Hang up'));
}

function setCaseState(s) { c.state = s; renderState(); }

// Help on its way (docs/protocol.md, "help"): the dispatch system said help was sent,
// is coming (with about when) or is there: the best word of all the units sent.
// Counted down from when the word came, on a clock the phone's settings do not move.
// A silent alarm's page says it in words that give nothing away to someone who takes
// the phone (no "police", no "help"); gone once the alarm ends.
function renderHelp() {
  const h = c.help;
  const show = !!h && ['queued', 'answered', 'reconnecting'].includes(c.state) && h.status !== 'cleared';
  $('help').hidden = !show;
  if (!show) return;
  const silent = c.mode === 'silent';
  const left = h.eta_s === undefined ? null : Math.ceil((h.eta_s - (performance.now() - h.got) / 1000) / 60);
  let text;
  if (h.status === 'on_scene') text = silent ? t('Arrived.') : t('Help has arrived.');
  else if (h.status === 'en_route' && left > 0) {
    text = silent ? t('On its way: about {n} min.', { n: left }) : t('Help is on the way: about {n} min.', { n: left });
  } else if (h.status === 'en_route') text = silent ? t('On its way.') : t('Help is on the way.');
  else text = silent ? t('On its way.') : t('Help has been sent.');
  setText($('help'), text);
}

// ---- location ----------------------------------------------------------------

function fixFrom(pos) {
  const k = pos.coords;
  const f = { lat: k.latitude, lon: k.longitude, accuracy: Math.min(Math.max(k.accuracy || 0, 0), 1e6),
              source: 'gps', device_time: Math.round(pos.timestamp || Date.now()) };
  if (Number.isFinite(k.heading) && k.heading >= 0 && k.heading <= 360) f.heading = k.heading;
  if (Number.isFinite(k.speed) && k.speed >= 0 && k.speed <= 1000) f.speed = k.speed;
  if (Number.isFinite(k.altitude) && k.altitude >= -1000 && k.altitude <= 20000) f.altitude = k.altitude;
  return f;
}

// The first fix, for alarm_start; the alarm goes out without one after a few seconds.
function firstFix(ms) {
  return new Promise((resolve) => {
    if (!navigator.geolocation) { resolve(null); return; }
    const timer = setTimeout(() => resolve(null), ms);
    navigator.geolocation.getCurrentPosition((p) => { clearTimeout(timer); resolve(fixFrom(p)); },
                                             () => { clearTimeout(timer); resolve(null); },
                                             { enableHighAccuracy: true, timeout: ms, maximumAge: 10000 });
  });
}

function sendFix(f) {
  c.lastFix = f;
  if (c.trying) smsOffer(); // the text to the SMS number says where, as soon as it is known
  if (c.caseId && c.state !== 'ended') c.fixUnsent = !gw.send(Object.assign({ type: 'location' }, f));
}

function watchLocation() {
  if (!navigator.geolocation || c.watch !== null) return;
  c.watch = navigator.geolocation.watchPosition((p) => {
    const f = fixFrom(p);
    locNote('');
    const l = c.lastFix;
    if (l && l.lat === f.lat && l.lon === f.lon && l.accuracy === f.accuracy) return;
    sendFix(f);
  }, (e) => {
    // The police must know they do not know where the caller is, and the caller that
    // writing the place helps; shown as text, never spoken or sounded.
    if (!c.lastFix) {
      locNote(e && e.code === 1 ? t('Your location is not shared: write where you are.')
        : t('Your location is not found yet: write where you are.'));
    }
  }, { enableHighAccuracy: true, maximumAge: 5000 });
}

function locNote(text) {
  const n = $('loc-state');
  setText(n, text);
  n.hidden = !text;
}

function stopLocation() {
  if (c.watch !== null) navigator.geolocation.clearWatch(c.watch);
  c.watch = null;
}

// ---- media -------------------------------------------------------------------

async function getMedia(mode) {
  if (mode === 'report') return null;
  // A silent alarm sends the camera too (the call-taker sees the scene, and a deaf
  // caller's signing), never shown on the phone: no preview, no media element.
  const want = mode === 'voice' ? { audio: true } : { audio: true, video: { facingMode: 'user' } };
  try {
    return await navigator.mediaDevices.getUserMedia(want);
  } catch (e) {
    // Without the camera it is still a call: the police hear the caller.
    if (mode === 'video' || mode === 'silent') {
      try {
        const audio = await navigator.mediaDevices.getUserMedia({ audio: true });
        if (mode === 'video') mediaNote(t('Camera not allowed: the police can hear you, and you can write below.'), true);
        return audio;
      } catch (e2) { /* neither: as below */ }
    }
    mediaNote(mode === 'silent' ? t('Microphone not available.')
      : t('Camera or microphone not allowed: you can still write in the chat below.'), true);
    return null;
  }
}

function buildMediaView() {
  const box = $('media');
  box.replaceChildren();
  if (c.mode === 'video') {
    const remote = el('video', { class: 'remote', autoplay: true, playsinline: true,
                                  'aria-label': t("The call-taker's picture") });
    const self = el('video', { class: 'self', autoplay: true, playsinline: true,
                                'aria-label': t('Your own picture') });
    self.muted = true;
    if (c.local) self.srcObject = c.local;
    box.append(el('div', { class: 'stage' }, remote, self,
                  el('p', { class: 'remote-note' }, t("The call-taker's picture will appear here."))),
               el('div', { class: 'peers' }));
  } else if (c.mode === 'voice') {
    box.append(el('p', { class: 'voice-badge' }, t('Voice call: speak normally. The police hear you.')),
               el('audio', { class: 'remote', autoplay: true }));
  }
  // silent and report: no media element at all.
}

const ICE_WORDS = { checking: N_('Connecting sound and picture…'), connected: N_('Sound and picture connected.'),
                    completed: N_('Sound and picture connected.'), disconnected: N_('Connection unstable…'),
                    failed: N_('Sound and picture lost: trying again…') };
const ICE_WORDS_VOICE = { checking: N_('Connecting sound…'), connected: N_('Sound connected.'),
                          completed: N_('Sound connected.'), disconnected: N_('Connection unstable…'),
                          failed: N_('Sound lost: trying again…') };

// The line under the media: `sticky` marks a note about the camera or microphone
// that a later media start must not wipe.
function mediaNote(text, sticky = false) {
  $('media-state').textContent = text;
  c.mediaNoteSticky = sticky && !!text;
}

function newPc() {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  pc.onicecandidate = (e) => gw.send({ type: 'ice', candidate: e.candidate ? e.candidate.candidate : '' });
  pc.ontrack = (e) => {
    if (c.mode !== 'video' && c.mode !== 'voice') return; // silent: never attach anything
    if (c.mode === 'voice' && e.track.kind !== 'audio') return;
    const target = $('media').querySelector('.remote');
    if (!target) return;
    if (!target.srcObject) target.srcObject = new MediaStream();
    target.srcObject.addTrack(e.track);
    if (e.track.kind === 'video') {
      e.track.onunmute = () => { const n = $('media').querySelector('.remote-note'); if (n) n.remove(); };
    }
  };
  pc.oniceconnectionstatechange = () => {
    const s = pc.iceConnectionState;
    if (s === 'failed') restartIce();
    if (c.mode !== 'silent') {
      const words = c.mode === 'voice' ? ICE_WORDS_VOICE : ICE_WORDS;
      if (words[s]) mediaNote(t(words[s]));
    }
  };
  return pc;
}

async function startMedia() {
  if (!c.local || c.pc) return; // none yet, or started already (late media, a resume)
  const pc = c.pc = newPc();
  watchTracks(c.local);
  setTimeout(() => reacquire(), 0); // a track that ended before there was a call to put it on
  for (const track of c.local.getTracks()) {
    // Silent: send the microphone and camera, receive nothing (the gateway answers recvonly).
    if (c.mode === 'silent') pc.addTransceiver(track, { direction: 'sendonly', streams: [c.local] });
    else pc.addTrack(track, c.local);
  }
  await pc.setLocalDescription(await pc.createOffer());
  gw.send({ type: 'media_offer', id: 'mo', sdp: pc.localDescription.sdp });
}

// A camera or microphone the phone takes away while the alarm is open (the screen
// locked, a phone call, another app took the camera) ends its track, and the police
// would see a frozen picture to the end. It is asked for again as soon as the page
// is in view, and put on the same sender (replaceTrack: no new offer), so picture and
// sound come back by themselves; a silent page stays silent and dark meanwhile.
function watchTracks(local) {
  for (const tr of local.getTracks()) tr.addEventListener('ended', () => reacquire(), { once: true });
}

let reacquiring = false;
async function reacquire() {
  const pc = c.pc;
  if (reacquiring || !pc || !c.local || c.state === 'ended' || document.visibilityState !== 'visible') return;
  const dead = c.local.getTracks().filter((tr) => tr.readyState === 'ended');
  if (!dead.length) return;
  reacquiring = true;
  let progressed = false;
  try {
    const want = {};
    for (const tr of dead) want[tr.kind] = tr.kind === 'video' ? { facingMode: 'user' } : true;
    const fresh = await navigator.mediaDevices.getUserMedia(want);
    const taken = new Set();
    try {
      for (const tr of fresh.getTracks()) {
        // the alarm may have ended, or its media been stopped, while we waited
        if (c.pc !== pc || !c.local || c.state === 'ended') break;
        const old = dead.find((d) => d.kind === tr.kind);
        const sender = pc.getSenders().find((x) => x.track === old);
        if (sender) await sender.replaceTrack(tr);
        if (c.pc !== pc || !c.local) break;
        c.local.removeTrack(old);
        c.local.addTrack(tr);
        taken.add(tr);
        tr.addEventListener('ended', () => reacquire(), { once: true });
      }
    } finally {
      for (const tr of fresh.getTracks()) if (!taken.has(tr)) tr.stop(); // no camera left on
    }
    progressed = taken.size > 0;
    if (progressed) c.reacquired = (c.reacquired || 0) + 1;
    if (progressed && c.mediaNoteSticky) mediaNote('');
  } catch (e) {
    // Not allowed any more, or the camera is busy: said on a page that may speak,
    // and tried again the next time the page comes into view.
    if (c.mode !== 'silent') mediaNote(t('Camera or microphone lost: the police may not see or hear you. You can write below.'), true);
  } finally {
    reacquiring = false;
  }
  // one that ended while this one was being replaced (not after a failure: that waits
  // for the page to come into view again)
  if (progressed && c.pc === pc && c.local && c.local.getTracks().some((tr) => tr.readyState === 'ended')) {
    reacquire();
  }
}
document.addEventListener('visibilitychange', () => reacquire());

let restarting = false;
async function restartIce() {
  const pc = c.pc;
  if (!pc || restarting || !gw.open || pc.signalingState === 'closed') return;
  restarting = true;
  try {
    if (pc.signalingState !== 'stable') await pc.setLocalDescription({ type: 'rollback' });
    await pc.setLocalDescription(await pc.createOffer({ iceRestart: true }));
    gw.send({ type: 'media_offer', id: 'mr', sdp: pc.localDescription.sdp });
    c.iceRestarts = (c.iceRestarts || 0) + 1;
  } catch (e) {
    console.warn('ICE restart', e);
  } finally {
    restarting = false;
  }
}

// Video and voice keep the screen on; a silent alarm lets it dim (nobody should
// see a lit phone), and a report needs no call.
async function keepAwake(on) {
  try {
    if (on && !c.wake && navigator.wakeLock) c.wake = await navigator.wakeLock.request('screen');
    if (!on && c.wake) { await c.wake.release(); c.wake = null; }
  } catch (e) { /* not allowed here: the screen may dim */ }
}

// Another officer who joins the case comes on an extra leg: a small picture in a
// video alarm, sound only in a voice alarm, nothing at all in a silent one.
const extra = new ExtraLegs(gw, (peer, track) => {
  if (c.mode !== 'video' && c.mode !== 'voice') return;
  if (c.mode === 'voice' && track.kind !== 'audio') return;
  let tile = $('media').querySelector(`[data-peer="${CSS.escape(peer)}"]`);
  if (!tile) {
    tile = c.mode === 'video'
      ? el('video', { class: 'peer', 'data-peer': peer, autoplay: true, playsinline: true, 'aria-label': t('Another officer') })
      : el('audio', { class: 'peer', 'data-peer': peer, autoplay: true });
    tile.srcObject = new MediaStream();
    ($('media').querySelector('.peers') || $('media')).append(tile);
  }
  tile.srcObject.addTrack(track);
}, (peer) => {
  const tile = $('media').querySelector(`[data-peer="${CSS.escape(peer)}"]`);
  if (tile) tile.remove();
});

function stopMedia() {
  extra.closeAll();
  keepAwake(false);
  if (c.pc) c.pc.close();
  c.pc = null;
  if (c.local) c.local.getTracks().forEach((tr) => tr.stop());
  c.local = null;
  $('media').replaceChildren();
}

// ---- chat --------------------------------------------------------------------

function addChat(m) {
  if (m.seq !== undefined) {
    if (c.chatSeen.has(m.seq)) return;
    c.chatSeen.add(m.seq);
  }
  const mine = m.from === 'citizen';
  const who = mine ? t('You') : (c.mode === 'silent' ? '' : t('Police'));
  const li = el('li', { class: mine ? 'mine' : 'theirs' },
                el('span', { class: 'meta' }, [who, m.at ? fmtTime(m.at) : ''].filter(Boolean).join(' · ')),
                m.text);
  appendFollowing($('chat'), li, true);
  if (!mine && m.seq !== undefined) receipt(m.seq);
}

// "delivered" when a message reaches the phone, "read" only once the page is in view:
// a silent alarm's screen may be off or the page behind another, and a call-taker who
// sees "read" under "Reply 1 if you can leave" waits for an answer to a message that
// was never seen.
const sendReceipt = (seq, status) => gw.send({ type: 'chat_receipt', id: 'r' + seq, case_id: c.caseId, seq, status });

function receipt(seq) {
  const seen = document.visibilityState === 'visible';
  sendReceipt(seq, seen ? 'read' : 'delivered');
  if (!seen) c.unread.add(seq);
}

document.addEventListener('visibilitychange', () => {
  if (document.visibilityState !== 'visible' || !c.caseId) return;
  for (const seq of c.unread) if (sendReceipt(seq, 'read')) c.unread.delete(seq);
});

// A message the connection lost on the way is kept with a placeholder; after the
// case resumes it is sent again unless the server's copy of the chat shows it
// already arrived (so nothing is lost and nothing appears twice).
function pending(text) {
  const li = el('li', { class: 'mine pending' }, el('span', { class: 'meta' }, `${t('You')} · ${t('waiting for connection')}`), text);
  $('chat').append(li);
  c.outbox.push({ text, li });
}

async function sendChat(text, li = null) {
  // Typed before the alarm is confirmed (a silent caller's first words): kept, and
  // sent once the case exists (flushOutbox after alarm_started), never dropped.
  if (!c.caseId) { if (li) c.outbox.push({ text, li }); else pending(text); return; }
  if (!gw.open) { if (li) c.outbox.push({ text, li }); else pending(text); return; }
  const r = await gw.request('chat', { case_id: c.caseId, text });
  if (r.type === 'chat_sent') {
    if (li) li.remove();
    addChat({ from: 'citizen', seq: r.seq, at: Date.now(), text });
  } else if (r.code === 'disconnected' || r.code === 'timeout') {
    if (li) c.outbox.push({ text, li }); else pending(text);
  } else {
    if (li) li.remove();
    addChat({ from: 'citizen', text: t('{text} (not sent: {why})', { text, why: why(r) }) });
  }
}

async function flushOutbox(resumedChat) {
  const arrived = (resumedChat || []).filter((m) => m.from === 'citizen' && !c.chatSeen.has(m.seq)).map((m) => m.text);
  const todo = c.outbox.splice(0);
  for (const p of todo) {
    const i = arrived.indexOf(p.text);
    if (i >= 0) { arrived.splice(i, 1); p.li.remove(); continue; }
    await sendChat(p.text, p.li);
  }
}

// ---- the case ----------------------------------------------------------------

function phone() { return $('phone').value.trim(); }

// The gateway's rule (vg_phone_normalize): an optional + first, then 3 to 15 digits,
// with spaces, dashes, dots and brackets allowed between them ("+86 (0)138..." too).
// Checked here as well, so a number the gateway would refuse is put right before the
// alarm, not after it failed with a message about the field.
function phoneProblem(p) {
  let s = p.trim();
  if (s.startsWith('+')) s = s.replace(/\(0\)/, '');
  s = s.replace(/[\s\-.()]/g, '');
  if (!s.replace(/\D/g, '').length) return t('Enter your phone number first, so the police can call you back.');
  if (!/^\+?\d+$/.test(s)) return t('Write the phone number with digits only (a + may come first).');
  const n = s.replace(/\D/g, '').length;
  if (n < 3 || n > 15) return t('A phone number has 3 to 15 digits; this one has {n}.', { n });
  return '';
}

async function choose(mode) {
  const problem = phoneProblem(phone());
  if (problem) {
    $('phone-error').textContent = problem;
    $('phone-error').hidden = false;
    $('phone').focus();
    return;
  }
  store('localStorage', PHONE_KEY, phone());
  $('phone-error').hidden = true;
  if (mode === 'report') { show('report-form'); $('report-text').focus(); return; }
  await raise(mode, {});
}

function resetCase(mode) {
  c.gen = (c.gen || 0) + 1;
  // Nothing of the case before carries over: its last fix sent as this alarm's place
  // after a reconnect could send the police to the wrong address.
  Object.assign(c, { mode, caseId: null, token: null, position: null, waiting: 0, heldBy: null,
                     chatSeen: new Set(), unread: new Set(), outbox: [], uploader: null, sentFiles: [], stars: 0,
                     lastFix: null, fixUnsent: false, escalated: false, staffNote: false, help: null });
  // A silent alarm's page is never read aloud: a screen reader speaks live regions.
  for (const id of ['state', 'chat', 'media-state', 'loc-state', 'help']) {
    $(id).setAttribute('aria-live', mode === 'silent' ? 'off' : 'polite');
  }
  locNote('');
  draftSent = '';
  document.body.classList.toggle('mode-silent', mode === 'silent');
  document.title = mode === 'silent' ? t('Notes') : t('Emergency 110');
  $('chat').replaceChildren();
  $('upload-list').replaceChildren();
  $('ended-upload-list').replaceChildren();
  $('ended-uploads').hidden = true;
  $('uploads').hidden = true;
  $('quick').hidden = mode === 'report'; /* a report has no one asking questions live */
  mediaNote('');
  $('chat-text').placeholder = mode === 'silent' ? t('Write here') : t('Write a message');
  banner('');
}

// One alarm_start at a time on the connection: one still in flight (its answer late,
// the citizen already gone on to another alarm) settles first, with its hang-up, or
// the gateway would take the new one for a second alarm on a connection that has one.
let startChain = Promise.resolve();

// A fresh, unguessable name for this alarm: sent again with every try, so a try whose
// answer was lost gets the same case back instead of raising a second one
// (client_ref, docs/protocol.md).
function newRef() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

// Tries for START_TRY_MS before the page says the alarm could not be sent (and then
// goes on trying: keepTrying). A test may shorten it (globalThis.vigilStartTryMs).
const START_TRY_MS = 30000;
const startTryMs = () => globalThis.vigilStartTryMs || START_TRY_MS;

async function startAlarm(req, cancelled, tryMs = startTryMs()) {
  const t0 = Date.now();
  for (;;) {
    if (!gw.open) await waitOpen(8000, cancelled);
    if (cancelled()) return { type: 'error', code: 'cancelled' };
    // An alarm ended on the page while offline is ended at the gateway first: its
    // resume binds it to the connection, which takes one alarm at a time.
    if (c.hangupPending) await deliverHangup();
    if (c.cancelPending.length) await deliverCancels();
    if (!req.location && c.lastFix) req.location = c.lastFix; // found while it was trying
    const r = await gw.request('alarm_start', req);
    if (r.type === 'alarm_started' || (r.code !== 'disconnected' && r.code !== 'timeout')) return r;
    if (cancelled() || Date.now() - t0 > tryMs) return r;
    await new Promise((res) => setTimeout(res, 1000));
  }
}

async function raise(mode, extra) {
  resetCase(mode);
  show('call');
  setCaseState('starting');
  const gen = c.gen;
  // Hung up (or started over) while we were waiting for permissions or the network?
  const cancelled = () => c.gen !== gen || c.state === 'ended';
  // Only this alarm's own media is stopped when it is cancelled: a newer alarm may
  // already have its camera and connection in c.
  const dropOwn = (local) => {
    if (c.gen === gen) stopMedia();
    else if (local) local.getTracks().forEach((tr) => tr.stop());
  };
  // The camera and microphone prompt may never be answered (a caller who pockets
  // the phone, or freezes): the alarm does not wait for it past the first fix and a
  // moment more. Media that comes later is offered then (lateMedia).
  const mediaP = getMedia(mode);
  const fix = await firstFix(4000);
  const local = await Promise.race([mediaP, new Promise((res) => setTimeout(() => res(undefined), MEDIA_WAIT_MS))]);
  if (local === undefined) lateMedia(mediaP, gen);
  if (cancelled()) { if (local) local.getTracks().forEach((tr) => tr.stop()); return; }
  c.local = local || null;
  buildMediaView();
  if (mode === 'video' || mode === 'voice') keepAwake(true);
  setCaseState('connecting');
  const prev = startChain;
  let settled;
  let r;
  startChain = new Promise((res) => { settled = res; });
  try {
    await prev;
    if (c.hangupPending) await deliverHangup(); // the case before ends first
    if (cancelled()) { dropOwn(local); return; }
    // A silent alarm abandoned on a weak network is still listed to follow up: the
    // console's call-back list warns that a ringing phone may put the caller in
    // danger, and leaves the judgement to the call-taker, rather than lose it.
    // The page's language goes on the caller card: the call-taker sees whom to
    // answer in which language (a visitor's page is in English).
    const req = { mode, phone: phone(), client_ref: newRef(), callback_allowed: extra.callback !== false,
                  caller: { language: langTag() } };
    if (LINK.token) req.link = LINK.token; // rings first at the call-taker who sent it
    if (fix) { req.location = fix; c.lastFix = fix; }
    r = await startAlarm(req, cancelled);
    if (cancelled()) {
      // Started: the connection carries it, end it. Maybe started (no answer, or the
      // connection went with the try on it): cancelled by its client_ref.
      if (r.type === 'alarm_started') await gw.request('hangup', {}, 5000);
      else if (r.code === 'timeout' || r.code === 'disconnected') cancelTry(req);
      dropOwn(local);
      return;
    }
    if (r.code === 'disconnected' || r.code === 'timeout') {
      r = await keepTrying(req, cancelled, mode);
      if (!r) return;
    }
    if (r.type !== 'alarm_started') {
      refused(r);
      return;
    }
    c.caseId = r.case_id;
    c.token = r.token;
  } finally {
    settled();
  }
  if (c.mediaAgain) { c.mediaAgain = false; lateMedia(getMedia(mode), gen, true); }
  store('sessionStorage', 'vigil.case', JSON.stringify({ token: c.token, mode, case_id: c.caseId }));
  setCaseState(r.state === 'answered' ? 'answered' : 'queued');
  watchLocation();
  if (extra.text) await sendChat(extra.text);
  if (mode === 'report') $('uploads').hidden = false;
  if (extra.files && extra.files.length) startUploads(extra.files);
  if (c.outbox.length) await flushOutbox([]); // what was typed while it started
  sendDraft(); // and what is being typed
  await startMedia().catch((e) => mediaNote(t('Media failed: {e}', { e: e.message })));
  $('chat-text').focus({ preventScroll: true });
}

// No connection for START_TRY_MS: the page says so and what else to do (Call 110, a
// text), and goes on trying with the same client_ref, so an answer lost on the way
// gets the same case back and a caller whose signal returns a minute later (a lift,
// a basement) is put through by itself. Back ends it (and hangs up an alarm that may
// have gone out). Returns the answer once the gateway gives one, or null.
async function keepTrying(req, cancelled, mode) {
  netFailed();
  $('outside-retry').hidden = false;
  c.trying = true;
  watchLocation(); // indoors the first fix is often late: the text and the tries get it
  const r = await startAlarm(req, cancelled, Infinity);
  c.trying = false;
  $('outside-retry').hidden = true;
  if (cancelled()) {
    cancelTry(req); // whatever the last try's answer: a try before it may have arrived
    return null;
  }
  if (r.type !== 'alarm_started') return r; // refused after all: said as any refusal
  // Through: back to the alarm at once (raise() records the case before anything
  // else can wait); the camera and microphone, stopped meanwhile, join as late media.
  show('call');
  buildMediaView();
  if (mode === 'video' || mode === 'voice') keepAwake(true);
  c.mediaAgain = true;
  return r;
}

// An alarm the page went back on while it was still trying to go out: a try may
// have arrived with its answer lost, and its case would wait for a caller who is
// gone (a silent one for good). Each is cancelled at the gateway by its secret
// client_ref (alarm_cancel) as soon as a connection is there, before any new alarm
// (startAlarm) and before a resume (onopen). None found is fine: no try arrived.
function cancelTry(req) {
  c.cancelPending.push({ client_ref: req.client_ref, phone: req.phone });
  keepCancels();
  deliverCancels();
}

// Kept in the tab's storage too: a reload (or the browser killing a background tab)
// before a connection comes back does not forget them.
const CANCELS_KEY = 'vigil.cancels';
function keepCancels() {
  store('sessionStorage', CANCELS_KEY, c.cancelPending.length ? JSON.stringify(c.cancelPending) : null);
}

function deliverCancels() {
  if (!c.cancelDelivery) c.cancelDelivery = deliverCancelsOnce().finally(() => { c.cancelDelivery = null; });
  return c.cancelDelivery;
}

async function deliverCancelsOnce() {
  while (c.cancelPending.length) {
    const r = await gw.request('alarm_cancel', c.cancelPending[0], 5000);
    if (r.code === 'disconnected' || r.code === 'timeout') return; // the next connection
    c.cancelPending.shift(); // ended, or none found; anything else would not change
    keepCancels();
  }
}

// How long the alarm waits for the camera and microphone once the first fix is in.
const MEDIA_WAIT_MS = 1500;

// The alarm goes out before the camera and microphone are allowed: they join the
// case when (if) the prompt is answered, unless the alarm has ended, was refused or
// was replaced by another meanwhile (then they are stopped at once).
function lateMedia(mediaP, gen, granted = false) {
  if (!granted) mediaNote(t('Allow the camera and microphone so the police can see and hear.'));
  mediaP.then(async (l) => {
    if (!l) return;
    if (c.gen !== gen || c.state === 'ended' || c.state === 'idle') { l.getTracks().forEach((tr) => tr.stop()); return; }
    c.local = l;
    if (!c.mediaNoteSticky) mediaNote('');
    const self = $('media').querySelector('video.self');
    if (self) self.srcObject = l;
    // Before the case exists raise() starts the media itself once it does.
    if (c.caseId) await startMedia().catch((e) => mediaNote(t('Media failed: {e}', { e: e.message })));
  });
}

function refused(r) {
  stopMedia();
  setCaseState('idle');
  const area = r.code === 'outside_service_area';
  const text = r.code === 'network' ? t('No connection to the police: call 110 now if you can.')
    : serverText(r.message, area ? N_('You are outside the area this service covers. Please call 110.')
      : N_('This service cannot take your alarm. In an emergency, call 110.'));
  $('outside-title').textContent = r.code === 'network' ? t('No connection yet')
    : (area ? t('You are outside our service area') : t('Your alarm could not be sent'));
  $('outside-text').textContent = /110/.test(text) ? text : text + t(' Please call 110.');
  smsOffer();
  show('outside');
  setState(t('Not sent: call 110.'));
}

// A text message to the centre's SMS alarm number ([service_area] sms_number, kept
// from the gateway's hello, so it is there when the connection is not), with where
// the caller is and their number written in: sent from the phone's own messaging,
// it needs no data connection and makes no sound. A silent caller, who cannot
// phone 110, gets it first.
function smsOffer() {
  const num = stored('localStorage', SMS_KEY);
  const a = $('outside-sms');
  a.hidden = !num;
  if (!num) return;
  const f = c.lastFix;
  const lines = [c.mode === 'silent' ? t('Silent alarm: I cannot speak. Please send help.') : t('I need the police.')];
  if (f) {
    lines.push(t('My position: {lat}, {lon} (within {acc} m)',
                 { lat: f.lat.toFixed(5), lon: f.lon.toFixed(5), acc: Math.round(f.accuracy) }));
  }
  if (phone()) lines.push(t('My number: {p}', { p: phone() }));
  // "?&body=": Android reads the query, iOS (and iPadOS, which says it is a Mac) the "&"
  a.href = `sms:${num}?&body=${encodeURIComponent(lines.join('\n'))}`;
  a.textContent = t('Send a text message to {n}', { n: num });
  const call = $('outside').querySelector('a.call110');
  if (c.mode === 'silent') call.before(a); else call.after(a);
}

// The alarm could not reach the gateway at all: say so, and how to get help.
function netFailed() {
  refused({ code: 'network' });
}

function waitOpen(ms, cancelled = () => false) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const tick = () => (gw.open || cancelled() || Date.now() - t0 > ms ? resolve() : setTimeout(tick, 50));
    tick();
  });
}

// One tap ends the alarm on the page at once, whatever the connection: someone may
// have to hide the phone. The gateway is told after; until it confirms, the hang-up
// is kept and delivered when a connection is back (deliverHangup): otherwise the
// call-taker would hold a case the citizen believes ended.
async function hangup() {
  if (!c.caseId) { endLocal(t('Ended.')); return; }
  const token = c.token;
  c.hangupPending = token;
  const report = c.mode === 'report' && c.state !== 'answered';
  endLocal(report ? t('Your report stays with the police: a call-taker will read it.') : t('You ended the alarm.'));
  const r = await gw.request('hangup', {}, 5000);
  if (r.code === 'disconnected' || r.code === 'timeout') return;
  if (c.hangupPending === token) c.hangupPending = null;
  if (r.state === 'abandoned' && c.token === token) {
    $('ended-text').textContent = t('You ended the alarm before a call-taker answered.');
  }
}

// Once at a time: the reconnect and a new alarm may both want it delivered.
function deliverHangup() {
  if (!c.hangupDelivery) c.hangupDelivery = deliverHangupOnce().finally(() => { c.hangupDelivery = null; });
  return c.hangupDelivery;
}

async function deliverHangupOnce() {
  const token = c.hangupPending;
  if (!token) return;
  const r = await gw.request('case_resume', { token });
  if (r.type === 'error' && (r.code === 'disconnected' || r.code === 'timeout')) return; // next time
  if (r.type === 'case_resumed' && r.state !== 'ended' && r.state !== 'abandoned') {
    const h = await gw.request('hangup', {}, 5000);
    if (h.code === 'disconnected' || h.code === 'timeout') return;
  }
  if (c.hangupPending === token) c.hangupPending = null;
}

function endLocal(text, quiet = null) {
  stopMedia();
  stopLocation();
  // Files still on their way go on (the gateway takes them for a while after the
  // end): a report's video must not be cut because the police closed the case.
  const sending = c.uploader && c.uploader.busy();
  if (c.uploader && !sending) c.uploader.stop();
  $('ended-uploads').hidden = !sending;
  store('sessionStorage', 'vigil.case', null);
  setCaseState('ended');
  if (sending) renderUploads(c.uploader.items);
  // A silent alarm's page stays dark and quiet to the end: no bright screen titled
  // "Emergency 110" on a phone someone is hiding.
  if (c.mode === 'silent') {
    // Someone may take the phone from a silent caller: nothing left on it says alarm,
    // police or 110, and the chat's words go too (no rating either). `quiet` is what
    // the caller must still learn, in words that give nothing away.
    $('chat').replaceChildren();
    $('quiet-text').textContent = quiet || t('Ended.');
    show('quiet-end');
    return;
  }
  document.title = t('Emergency 110');
  $('ended-text').textContent = text;
  $('rated').textContent = '';
  $('rate').hidden = !c.caseId;
  for (const b of document.querySelectorAll('.stars button')) b.setAttribute('aria-pressed', 'false');
  $('rate').querySelector('button[type=submit]').disabled = true;
  show('rating');
}

// After a drop: the same case, the chat missed while away, and a fresh ICE path.
async function resumeCase() {
  const r = await gw.request('case_resume', { token: c.token });
  if (r.type !== 'case_resumed') {
    // disconnected or timeout: the next connection tries again.
    if (r.type === 'error' && r.code !== 'disconnected' && r.code !== 'timeout') {
      endLocal(t('The alarm was closed while the connection was down.'));
    }
    return;
  }
  if (r.state === 'abandoned') {
    endLocal(t('Your alarm was closed while you were offline, before a call-taker answered. If you still need help, go back to the start and raise it again, or call 110.'),
             t('Ended before anyone answered. Go back and start again if you still need to.'));
    return;
  }
  if (r.state === 'ended') { endLocal(t('The alarm has ended.')); return; }
  c.resumes = (c.resumes || 0) + 1;
  showSentFiles(r.uploads);
  const todo = flushOutbox(r.chat);
  for (const m of r.chat || []) addChat(m);
  await todo;
  c.heldBy = r.held_by || c.heldBy;
  if (r.help) c.help = { status: r.help.status, eta_s: r.help.eta_s, got: performance.now() };
  setCaseState(r.state === 'answered' ? 'answered' : 'queued');
  // The last fix again: one sent into a connection that had died without closing
  // looked sent (fixUnsent false) and never arrived.
  if (c.lastFix) sendFix(c.lastFix);
  if (c.mediaReady) await c.mediaReady;
  c.mediaReady = null;
  draftSent = ''; // the draft again: one sent into a dead connection never arrived
  sendDraft();
  if (c.pc) await restartIce();
  else await startMedia().catch(() => {});
  if (c.uploader) c.uploader.kick();
}

// ---- uploads -----------------------------------------------------------------

function startUploads(files) {
  $('uploads').hidden = false;
  const gen = c.gen; // an alarm raised after this one does not show this one's files
  if (!c.uploader) c.uploader = new Uploader(c.caseId, c.token, (items) => { if (c.gen === gen) renderUploads(items); });
  for (const f of files) c.uploader.add(f);
  c.uploader.run();
}

// The case takes at most 9 photos and 3 videos (the server enforces it too).
function tooMany(files) {
  const have = c.uploader ? c.uploader.items.filter((i) => i.state !== 'failed').map((i) => i.file) : [];
  const all = [...have, ...files];
  const videos = all.filter((f) => String(f.type).startsWith('video/')).length;
  if (all.length - videos > 9) return t('At most 9 photos.');
  if (videos > 3) return t('At most 3 videos.');
  return '';
}

// Why a file was refused, for a page in another language than the gateway's words.
const UPLOAD_WHY = { too_large: N_('too large'), type: N_('not a photo or video the police can open'),
                     limit: N_('this alarm has all the files it can take'),
                     closed: N_('sending files for this alarm has closed') };

function renderUploads(mine) {
  const items = [...(c.sentFiles || []), ...mine]; // what was sent before a reload, then this page's
  const words = { waiting: N_('waiting'), retrying: N_('connection lost, will resume'), sent: N_('sent, checking'),
                  received: N_('received by the police'), failed: N_('not sent') };
  const rows = () => items.map((it) => {
    const pct = it.size ? Math.floor((100 * it.offset) / it.size) : 0;
    const what = it.state === 'sending' ? t('sending {pct}%', { pct }) : t(words[it.state]);
    const err = it.error && (serverText(it.error) || (Object.hasOwn(UPLOAD_WHY, it.code) ? t(UPLOAD_WHY[it.code]) : ''));
    return el('li', { 'data-state': it.state }, `${it.name}: ${what}${err ? ' (' + err + ')' : ''}`);
  });
  $('upload-list').replaceChildren(...rows());
  // After the end, on the last screen too, until every file is through.
  if (c.state === 'ended') {
    $('ended-upload-list').replaceChildren(...rows());
    if (c.uploader && !c.uploader.busy()) $('ended-uploads').hidden = true;
  }
}

// After a reload (no uploader on this page yet): the files the gateway has of the
// case, and those a reload cut, to choose again; and the way to add more.
function showSentFiles(list) {
  if (c.uploader || (c.mode !== 'report' && !(list || []).length)) return;
  $('uploads').hidden = false;
  c.sentFiles = (list || []).map((u) => ({
    name: u.name, size: u.size, offset: u.at ? u.size : 0, state: u.at ? 'received' : 'failed',
    error: u.at ? '' : t('cut off by the reload: choose it again below') }));
  renderUploads([]);
}

function reportFiles() {
  const files = [...$('report-photos').files, ...$('report-videos').files];
  return tooMany(files) || files;
}

// ---- protocol events ---------------------------------------------------------

// Events for this case while it is open: one that arrives late (after the page ended
// it, or after a hang-up not yet delivered) must not bring an ended page back.
const live = (m) => m.case_id === c.caseId && c.state !== 'ended';

gw.on('queue', (m) => {
  if (!live(m) || c.state === 'answered') return;
  c.position = m.position;
  c.waiting = m.waiting || 0;
  setCaseState('queued');
});
// The call-taker's console went and did not come back: the alarm is back in the
// queue, and the next free call-taker (or a supervisor) takes it.
gw.on('requeued', (m) => {
  if (!live(m)) return;
  c.heldBy = null;
  staffNote(c.mode === 'report' ? t('The call-taker was cut off: your report goes to another.')
    : t('The call-taker was cut off: putting you through to another.'));
  setCaseState('queued');
});
// A note on the call-taker's connection; it goes once someone has the case again.
function staffNote(text) {
  if (c.mode === 'silent') return;
  mediaNote(text);
  c.staffNote = !!text;
}
gw.on('answered', (m) => {
  if (!live(m)) return;
  c.heldBy = m.by;
  banner('');
  if (c.staffNote) staffNote('');
  setCaseState('answered');
});
// A silent alarm's page stays a quiet page of notes: no alert banner (a screen reader
// would speak it) asking someone who must not be heard to phone; the state line says
// it discreetly instead.
gw.on('escalated', (m) => {
  if (!live(m)) return;
  if (c.mode === 'silent') { c.escalated = true; renderState(); return; }
  banner(serverText(m.message, N_('No call-taker has answered yet. Please also call 110.')));
});
// The first location of an alarm that started without one lies outside the area
// served: the alarm goes on (the call-taker sees it), and the citizen learns that the
// ordinary line serves them; a silent alarm's page shows it as quiet text.
gw.on('outside_area', (m) => {
  if (!live(m)) return;
  const text = serverText(m.message, N_('You are outside the area this service covers. Please call 110.'));
  if (c.mode === 'silent') locNote(text);
  else banner(text);
});
function setHelp(m) {
  c.help = m && m.status ? { status: m.status, eta_s: m.eta_s, got: performance.now() } : c.help;
  renderHelp();
}
gw.on('help', (m) => {
  if (!live(m)) return;
  setHelp(m);
});
gw.on('ended', (m) => {
  if (m.case_id === c.caseId && c.state !== 'ended') endLocal(t('The police ended the alarm.'));
});
gw.on('chat', (m) => { if (m.case_id === c.caseId) addChat(m); });
gw.on('staff_connection', (m) => {
  staffNote(m.connected ? t('The call-taker is back.') : t('The call-taker lost the connection; stay on.'));
});
gw.on('media_answer', async (m) => {
  if (!c.pc || c.pc.signalingState !== 'have-local-offer') return;
  try { await c.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp }); } catch (e) { console.warn(e); }
});
gw.on('media_offer', (m) => {
  if (m.peer && (c.mode === 'video' || c.mode === 'voice')) extra.offer(m).catch((e) => console.warn('extra leg', e));
});
gw.on('ice', (m) => (m.peer ? extra.ice(m) : addCandidate(c.pc, m.candidate)));
gw.on('media_state', (m) => {
  if (m.peer) { if (m.state === 'closed') extra.close(m.peer); return; }
  if (m.state === 'failed' && c.mode !== 'silent') mediaNote(t('Sound and picture failed: {d}', { d: serverText(m.detail) }));
});
gw.on('upload_received', (m) => { if (c.uploader) c.uploader.received(m); });

gw.onopen = () => {
  gw.request('hello', {}, 5000).then((r) => {
    if (r.type === 'hello') store('localStorage', SMS_KEY, r.sms_alarm || null);
  });
  // Alarms gone back on first: a resume binds this connection to the open one, and a
  // connection with an alarm of its own takes no cancel.
  deliverCancels().then(() => {
    if (c.token && c.state !== 'ended') resumeCase();
    else if (c.hangupPending) deliverHangup();
    else if (c.state === 'reconnecting') renderState();
  });
};
gw.onclose = () => {
  if (c.caseId && ['queued', 'answered'].includes(c.state)) setCaseState('reconnecting');
};

// A network change (Wi-Fi to mobile): the old path may be dead without the
// WebSocket noticing yet; restart ICE at once, and reconnect if needed.
// The WebSocket is asked for a sign of life at once (gw.probe): if the old path is
// dead it is dropped within seconds, and the resume restarts ICE again.
window.addEventListener('online', () => { if (gw.open) { restartIce(); gw.probe(3000); } else gw.drop(); });
if (navigator.connection) navigator.connection.addEventListener('change', () => { restartIce(); gw.probe(3000); });

// Waiting time ticks between queue updates.
setInterval(() => {
  if (c.state === 'queued') { c.waiting += 1; renderState(); } else if (c.help) renderHelp();
}, 1000);

// ---- wiring ------------------------------------------------------------------

// Opened from a video link a call-taker sent (?link=…&mode=…&phone=…, docs/protocol.md):
// their number written in, the way they were asked to come shown, and the link sent
// with the alarm, which then rings at that call-taker first. A link already used or
// expired changes nothing at the gateway: the alarm is taken as any other.
const LINK = (() => {
  const q = new URLSearchParams(location.search);
  const token = q.get('link') || '';
  return /^[A-Za-z0-9_-]{22,64}$/.test(token)
    ? { token, mode: ['video', 'silent', 'voice'].includes(q.get('mode')) ? q.get('mode') : 'video',
        phone: (q.get('phone') || '').slice(0, 32) }
    : {};
})();

$('phone').value = LINK.phone || stored('localStorage', PHONE_KEY) || '';
if (location.search) history.replaceState(null, '', location.pathname); // the number out of the address bar and history
if (LINK.token) {
  $('link-note').hidden = false;
  document.querySelector(`.choice[data-mode="${LINK.mode}"]`).classList.add('linked');
}
for (const b of document.querySelectorAll('.choice')) b.addEventListener('click', () => choose(b.dataset.mode));
$('hangup').addEventListener('click', hangup);
// One tap answers the call-taker's question: for someone who must not be heard
// typing, or cannot type for long (the text goes as any chat message).
for (const b of document.querySelectorAll('#quick button')) b.addEventListener('click', () => sendChat(b.dataset.text));
// What the caller types reaches the call-taker as it is typed (chat_draft, at most
// every DRAFT_MS): someone cut off mid-sentence, the phone taken from them, has still
// said something. The page says so under the box.
const DRAFT_MS = 300;
let draftTimer = null;
let draftSent = '';
function sendDraft() {
  draftTimer = null;
  const text = typedText($('chat-text').value);
  if (!c.caseId || c.state === 'ended' || text === draftSent || textBytes(text) > TEXT_MAX) return;
  if (gw.send({ type: 'chat_draft', case_id: c.caseId, text })) draftSent = text;
}
$('chat-text').addEventListener('input', () => { if (!draftTimer) draftTimer = setTimeout(sendDraft, DRAFT_MS); });
$('chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const text = typedText($('chat-text').value).trim();
  if (!text) return;
  if (textBytes(text) > TEXT_MAX) { // kept in the box, to shorten or send in parts
    $('chat-error').textContent = t('Too long for one message: please shorten it or send it in parts.');
    $('chat-error').hidden = false;
    return;
  }
  $('chat-error').hidden = true;
  $('chat-text').value = '';
  draftSent = ''; // the console clears its draft when the message comes
  sendChat(text);
});
$('chat-text').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); $('chat-form').requestSubmit(); }
});
$('report').addEventListener('submit', (e) => {
  e.preventDefault();
  const files = reportFiles();
  if (typeof files === 'string') { $('report-error').textContent = files; $('report-error').hidden = false; return; }
  $('report-error').hidden = true;
  const place = $('report-place').value.trim();
  const text = typedText($('report-text').value.trim() + (place ? '\n' + t('Place: {p}', { p: place }) : ''));
  if (textBytes(text) > TEXT_MAX) {
    $('report-error').textContent = t('The text is too long: please shorten it.');
    $('report-error').hidden = false;
    return;
  }
  raise('report', { text, files, callback: $('report-callback').checked });
});
$('more-files').addEventListener('change', () => {
  const files = [...$('more-files').files];
  $('more-files').value = '';
  const err = tooMany(files);
  if (err) { mediaNote(err); return; }
  if (files.length) startUploads(files);
});
$('report-cancel').addEventListener('click', () => show('home'));
for (const b of document.querySelectorAll('.back')) {
  b.addEventListener('click', () => {
    // An alarm still trying to go out (keepTrying) stops, at once: a try in flight on
    // a connection that answers nothing would hold the next alarm for its 15 s.
    c.gen = (c.gen || 0) + 1;
    if (c.trying) gw.drop();
    document.body.classList.remove('mode-silent');
    document.title = t('Emergency 110');
    setCaseState('idle');
    show('home');
  });
}
for (const b of document.querySelectorAll('.stars button')) {
  b.addEventListener('click', () => {
    c.stars = Number(b.dataset.stars);
    for (const o of document.querySelectorAll('.stars button')) o.setAttribute('aria-pressed', String(o === b));
    $('rate').querySelector('button[type=submit]').disabled = false;
  });
}
$('rate').addEventListener('submit', async (e) => {
  e.preventDefault();
  const comment = $('rate-comment').value.trim();
  const r = await gw.request('rate', Object.assign({ case_id: c.caseId, stars: c.stars }, comment ? { comment } : {}));
  $('rated').textContent = r.type === 'rated' ? t('Thank you: you gave {n} of 5.', { n: c.stars })
    : t('Rating not sent: {why}', { why: why(r) });
  if (r.type === 'rated') $('rate').hidden = true;
});

// A reload during an open case comes back to it (the token is in sessionStorage).
applyStatic(); // before a restored case sets the title: <title>'s key is its English
try {
  const kept = JSON.parse(stored('sessionStorage', CANCELS_KEY) || '[]');
  if (Array.isArray(kept)) c.cancelPending = kept.filter((x) => x && typeof x.client_ref === 'string');
} catch (e) { /* none kept */ }
let saved = null;
try { saved = JSON.parse(stored('sessionStorage', 'vigil.case') || 'null'); } catch (e) { saved = null; }
if (saved && saved.token) {
  resetCase(saved.mode);
  Object.assign(c, { caseId: saved.case_id, token: saved.token });
  show('call');
  setCaseState('reconnecting');
  c.mediaReady = getMedia(saved.mode).then((local) => {
    c.local = local;
    buildMediaView();
    watchLocation();
  });
}
$('lang-switch').addEventListener('click', () => { switchLang(); renderState(); });
gw.connect();
renderState();
// For tests and for support: read-only facts about the page, and a way to cut
// the connection as a network change would.
window.vigilCitizen = { state: () => c.state, caseId: () => c.caseId, drop: () => gw.drop(),
                        resumes: () => c.resumes || 0, iceRestarts: () => c.iceRestarts || 0,
                        reacquired: () => c.reacquired || 0, cancelsPending: () => c.cancelPending.length,
                        ice: () => (c.pc ? c.pc.iceConnectionState : 'none'), chat: (text) => sendChat(text) };
