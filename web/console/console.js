// The call-taker console and, for the supervisor role, the board. Sign in; the
// queue rings while alarms wait; answer one with a click or Enter/Space on the top
// item; then the citizen's picture and sound, chat, the caller card, the map, the
// uploaded files; end with an outcome or block the caller. A dropped connection
// resumes the session (resume) and the gateway offers the media leg again.
import { ExtraLegs, Gateway, addCandidate, appendFollowing, el, fmtDuration, fmtTime, setText } from '/common/vigil.js';
import { TrackMap } from '/console/map.js';

const $ = (id) => document.getElementById(id);
const gw = new Gateway();
const SESSION_KEY = 'vigil.staff';

const s = {
  name: null,
  role: null,
  token: null,
  tileUrl: '',
  status: 'available',
  queue: new Map(),    // case_id -> {card, at}
  invites: new Map(),  // invite_id -> invited event
  board: [],           // supervisor: cards, boardAt
  boardAt: 0,
  alerts: [],
  active: null,        // {card, at, chatSeen, files, ended}
  pc: null,
  local: null,
  map: null,
  ring: true,
  audio: null,
};

const MODE = { video: 'Video', silent: 'SILENT', voice: 'Voice', report: 'Report' };
const STATE = { queued: 'waiting', offered: 'ringing', answered: 'being handled', ended: 'ended',
                abandoned: 'abandoned' };
const FLAG = { no_location: 'no location', repeat_caller: 'repeat caller', key_person: 'key person',
               key_place: 'key place', blocked: 'blocked caller', outside_area: 'outside the area',
               area_uncertain: 'maybe outside the area' };

function banner(text) { $('banner').textContent = text || ''; $('banner').hidden = !text; }

function waited(card, at) { return (card.waiting_s || 0) + (Date.now() - at) / 1000; }

function flagsText(card) {
  const f = (card.flags || []).map((x) => FLAG[x] || x);
  if (card.escalated) f.unshift('ESCALATED');
  return f.join(', ');
}

// ---- sign in -----------------------------------------------------------------

async function login(name, password) {
  const r = await gw.request('login', { name, password });
  if (r.type !== 'login') {
    $('login-error').textContent = r.code === 'login_failed' ? 'Wrong name or password.' : (r.message || r.code);
    $('login-error').hidden = false;
    return;
  }
  signedIn(r);
}

function signedIn(r) {
  Object.assign(s, { name: r.name, role: r.role, token: r.token, tileUrl: (r.map && r.map.tile_url) || '' });
  sessionStorage.setItem(SESSION_KEY, r.token);
  // Focus left on the hidden form would swallow the answer key (focus elsewhere, after a
  // reconnect, stays where the call-taker put it).
  if (document.activeElement && document.activeElement.closest('#login')) document.activeElement.blur();
  $('login').hidden = true;
  $('desk').hidden = false;
  $('top-actions').hidden = false;
  $('board-box').hidden = s.role !== 'supervisor';
  $('blocks-box').hidden = s.role !== 'supervisor';
  // What rang before a drop may have ended meanwhile: the gateway rings again those
  // still ringing for this account.
  s.invites.clear();
  renderInvites();
  renderCallbacks();
  renderQuick(r.quick_messages || []);
  document.body.classList.toggle('supervisor', s.role === 'supervisor');
  if (!s.map) s.map = new TrackMap($('map'), s.tileUrl);
  s.map.tileUrl = s.tileUrl;
  if (s.role === 'supervisor') {
    gw.request('board').then((b) => { if (b.cases) setBoard(b.cases); });
    loadBlocks();
  }
  renderWho();
  renderQueue();
}

function renderWho() {
  const role = { call_taker: 'call-taker', specialist: 'specialist', supervisor: 'supervisor' }[s.role] || s.role;
  const net = gw.open ? '' : ' · connection lost, reconnecting';
  // The board, queue and alerts are not live while the connection is down: greyed.
  document.body.classList.toggle('offline', !gw.open && !!s.name);
  const st = s.active && !s.active.ended ? 'busy with a case' : s.status;
  $('who').textContent = s.name ? `${s.name} (${role}), ${st}${net}` : `Not signed in${net}`;
  $('status-btn').textContent = s.status === 'available' ? 'Set away' : 'Set available';
}

async function setStatus(st) {
  const r = await gw.request('set_status', { status: st });
  if (r.type === 'status') s.status = r.status;
  renderWho();
  renderQueue();
}

// ---- queue and ring ------------------------------------------------------------

function sortedQueue() {
  return [...s.queue.values()].sort((a, b) => (a.card.priority - b.card.priority) ||
                                             (a.card.created_at - b.card.created_at));
}

function queueItem(card, at, sig) {
  const loc = card.location ? `±${Math.round(card.location.accuracy)} m` : 'no location';
  const flags = flagsText(card);
  // No aria-label: the visible text is the name, so the waiting time stays current and
  // the flags (escalated, key person, blocked) are read out too.
  const b = el('button', { type: 'button', class: 'answer', 'data-case': card.case_id },
               el('span', { class: 'q-mode mode-' + card.mode }, MODE[card.mode] || card.mode),
               el('span', { class: 'q-phone' }, card.phone),
               el('span', { class: 'q-wait' }, 'waiting ' + fmtDuration(waited(card, at))),
               el('span', { class: 'q-loc' }, loc),
               flags ? el('span', { class: 'q-flags' }, flags) : null,
               // A silent alarm or a report waits even when its caller's connection is
               // gone (the phone locked, no network): the call-taker still answers it.
               card.citizen_connected === false ? el('span', { class: 'q-off' }, 'caller offline') : null,
               el('span', { class: 'q-go' }, 'Answer'));
  b.addEventListener('click', () => claim(card.case_id));
  return el('li', { class: card.escalated ? 'escalated' : '', 'data-sig': sig }, b);
}

function renderQueue() {
  const items = sortedQueue();
  $('queue-count').textContent = `(${items.length})`;
  // Rebuilt only when the queue changes, so a click in progress is never lost.
  const key = items.map(({ card }) => card.case_id + (card.escalated ? '!' : '') + (card.citizen_connected === false ? '~' : '') +
    (card.flags || []).join()).join(' ');
  if (key === s.queueKey) {
    for (const li of $('queue').querySelectorAll('button.answer')) {
      const q = s.queue.get(li.dataset.case);
      if (q) li.querySelector('.q-wait').textContent = 'waiting ' + fmtDuration(waited(q.card, q.at));
    }
  } else {
    // Only what changed is replaced, and an item moves only when the order changed: a
    // button under the call-taker's pointer stays the same element while other alarms
    // come and go (a click whose button is replaced between press and release is lost).
    s.queueKey = key;
    const box = $('queue');
    const sigs = items.map(({ card }) => JSON.stringify([card.case_id, card.mode, card.phone, card.escalated,
      card.flags, card.location && Math.round(card.location.accuracy), card.citizen_connected]));
    const wanted = new Set(sigs);
    for (const li of [...box.children]) if (!wanted.has(li.dataset.sig)) li.remove();
    const keep = new Map([...box.children].map((li) => [li.dataset.sig, li]));
    let next = box.firstElementChild;
    items.forEach(({ card, at }, i) => {
      const li = keep.get(sigs[i]) || queueItem(card, at, sigs[i]);
      if (li === next) next = next.nextElementSibling; else box.insertBefore(li, next);
      setText(li.querySelector('.q-go'), i === 0 ? 'Answer (Enter)' : 'Answer'); // the top one answers to Enter
    });
  }
  // Monitoring is not handling: a supervisor watching a call is still rung (they take
  // the escalated and the blocked callers' alarms).
  // Away is not rung either: what was offered before stays listed, to answer by choice.
  const away = s.status === 'away';
  // An invitation to help rings as an alarm does (a specialist has no queue of their own).
  const asked = s.invites.size;
  const ringing = (items.length > 0 || asked > 0) && !away && !(s.active && !s.active.ended && s.active.role !== 'monitor');
  // A browser lets a page make sound only after a click or key press on it; a console
  // signed back in by a reload has had none, and would ring without a sound.
  const muted = s.audio && s.audio.state === 'suspended' ? ' Sound blocked by the browser: click anywhere on the page to hear the ring.' : '';
  setText($('ring-state'), items.length === 0 ? (asked && ringing ? `Ringing: asked to help.${muted}` : 'No alarm waiting.')
    : ringing ? `Ringing: ${items.length} alarm${items.length > 1 ? 's' : ''} waiting.${muted}`
      : away ? `${items.length} waiting (not ringing while you are away).`
        : `${items.length} waiting (not ringing while you handle a case).`);
  // The tab says so too: a console behind another tab, or with its sound off, still
  // shows an alarm waiting in the tab strip.
  s.waitingCount = items.length;
  updateTitle();
  ringing ? startRing() : stopRing();
}

// The tab strip shows alarms waiting and, for a supervisor, alerts not yet marked seen.
function updateTitle() {
  const n = s.waitingCount || 0;
  const open = s.role === 'supervisor' ? s.alerts.filter((x) => x.alert_id).length : 0;
  const asked = s.invites.size;
  const parts = [n ? `(${n}) Alarm waiting` : '', asked ? 'Asked to help' : '',
                 open ? `${open} alert${open > 1 ? 's' : ''}` : ''];
  document.title = [...parts.filter(Boolean), 'Vigil console'].join(' · ');
}

// A new alert sounds once (one lower tone), so a supervisor looking elsewhere hears it.
function alertChime() {
  if (!s.ring) return;
  try {
    const t = ringAudio().currentTime;
    const o = s.audio.createOscillator();
    const g = s.audio.createGain();
    o.frequency.value = 523;
    g.gain.setValueAtTime(0.25, t);
    g.gain.exponentialRampToValueAtTime(0.001, t + 0.6);
    o.connect(g).connect(s.audio.destination);
    o.start(t);
    o.stop(t + 0.6);
  } catch (e) { /* no audio output: the list and the title still show it */ }
}

// The console rings (a citizen's page never does): two short tones every 2 s.
function startRing() {
  if (s.ringTimer || !s.ring) return;
  const beep = () => {
    s.beeps = (s.beeps || 0) + 1;
    try {
      const t = ringAudio().currentTime;
      for (const off of [0, 0.3]) {
        const o = s.audio.createOscillator();
        const g = s.audio.createGain();
        o.frequency.value = 880;
        g.gain.setValueAtTime(0.2, t + off);
        g.gain.exponentialRampToValueAtTime(0.001, t + off + 0.25);
        o.connect(g).connect(s.audio.destination);
        o.start(t + off);
        o.stop(t + off + 0.25);
      }
    } catch (e) { /* no audio output: the text still says it rings */ }
  };
  beep();
  s.ringTimer = setInterval(beep, 2000);
}

function stopRing() {
  clearInterval(s.ringTimer);
  s.ringTimer = null;
}

// The ring's AudioContext, made once, from a gesture when there is one (the login).
function ringAudio() {
  if (!s.audio) {
    s.audio = new AudioContext();
    s.audio.onstatechange = () => renderQueue(); // the note on blocked sound comes and goes
  }
  return s.audio;
}

// One claim at a time: a double click or a held Enter would send a second, whose
// 'busy' reply would put "Could not answer" over the case the first one opened.
async function claim(caseId) {
  if (s.claiming || (s.active && !s.active.ended && s.active.card.case_id === caseId)) return;
  s.claiming = true;
  const r = await gw.request('claim', { case_id: caseId });
  s.claiming = false;
  if (r.type === 'claimed') {
    if (s.active && s.active.role === 'monitor') closeCase(); // the gateway took them off it
    openCase(r);
    return;
  }
  if (r.code === 'already_taken') s.queue.delete(caseId);
  banner(`Could not answer: ${r.message || r.code}`);
  renderQueue();
}

document.addEventListener('keydown', (e) => {
  if ((e.key !== 'Enter' && e.key !== ' ') || e.repeat) return;
  const t = e.target;
  if (t && t.closest && t.closest('input, textarea, select, button, a, form, #board')) return;
  if ($('desk').hidden || (s.active && !s.active.ended && s.active.role !== 'monitor')) return;
  const top = sortedQueue()[0];
  if (!top) return;
  e.preventDefault();
  claim(top.card.case_id);
});

// ---- call-backs -----------------------------------------------------------------

// Callers who left while waiting and allowed a call back (docs/protocol.md,
// "Call-backs"): the list comes on sign-in and after every change, from any console.
const OUTCOMES = [['reached', 'Reached'], ['no_answer', 'No answer'], ['wrong_number', 'Wrong number'],
                  ['not_needed', 'Not needed']];

// A time of the day, with the date when it is not today (the list keeps [queue] callback_window_h, 72 by default).
function when(ms) {
  const d = new Date(ms);
  return d.toDateString() === new Date().toDateString() ? fmtTime(ms)
    : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

function callbackItem(c) {
  const left = c.ended_at && c.created_at ? ` after ${fmtDuration((c.ended_at - c.created_at) / 1000)}` : '';
  const loc = c.location ? ` · ${c.location.lat.toFixed(5)}, ${c.location.lon.toFixed(5)} (±${Math.round(c.location.accuracy)} m)` : '';
  const name = c.caller && c.caller.name ? ` (${c.caller.name})` : '';
  const flags = flagsText(c);
  // Someone who could not speak, or must not be heard: a ringing phone may give them away.
  const warn = c.mode === 'silent' ? el('strong', { class: 'cb-warn' }, ' Silent alarm: a ringing phone may put them in danger.') : null;
  const pick = el('select', { 'aria-label': `Outcome of the call back to ${c.phone}` },
                  ...OUTCOMES.map(([v, t]) => el('option', { value: v }, t)));
  const done = el('button', { type: 'button', class: 'cb-done' }, 'Done');
  done.addEventListener('click', async () => {
    done.disabled = true;
    const r = await gw.request('callback_done', { case_id: c.case_id, outcome: pick.value });
    done.disabled = false;
    if (r.type !== 'callback_done' && r.code !== 'not_found') banner(`Call back not recorded: ${r.message || r.code}`);
  });
  return el('li', { 'data-case': c.case_id },
            el('a', { href: 'tel:' + c.phone }, c.phone), name,
            ` · ${MODE[c.mode] || c.mode} · left${left} at ${when(c.ended_at || c.created_at)}${loc}` +
            `${flags ? ' · ' + flags : ''} `, warn, ' ', pick, ' ', done);
}

function renderCallbacks() {
  const box = $('callbacks-box');
  box.hidden = !['call_taker', 'supervisor'].includes(s.role);
  const list = s.callbacks || [];
  $('callbacks-count').textContent = `(${list.length})`;
  // Only what changed goes or comes: an outcome being chosen in one item survives
  // another caller being added.
  const ids = new Set(list.map((c) => c.case_id));
  const ol = $('callbacks');
  for (const li of [...ol.children]) if (!ids.has(li.dataset.case)) li.remove();
  const have = new Set([...ol.children].map((li) => li.dataset.case));
  list.forEach((c, i) => {
    if (have.has(c.case_id)) return;
    ol.insertBefore(callbackItem(c), ol.children[i] || null);
  });
}
gw.on('callbacks', (m) => { s.callbacks = m.cases || []; renderCallbacks(); });

// ---- the open case -----------------------------------------------------------

// A case whose citizen hung up waits on the screen for its outcome; answering the
// next alarm first must not lose it: it moves to "Outcome still to give".
function keepOwed() {
  const a = s.active;
  if (!a || !a.ended || a.endedBy !== 'citizen' || a.role !== 'holder' || a.outcomeGiven) return;
  (s.owed ||= []).push({ case_id: a.card.case_id, phone: a.card.phone, mode: a.card.mode });
  renderOwed();
}

function renderOwed() {
  const list = s.owed || [];
  $('owed-box').hidden = list.length === 0;
  $('owed').replaceChildren(...list.map((o) => {
    const pick = el('select', { 'aria-label': `Outcome of case ${o.case_id}` },
                    ...[...$('disposition').options].map((x) => el('option', { value: x.value }, x.textContent)));
    const save = el('button', { type: 'button' }, 'Save');
    save.addEventListener('click', async () => {
      save.disabled = true;
      const r = await gw.request('end', { case_id: o.case_id, disposition: pick.value });
      save.disabled = false;
      if (r.type !== 'ended' && r.code !== 'not_found') { banner(`Outcome not recorded: ${r.message || r.code}`); return; }
      s.owed = (s.owed || []).filter((x) => x !== o);
      renderOwed();
    });
    return el('li', { 'data-case': o.case_id }, `${MODE[o.mode] || o.mode} ${o.phone} · ${o.case_id} `, pick, ' ', save);
  }));
}

function openCase(r) {
  keepOwed();
  const card = r.case;
  s.queue.delete(card.case_id);
  s.active = { card, at: Date.now(), chatSeen: new Set(), files: new Map(), ended: false,
               role: r.role && r.role !== 'holder' ? r.role : 'holder', handBackTo: r.handBackTo || null };
  roleControls();
  banner('');
  $('idle').hidden = true;
  $('case').hidden = false;
  $('case-title').textContent = `${MODE[card.mode] || card.mode} alarm ${card.case_id}`;
  $('chat').replaceChildren();
  $('files').replaceChildren();
  $('block-result').textContent = '';
  $('invite-result').textContent = '';
  $('invite-cancel').hidden = true;
  // Only a video alarm has a picture; the others say what the call-taker gets.
  $('media-box').className = 'mode-' + card.mode;
  $('media-note').textContent = { silent: 'Silent alarm: you hear the citizen; nothing plays on their phone. Write in the chat.',
                                  voice: 'Voice call: sound both ways.', report: 'Report: no call. Read the chat and the files.',
                                  video: '' }[card.mode] || '';
  $('media-state').textContent = card.mode === 'report' ? '' : 'Waiting for the citizen\'s media…';
  if (r.chat_omitted > 0 && !$('chat').querySelector('li.omitted')) {
    $('chat').prepend(el('li', { class: 'omitted meta' },
      `${r.chat_omitted} earlier message${r.chat_omitted > 1 ? 's are' : ' is'} not shown here (kept in the case record).`));
  }
  for (const m of r.chat || []) addChat(m);
  for (const u of r.uploads || []) addFile(u);
  const track = (r.track || []).slice();
  track.forEach(stamp);
  if (card.location) stamp(card.location);
  if (!track.length && card.location) track.push(card.location);
  s.map.set(track);
  renderCard();
  renderMapText();
  renderQueue();
  renderWho();
  $('chat-text').focus();
}

// The case open here, sent again after a reconnect: brought up to date in place, so
// what the call-taker was doing is left as it was (the field being typed in and its
// focus, a hand-back offered, the last results shown).
function refreshCase(r) {
  const a = s.active;
  a.card = r.case;
  a.backAt = Date.now(); // given back to this console (after a resume: checkStillOn)
  if (r.chat_omitted > 0 && !$('chat').querySelector('li.omitted')) {
    $('chat').prepend(el('li', { class: 'omitted meta' },
      `${r.chat_omitted} earlier message${r.chat_omitted > 1 ? 's are' : ' is'} not shown here (kept in the case record).`));
  }
  for (const m of r.chat || []) addChat(m);
  for (const u of r.uploads || []) addFile(u);
  const track = (r.track || []).slice();
  track.forEach(stamp);
  if (track.length) s.map.set(track);
  $('media-state').textContent = a.card.mode === 'report' ? '' : 'Waiting for the citizen\'s media…';
  renderCard();
  renderMapText();
  renderWho();
}

// Only the holder ends, invites and blocks; the others on a case leave it.
function roleControls() {
  const role = s.active.role;
  const party = role !== 'holder';
  $('end-form').querySelector('label').hidden = party;
  $('invite-form').hidden = party;
  // A specialist who took a case over holds it, but blocking is for call-takers and
  // supervisors: the form would only be refused.
  $('block-form').hidden = party || s.role === 'specialist';
  $('end-btn').textContent = { specialist: 'Leave the case', monitor: 'Stop monitoring', barged: 'Leave the case' }[role] || 'End case';
  $('barge-btn').hidden = role !== 'monitor';
  $('handback-btn').hidden = !(role === 'holder' && s.active.handBackTo);
  if (s.active.handBackTo) $('handback-btn').textContent = `Hand back to ${s.active.handBackTo}`;
  $('role-note').textContent = { monitor: 'Monitoring: you see and hear everyone; nobody hears you.',
                                 barged: 'You have barged in: everyone sees and hears you.',
                                 specialist: 'You were asked to help on this case.' }[role] || '';
}

function renderCard() {
  const a = s.active;
  if (!a) return;
  const c = a.card;
  const h = c.history || {};
  const rows = [
    ['Phone', `${c.phone}${c.phone_verified ? ' (verified)' : ' (not verified)'}`],
    ['Mode', MODE[c.mode] || c.mode],
    ['State', a.ended ? 'ended' : (STATE[c.state] || c.state)],
    ['Citizen', c.citizen_connected === false ? 'connection lost' : 'connected'],
    ['Earlier cases', `${h.earlier_cases || 0} (ended ${h.ended || 0}, abandoned ${h.abandoned || 0})`],
    ['Flags', flagsText(c) || 'none'],
    ['Callback', c.callback_allowed ? 'allowed' : 'not allowed'],
  ];
  const parties = (c.parties || []).map((p) => `${p.account} (${p.role}${p.connected === false ? ', away' : ''})`);
  if (c.held_by || parties.length) rows.push(['On the case', [c.held_by ? `${c.held_by} (holder)` : '', ...parties].filter(Boolean).join(', ')]);
  if (c.caller) {
    for (const [k, v] of Object.entries(c.caller)) {
      rows.push([k ? k[0].toUpperCase() + k.slice(1) : '(unnamed)', k === 'language' ? languageName(v) : String(v)]);
    }
  }
  // renderCard runs every second for the clock below: the rows are rebuilt only when
  // they change, so a call-taker's selection (a phone number to copy) stays put.
  const key = JSON.stringify([c.case_id, rows]);
  if (key !== a.cardKey) {
    a.cardKey = key;
    $('card').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  }
  renderHandover(c);
  // The live region is written only when its words change; the clock ticks beside it
  // (a screen reader would otherwise read the state out every second over the chat).
  setText($('case-state'), a.ended ? a.endedText : `Handling: ${STATE[c.state] || c.state}.`);
  setText($('case-clock'), a.ended ? '' : `Open ${fmtDuration((Date.now() - c.created_at) / 1000)}.`);
}

// The language of the caller's page (a BCP 47 tag, "zh-CN"), in words and as sent:
// a visitor's page is in English, and the call-taker writes back in it.
function languageName(tag) {
  try {
    const name = new Intl.DisplayNames(['en'], { type: 'language' }).of(String(tag));
    return name && name !== tag ? `${name} (${tag})` : String(tag);
  } catch (e) {
    return String(tag); // not a language tag: shown as sent
  }
}

// The coordinates and the rest in two spans, each written only when its text changes:
// this runs every second for the fix's age, and rewriting the coordinates would undo a
// call-taker's selection of them (to copy them on to dispatch).
function renderMapText() {
  const f = s.map.fixes[s.map.fixes.length - 1];
  const put = (id, text) => setText($(id), text);
  if (!f) { put('map-pos', 'No location from the caller.'); put('map-more', ''); return; }
  const age = f.localAt ? fmtDuration((Date.now() - f.localAt) / 1000) + ' ago' : '';
  const extra = [Number.isFinite(f.speed) ? `${f.speed.toFixed(1)} m/s` : '',
                 Number.isFinite(f.heading) ? `heading ${Math.round(f.heading)}°` : ''].filter(Boolean).join(', ');
  put('map-pos', `${f.lat.toFixed(6)}, ${f.lon.toFixed(6)} ±${Math.round(f.accuracy)} m`);
  put('map-more', `${age ? ', ' + age : ''}${extra ? ', ' + extra : ''}; track of ${s.map.fixes.length} fix${s.map.fixes.length === 1 ? '' : 'es'}.`);
}

// When a fix was taken, on this console's clock: the server's age_s when it was sent
// (its `at` is the server's clock, and a console clock behind it showed an old fix as
// "0 s ago").
function stamp(f) {
  if (f && f.localAt === undefined) {
    f.localAt = Number.isFinite(f.age_s) ? Date.now() - f.age_s * 1000 : f.at;
  }
  return f;
}

function addChat(m) {
  const a = s.active;
  if (!a || m.case_id && m.case_id !== a.card.case_id) return;
  if (m.seq !== undefined) {
    if (a.chatSeen.has(m.seq)) { // seen: its receipt may have come while we were away
      if (m.read) showReceipt(m.seq, 'read');
      else if (m.delivered) showReceipt(m.seq, 'delivered');
      return;
    }
    a.chatSeen.add(m.seq);
  }
  const mine = m.from !== 'citizen';
  const who = m.from === 'citizen' ? 'Citizen' : (m.sender || 'You');
  const li = el('li', { class: mine ? 'mine' : 'theirs', 'data-seq': m.seq ?? '' },
                el('span', { class: 'meta' }, `${who} · ${fmtTime(m.at || Date.now())}`),
                el('span', { class: 'text' }, m.text),
                mine ? el('span', { class: 'receipt' }, m.read ? ' · read' : m.delivered ? ' · delivered' : '') : null);
  appendFollowing($('chat'), li);
  if (!mine && m.seq !== undefined) staffReceipt(a, m.seq);
}

// "read" only when this console is in view (as the citizen's page does): a citizen
// told "read" while the console was behind another tab waits for an answer to a
// message nobody saw.
function staffReceipt(a, seq) {
  const seen = document.visibilityState === 'visible';
  gw.send({ type: 'chat_receipt', id: 'cr' + seq, case_id: a.card.case_id, seq, status: seen ? 'read' : 'delivered' });
  if (!seen) (a.unread ||= new Set()).add(seq);
}
document.addEventListener('visibilitychange', () => {
  const a = s.active;
  if (document.visibilityState !== 'visible' || !a || !a.unread) return;
  for (const seq of a.unread) {
    if (gw.send({ type: 'chat_receipt', id: 'cr' + seq, case_id: a.card.case_id, seq, status: 'read' })) a.unread.delete(seq);
  }
});

// The centre's one-click messages ([console] quick_messages): a question a silent
// caller answers with one tap of their page's Yes / No is sent without typing.
function renderQuick(list) {
  $('quick').replaceChildren(...list.map((t) => {
    const b = el('button', { type: 'button', class: 'quick' }, t);
    b.addEventListener('click', () => sendChat(t));
    return b;
  }));
}

// A message that did not go stays in the transcript, marked, with a button to send it
// again: nothing typed is lost to a dropped connection, however many fail, and what
// was typed meanwhile stays in the box. A timeout may have arrived all the same, so it
// is not sent again by itself (the silent caller would read it twice).
async function sendChat(text, unsent = null) {
  const a = s.active;
  if (!a) return;
  const r = await gw.request('chat', { case_id: a.card.case_id, text });
  if (r.type === 'chat_sent') {
    if (unsent) unsent.remove();
    addChat({ from: 'call_taker', sender: 'You', seq: r.seq, at: Date.now(), text });
    return;
  }
  if (s.active !== a) { banner(`Message not sent: ${r.message || r.code}`); return; }
  const why = r.code === 'timeout' ? 'maybe not sent (no answer)' : `not sent: ${r.message || r.code}`;
  const again = el('button', { type: 'button', class: 'send-again' }, 'Send again');
  const li = el('li', { class: 'mine unsent' }, el('span', { class: 'meta' }, `You · ${why}`),
                el('span', { class: 'text' }, text), ' ', again);
  again.addEventListener('click', () => { again.disabled = true; sendChat(text, li); });
  if (unsent) unsent.replaceWith(li); else appendFollowing($('chat'), li);
}

// Staff fetch a file with their session token; the page shows it from a blob URL.
async function addFile(u) {
  const a = s.active;
  if (!a || a.files.has(u.upload_id)) return;
  const li = el('li', { 'data-upload': u.upload_id },
                el('span', { class: 'file-meta' }, `${u.name} · ${u.type} · ${Math.round(u.size / 1024)} KB · sha256 ${String(u.sha256 || '').slice(0, 12)}…`));
  a.files.set(u.upload_id, li);
  $('files').append(li);
  $('files-count').textContent = `(${a.files.size})`;
  try {
    const r = await fetch(`/api/cases/${encodeURIComponent(a.card.case_id)}/uploads/${encodeURIComponent(u.upload_id)}`,
                          { headers: { Authorization: 'Bearer ' + s.token } });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const url = URL.createObjectURL(await r.blob());
    const media = String(u.type).startsWith('video/')
      ? el('video', { src: url, controls: true, muted: true, playsinline: true, 'aria-label': u.name })
      : el('img', { src: url, alt: `Photo from the citizen: ${u.name}` });
    li.prepend(el('a', { href: url, target: '_blank', rel: 'noopener' }, media));
  } catch (e) {
    li.append(el('span', { class: 'error' }, ` (could not load: ${e.message})`));
  }
}

function caseEnded(text) {
  const a = s.active;
  if (!a) return;
  a.ended = true;
  a.endedText = text;
  closeMedia();
  $('end-btn').textContent = 'Close';
  renderCard();
  renderWho();
  renderQueue();
}

function closeCase() {
  closeMedia();
  s.active = null;
  $('case').hidden = true;
  $('idle').hidden = false;
  s.map.clear();
  renderWho();
  renderQueue();
}

async function endCase() {
  const a = s.active;
  if (!a) return;
  if (a.ended) {
    // The citizen hung up first: the outcome chosen now is still the case's to record.
    if (a.endedBy === 'citizen' && a.role === 'holder') {
      const r = await gw.request('end', { case_id: a.card.case_id, disposition: $('disposition').value });
      if (r.type !== 'ended' && r.code !== 'not_found') { banner(`Outcome not recorded: ${r.message || r.code}`); return; }
      a.outcomeGiven = true;
    }
    closeCase();
    return;
  }
  if (a.role !== 'holder') {
    const r = await gw.request('leave', { case_id: a.card.case_id });
    // state: no longer on it (taken off while this console was away): gone all the same
    if (r.type === 'left' || r.code === 'not_found' || r.code === 'state') closeCase();
    else banner(`Could not leave: ${r.message || r.code}`);
    return;
  }
  const r = await gw.request('end', { case_id: a.card.case_id, disposition: $('disposition').value });
  if (r.type === 'ended' || r.code === 'not_found') closeCase();
  else banner(`Could not end: ${r.message || r.code}`);
}

async function block() {
  const a = s.active;
  if (!a) return;
  const reason = $('block-reason').value.trim() || 'blocked from the console';
  const r = await gw.request('block', { phone: a.card.phone, reason, expires_in_s: Number($('block-days').value) * 86400 });
  $('block-result').textContent = r.type === 'blocked'
    ? `Blocked ${r.phone} until ${new Date(r.expires_at).toLocaleString()}.` : `Not blocked: ${r.message || r.code}`;
}

// ---- media -------------------------------------------------------------------

const iceUfrag = (sdp) => (/^a=ice-ufrag:(.*)$/m.exec(sdp || '') || [])[1];

async function onMediaOffer(m) {
  const a = s.active;
  if (!a || a.card.case_id !== m.case_id) return;
  // New ICE credentials are a new leg (say after barging in), not a renegotiation
  // of the old one: start a fresh connection for it.
  if (s.pc && s.pc.remoteDescription && iceUfrag(s.pc.remoteDescription.sdp) !== iceUfrag(m.sdp)) {
    s.pc.close();
    s.pc = null;
  }
  if (!s.pc || s.pc.signalingState === 'closed') {
    s.pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    const pc = s.pc;
    pc.onicecandidate = (e) => gw.send({ type: 'ice', case_id: m.case_id, candidate: e.candidate ? e.candidate.candidate : '' });
    pc.ontrack = (e) => {
      const target = e.track.kind === 'video' ? $('remote-video') : $('remote-audio');
      target.srcObject = new MediaStream([e.track]);
    };
    pc.onconnectionstatechange = () => {
      const w = { connecting: 'Connecting media…', connected: 'Media connected.', disconnected: 'Media interrupted…', failed: 'Media failed.' };
      if (w[pc.connectionState]) $('media-state').textContent = w[pc.connectionState];
    };
    await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
    if (!s.local) {
      s.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: true }).catch(() => null);
      if (s.local) $('self-video').srcObject = s.local;
    }
    if (s.local) {
      for (const t of s.local.getTracks()) {
        const tr = pc.getTransceivers().find((x) => x.receiver.track.kind === t.kind && !x.sender.track);
        if (tr) { await tr.sender.replaceTrack(t); tr.direction = 'sendrecv'; }
      }
    }
  } else {
    await s.pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
  }
  await s.pc.setLocalDescription(await s.pc.createAnswer());
  const r = await gw.request('media_answer', { case_id: m.case_id, sdp: s.pc.localDescription.sdp });
  if (r.type !== 'media_answer_ok') $('media-state').textContent = `Media refused: ${r.message || r.code}`;
}

// Other staff on the case (a specialist, the holder seen by a specialist, a
// supervisor who barged) come on extra legs, one tile each.
const extra = new ExtraLegs(gw, (peer, track) => {
  let tile = $('peers').querySelector(`[data-peer="${CSS.escape(peer)}"]`);
  if (!tile) {
    const v = el('video', { autoplay: true, playsinline: true, 'aria-label': `Picture of ${peer}` });
    v.srcObject = new MediaStream();
    tile = el('figure', { 'data-peer': peer }, v, el('figcaption', {}, peer));
    $('peers').append(tile);
  }
  tile.querySelector('video').srcObject.addTrack(track);
}, (peer) => {
  const tile = $('peers').querySelector(`[data-peer="${CSS.escape(peer)}"]`);
  if (tile) tile.remove();
});

function closeMedia() {
  extra.closeAll();
  if (s.pc) s.pc.close();
  s.pc = null;
  $('remote-video').srcObject = null;
  $('remote-audio').srcObject = null;
}

// ---- supervisor board ----------------------------------------------------------

function setBoard(cases) {
  s.board = cases;
  s.boardAt = Date.now();
  renderBoard();
}

function renderBoard() {
  if (s.role !== 'supervisor') return;
  const alertsFor = (id) => s.alerts.filter((x) => x.case_id === id).map((x) => x.kind.replace('_', ' '));
  const waitOf = (c) => (c.state === 'queued' || c.state === 'offered' ? fmtDuration(waited(c, s.boardAt)) : fmtDuration(c.waiting_s || 0));
  // Rebuilt only when something but the clock changed, so a click is never lost.
  const key = JSON.stringify([s.board.map((c) => [c.case_id, c.state, c.held_by, c.holder_connected, c.escalated, c.flags]),
                              s.alerts.length, s.active && !s.active.ended && s.active.card.case_id]);
  if (key === s.boardKey) {
    for (const tr of $('board').tBodies[0].rows) {
      const c = s.board.find((x) => x.case_id === tr.dataset.case);
      if (c) tr.cells[3].textContent = waitOf(c);
    }
    return;
  }
  s.boardKey = key;
  // The button that had focus gets it back in its row's new copy: focus falling to the
  // page would make the supervisor's next Enter answer the top alarm instead.
  const had = document.activeElement && document.activeElement.closest('#board tr[data-case]');
  const refocus = had ? had.dataset.case : null;
  $('board').tBodies[0].replaceChildren(...s.board.map((c) => {
    const wait = waitOf(c);
    const flags = [flagsText(c), ...alertsFor(c.case_id)].filter(Boolean).join(', ');
    const mine = s.active && !s.active.ended && s.active.card.case_id === c.case_id;
    const act = c.state === 'answered' && c.held_by !== s.name && !mine && !(s.active && !s.active.ended)
      ? el('button', { type: 'button', class: 'monitor', onclick: () => monitor(c.case_id) }, 'Monitor') : null;
    return el('tr', { class: c.escalated ? 'escalated' : '', 'data-case': c.case_id },
              el('td', {}, c.case_id), el('td', {}, MODE[c.mode] || c.mode), el('td', {}, STATE[c.state] || c.state),
              el('td', {}, wait), el('td', {}, c.held_by ? c.held_by + (c.holder_connected === false ? ' (console lost)' : '') : '—'),
              el('td', {}, flags || '—'), el('td', {}, act));
  }));
  if (!s.board.length) $('board').tBodies[0].append(el('tr', {}, el('td', { colspan: 7 }, 'No live case.')));
  if (refocus) {
    const b = $('board').querySelector(`tr[data-case="${CSS.escape(refocus)}"] button`);
    if (b) b.focus({ preventScroll: true }); else $('board').focus({ preventScroll: true });
  }
}

// ---- blocked callers (supervisors) -------------------------------------------------

async function loadBlocks() {
  s.blocksStale = false;
  const r = await gw.request('blocks');
  if (r.type !== 'blocks') return;
  $('blocks-count').textContent = `(${r.blocks.length})`;
  $('blocks').replaceChildren(...r.blocks.map((b) => {
    const why = el('input', { type: 'text', maxlength: 200, 'aria-label': `Reason to unblock ${b.phone}`,
                              placeholder: 'reason to unblock' });
    const note = el('span', { class: 'small', role: 'status' });
    const go = el('button', { type: 'button', onclick: async () => {
      if (!why.value.trim()) { note.textContent = ' Give a reason first.'; why.focus(); return; }
      const u = await gw.request('unblock', { phone: b.phone, reason: why.value.trim() });
      if (u.type === 'unblocked' || u.code === 'not_found') loadBlocks();
      else note.textContent = ` Not lifted: ${u.message || u.code}`;
    } }, 'Unblock');
    return el('li', { 'data-phone': b.phone },
              el('strong', {}, b.phone), ` · ${b.reason} · by ${b.by}, ${fmtTime(b.at)}; until ${new Date(b.expires_at).toLocaleDateString()} `,
              why, ' ', go, note);
  }));
}

// A supervisor listens in (nobody hears them), and may then barge in.
async function monitor(caseId) {
  const r = await gw.request('monitor', { case_id: caseId });
  if (r.type === 'monitoring') openCase(Object.assign({}, r, { role: 'monitor' }));
  else banner(`Could not monitor: ${r.message || r.code}`);
}

async function barge() {
  const a = s.active;
  if (!a) return;
  const r = await gw.request('barge', { case_id: a.card.case_id });
  if (r.type !== 'barged') { banner(`Could not barge in: ${r.message || r.code}`); return; }
  a.role = 'barged';
  roleControls();
}

// An alert on the list; `replayed`: one still open from before this sign-in (no sound).
function addAlert(m, replayed) {
  if (m.alert_id && s.alerts.some((x) => x.alert_id === m.alert_id)) return;
  s.alerts.unshift(m);
  const words = { unanswered: 'Unanswered', repeat_caller: 'Repeat caller', key_person: 'Key person',
                  key_place: 'Key place', blocked_caller: 'Blocked caller', escalated: 'Escalated',
                  holder_lost: 'Call-taker lost', outside_area: 'Outside the area',
                  alarm_refused: 'Alarm refused' };
  const d = m.detail || {};
  const refusedWhy = { outside_service_area: 'outside the service area: told to call 110',
                       blocked: `blocked caller (by ${d.blocked_by}: ${d.block_reason})` };
  const detail = d.reason ? (refusedWhy[d.reason] || d.reason) +
      (Number.isFinite(d.lat) ? ` at ${d.lat.toFixed(5)}, ${d.lon.toFixed(5)}` : '') :
    Number.isFinite(d.lat) ? `first location ${d.lat.toFixed(5)}, ${d.lon.toFixed(5)}` :
    d.was_held_by ? `${d.was_held_by}'s console gone ${d.gone_s} s; ` +
      (d.taken_over_by ? `${d.taken_over_by} on the call holds it` : 'back in the queue') :
    d.waiting_s ? `waiting ${d.waiting_s} s` : d.place ? `at ${d.place}` :
    d.alarms_in_window ? `${d.alarms_in_window} alarms in ${d.window_min} min` : '';
  // A server alert stays open for every supervisor until one marks it seen.
  const seen = m.alert_id && s.role === 'supervisor'
    ? el('button', { type: 'button', class: 'seen', onclick: () => ackAlert(m.alert_id) }, 'Seen') : null;
  $('alerts').prepend(el('li', { class: 'alert kind-' + m.kind, 'data-alert': m.alert_id || '' },
    el('strong', {}, words[m.kind] || m.kind), ` · ${MODE[m.mode] || m.mode || ''} ${m.phone || ''} · ${m.case_id || ''}` +
    `${detail ? ' · ' + detail : ''} · ${fmtTime(m.at || Date.now())}`, seen ? ' ' : '', seen));
  if (!replayed) alertChime();
  updateTitle();
  renderBoard();
}

async function ackAlert(id) {
  const r = await gw.request('alert_ack', { alert_id: id });
  if (r.type === 'alert_acked' || r.code === 'not_found') dropAlert(id); // not_found: another was first
  else banner(`Could not mark the alert seen: ${r.message || r.code}`);
}

function dropAlert(id) {
  s.alerts = s.alerts.filter((x) => x.alert_id !== id);
  const li = $('alerts').querySelector(`li[data-alert="${CSS.escape(String(id))}"]`);
  if (li) {
    // Focus on its button would fall to the page: the next item's (or the list) takes it.
    const refocus = li.contains(document.activeElement);
    const next = li.nextElementSibling || li.previousElementSibling;
    li.remove();
    if (refocus) (next && next.querySelector('button') || $('alerts')).focus({ preventScroll: true });
  }
  updateTitle();
  renderBoard();
}

// ---- events --------------------------------------------------------------------

gw.on('offer', (m) => {
  const prev = s.queue.get(m.case.case_id);
  s.queue.set(m.case.case_id, { card: m.case, at: Date.now() });
  // Supervisors get the server's own "unanswered" alert; a call-taker is told here.
  if (m.case.escalated && !(prev && prev.card.escalated) && s.role !== 'supervisor') {
    addAlert({ kind: 'escalated', case_id: m.case.case_id, phone: m.case.phone, mode: m.case.mode,
               detail: { waiting_s: m.case.waiting_s }, at: Date.now() });
  }
  renderQueue();
});
for (const t of ['taken', 'closed']) gw.on(t, (m) => { s.queue.delete(m.case_id); renderQueue(); });

// A holder asks for help: this console rings with the whole case; Join takes part.
gw.on('invited', (m) => {
  s.invites.set(m.invite_id, m);
  renderInvites();
});
gw.on('invite_cancelled', (m) => {
  s.invites.delete(m.invite_id);
  renderInvites();
  if (m.reason === 'transferred' && s.active && s.active.card.case_id === m.case_id) {
    $('invite-cancel').hidden = true; // the one rung for this holder's case: stopped by the handover
  }
});
gw.on('invite_accepted', (m) => { $('invite-cancel').hidden = true; $('invite-result').textContent = `${m.by} accepted and joins the case.`; });
gw.on('invite_declined', (m) => {
  $('invite-cancel').hidden = true;
  const why = { declined: 'declined', timeout: 'did not answer in time', unavailable: 'nobody is free' }[m.reason] || m.reason;
  $('invite-result').textContent = `${m.target} ${why}; you still hold the case.`;
});
gw.on('transferred', (m) => {
  if (!s.active || s.active.card.case_id !== m.case_id) return;
  if (m.from === s.name) caseEnded(`Handed over to ${m.to}; you are free for the next case.`);
  else if (m.to === s.name && m.kind === 'holder_lost') {
    // The holder's console went and did not come back: the one still on the call keeps it.
    Object.assign(s.active, { role: 'holder', handBackTo: null });
    roleControls();
    $('invite-result').textContent = `${m.from}'s console was lost; you hold the case now.`;
  } else if (m.to === s.name) {
    // The one before may be asked to take it back (hand_back).
    Object.assign(s.active, { role: 'holder', handBackTo: m.from });
    roleControls();
    $('invite-result').textContent = `${m.from} handed the case over to you; you hold it now.`;
  }
});

// Attended transfer: one button per specialist connected in the call.
function renderHandover(c) {
  const a = s.active;
  const people = a.role === 'holder' && !a.ended
    ? (c.parties || []).filter((p) => p.role === 'specialist' && p.connected !== false && p.account !== s.name) : [];
  // renderCard runs every second: rebuilt only when the people change, so a click is
  // never lost (a button replaced under a slow click is detached, as in renderQueue).
  const key = JSON.stringify([c.case_id, people.map((p) => p.account)]);
  if (key === s.handoverKey) return;
  s.handoverKey = key;
  $('handover-list').replaceChildren(...people.map((p) => {
    const b = el('button', { type: 'button', 'data-handover': p.account }, `Hand over to ${p.account}`);
    b.addEventListener('click', async () => {
      const r = await gw.request('transfer', { case_id: c.case_id, to: p.account });
      if (r.type !== 'transfer_ok') $('invite-result').textContent = `Not handed over: ${r.message || r.code}`;
    });
    return el('li', {}, b);
  }));
  $('handover').hidden = people.length === 0;
}

async function handBack() {
  const a = s.active;
  if (!a) return;
  const r = await gw.request('hand_back', { case_id: a.card.case_id });
  $('invite-result').textContent = r.type === 'invite_sent'
    ? `Asking ${a.handBackTo} to take the case back…` : `Not handed back: ${r.message || r.code}`;
}

function renderInvites() {
  $('invites').replaceChildren(...[...s.invites.values()].map((iv) => {
    const join = el('button', { type: 'button', class: 'primary' }, iv.transfer ? 'Take over' : 'Join');
    const no = el('button', { type: 'button' }, 'Decline');
    join.addEventListener('click', async () => {
      s.invites.delete(iv.invite_id);
      renderInvites();
      const r = await gw.request('invite_accept', { invite_id: iv.invite_id });
      if (r.type === 'joined') openCase(Object.assign(r, iv.transfer && r.role === 'holder' ? { handBackTo: iv.from } : {}));
      else banner(`Could not join: ${r.message || r.code}`);
    });
    no.addEventListener('click', () => {
      s.invites.delete(iv.invite_id);
      renderInvites();
      gw.request('invite_decline', { invite_id: iv.invite_id });
    });
    return el('li', { 'data-invite': iv.invite_id },
              el('strong', {}, `${iv.from} asks for ${iv.transfer ? 'a transfer' : 'help'}`),
              ` · ${MODE[iv.case.mode] || iv.case.mode} ${iv.case.phone} · running ${fmtDuration(iv.running_s || 0)} `, join, ' ', no);
  }));
  $('invites-box').hidden = s.invites.size === 0;
  renderQueue(); // rings while one is open
}

async function invite() {
  const a = s.active;
  if (!a) return;
  const who = $('invite-who').value.trim();
  if (!who) return;
  const f = { case_id: a.card.case_id, transfer: $('invite-transfer').checked };
  f[$('invite-kind').value] = who;
  const r = await gw.request('invite', f);
  $('invite-result').textContent = r.type === 'invite_sent'
    ? `Ringing ${(r.rung || []).join(', ') || who}…` : `Not sent: ${r.message || r.code}`;
  $('invite-cancel').hidden = r.type !== 'invite_sent';
}

async function cancelInvite() {
  const a = s.active;
  if (!a) return;
  const r = await gw.request('invite_cancel', { case_id: a.card.case_id });
  $('invite-cancel').hidden = true;
  $('invite-result').textContent = r.type === 'invite_cancelled' || r.code === 'not_found'
    ? 'Stopped ringing; you still hold the case.' : `Not stopped: ${r.message || r.code}`;
}
// A case held before a dropped connection comes back as claimed after resume.
gw.on('claimed', (m) => {
  if (s.active && !s.active.ended && s.active.card.case_id === m.case.case_id) refreshCase(m);
  else if (!s.active || s.active.ended) openCase(m);
});
// A specialist's console back within the grace gets its place on the case again.
gw.on('joined', (m) => {
  if (s.active && !s.active.ended && s.active.card.case_id === m.case.case_id) refreshCase(m);
  else if (!s.active || s.active.ended) openCase(m);
});
// This console was on the call (a specialist, a supervisor) when the holder's console
// was lost and nobody here could take over: the case waits in the queue again.
gw.on('requeued', (m) => {
  if (!s.active || s.active.ended || s.active.card.case_id !== m.case_id) return;
  caseEnded('The call-taker\'s console was lost: the case is back in the queue.');
});
gw.on('case_update', (m) => {
  const q = s.queue.get(m.case.case_id);
  if (q) { q.card = m.case; q.at = Date.now(); renderQueue(); }
  if (s.active && s.active.card.case_id === m.case.case_id) { s.active.card = m.case; renderCard(); }
});
gw.on('location', (m) => {
  if (!s.active || s.active.card.case_id !== m.case_id) return;
  stamp(m.fix);
  s.active.card.location = m.fix;
  s.map.add(m.fix);
  renderMapText();
});
gw.on('citizen_connection', (m) => {
  if (!s.active || s.active.card.case_id !== m.case_id) return;
  s.active.card.citizen_connected = m.connected;
  $('media-state').textContent = m.connected ? 'The citizen is back.' : 'The citizen\'s connection dropped; their case stays open.';
  renderCard();
});
gw.on('chat', addChat);
// A receipt never goes back: "read" stays read when a reloaded phone page sends
// "delivered" again for old messages.
function showReceipt(seq, status) {
  const r = $('chat').querySelector(`li.mine[data-seq="${seq}"] .receipt`);
  if (!r || (status === 'delivered' && r.textContent === ' · read')) return;
  if (status === 'read' || status === 'delivered') setText(r, ' · ' + status);
}
gw.on('chat_receipt', (m) => showReceipt(m.seq, m.status));
gw.on('ended', (m) => {
  s.queue.delete(m.case_id);
  if (s.active && s.active.card.case_id === m.case_id && !s.active.ended) {
    s.active.endedBy = m.by;
    caseEnded(m.by === 'citizen' ? 'The citizen hung up. Choose the outcome and close.' : `Ended by ${m.by}.`);
  }
  renderQueue();
});
gw.on('upload', (m) => { if (s.active && s.active.card.case_id === m.case_id) addFile(m.upload); });
gw.on('media_offer', (m) => {
  if (!s.active || s.active.card.case_id !== m.case_id) return;
  const p = m.peer ? extra.offer(m) : onMediaOffer(m);
  p.catch((e) => { $('media-state').textContent = 'Media error: ' + e.message; });
});
gw.on('ice', (m) => {
  if (!s.active || m.case_id !== s.active.card.case_id) return;
  if (m.peer) extra.ice(m); else addCandidate(s.pc, m.candidate);
});
gw.on('participants', (m) => {
  if (!s.active || s.active.card.case_id !== m.case_id) return;
  s.active.card.held_by = m.held_by;
  s.active.card.parties = m.parties || [];
  extra.keep([m.held_by, ...s.active.card.parties.map((p) => p.account)]);
  renderCard();
});
gw.on('media_state', (m) => {
  if (m.peer) { if (m.state === 'closed') extra.close(m.peer); return; }
  if (m.state === 'failed') $('media-state').textContent = `Media failed: ${m.detail || ''}`;
});
gw.on('board', (m) => { if (m.cases) setBoard(m.cases); });
gw.on('alert', (m) => addAlert(m, false));
// At sign-in (and after a reconnect): the alerts still open, oldest first. They replace
// the server alerts on the list; a call-taker's own "escalated" notes stay.
gw.on('alerts', (m) => {
  for (const x of s.alerts.filter((a) => a.alert_id)) dropAlert(x.alert_id);
  for (const a of m.alerts || []) addAlert(a, true);
});
gw.on('alert_acked', (m) => dropAlert(m.alert_id));
// Another's block or lift rebuilds the list, but not under a reason being typed there:
// then once focus leaves the list.
gw.on('block_changed', () => {
  if (s.role !== 'supervisor') return;
  if ($('blocks').contains(document.activeElement)) s.blocksStale = true;
  else loadBlocks();
});
$('blocks').addEventListener('focusout', (e) => {
  if (s.blocksStale && !$('blocks').contains(e.relatedTarget)) { s.blocksStale = false; loadBlocks(); }
});
// The account was disabled while signed in: the gateway closes the connection and the
// session will not resume; the sign-in form says why.
gw.on('signed_out', (m) => {
  sessionStorage.removeItem(SESSION_KEY);
  s.token = null;
  closeCase();
  s.queue.clear();
  stopRing();
  $('login').hidden = false;
  $('desk').hidden = true;
  $('top-actions').hidden = true;
  $('login-error').textContent = m.message || 'Signed out.';
  $('login-error').hidden = false;
});
// The same session resumed in another tab or window (a duplicated tab carries the
// session): this one steps back instead of taking it again, and says so.
gw.on('session_moved', () => {
  gw.close();
  s.queue.clear();
  stopRing();
  renderQueue();
  $('moved').hidden = false;
});
$('use-here').addEventListener('click', () => {
  $('moved').hidden = true;
  gw.connect(); // resumes here; the other console steps back in turn
});

gw.onopen = async () => {
  renderWho();
  const token = s.token || sessionStorage.getItem(SESSION_KEY);
  if (!token) return;
  const resumedAt = Date.now();
  const r = await gw.request('resume', { token });
  // The connection dropping again, or a slow answer, is not a signed-out session: the
  // next connection resumes (a password prompt instead of the alarm would cost the
  // held case its grace).
  if (r.type === 'error' && (r.code === 'disconnected' || r.code === 'timeout')) return;
  if (r.type === 'resume') {
    s.queue.clear();
    signedIn(r);
    // A resumed session starts available; the call-taker's own choice stands.
    if (s.status === 'away') gw.request('set_status', { status: 'away' });
    checkStillOn(resumedAt);
  } else {
    sessionStorage.removeItem(SESSION_KEY);
    s.token = null;
    $('login').hidden = false;
    $('desk').hidden = true;
    $('top-actions').hidden = true;
  }
};
// A case held before the drop comes back as `claimed` right after the resume answer
// (a specialist's as `joined`), so before the answer to this case_get. If it did not,
// it moved on while this console was away ([queue] holder_grace_s): back in the queue
// (it may ring here again), handed on, to another console of the same account, or
// closed, perhaps with its outcome still ours to give; a monitor is taken off at once.
async function checkStillOn(resumedAt) {
  const a = s.active;
  if (!a || a.ended) return;
  const r = await gw.request('case_get', { case_id: a.card.case_id });
  if (s.active !== a || a.ended || r.code === 'disconnected' || r.code === 'timeout') return;
  const c = r.type === 'case' ? r.case : null;
  const back = a.backAt >= resumedAt; // `claimed` or `joined` came for it since
  if (a.role !== 'holder') { // a specialist back in time is joined again; a monitor never
    if (!back) caseEnded('While this console was offline you were taken off the case.');
    return;
  }
  if (c && c.state === 'answered' && c.held_by === s.name) {
    // Held by this account, but not given back here: another console of the same
    // account took it up (one console holds one case).
    if (!back) caseEnded('This case is open on another console of yours.');
    return;
  }
  if (c && c.state === 'ended' && c.held_by === s.name && c.end_reason === 'citizen_hung_up' && !c.disposition) {
    a.endedBy = 'citizen';
    caseEnded('The citizen hung up while this console was offline. Choose the outcome and close.');
  } else if (c && (c.state === 'ended' || c.state === 'abandoned')) {
    caseEnded('The case was closed while this console was offline.');
  } else if (c && !c.held_by) {
    caseEnded('While this console was offline the case went back to the queue.');
  } else {
    caseEnded('While this console was offline the case was handed on to someone else.');
  }
}

// The gateway offers a fresh media leg after resume; the old one is dead.
gw.onclose = () => {
  closeMedia();
  if (s.active && !s.active.ended) $('media-state').textContent = 'Connection lost: reconnecting…';
  renderWho();
};

$('login-form').addEventListener('submit', (e) => {
  e.preventDefault();
  $('login-error').hidden = true;
  // The click is a user gesture: the ring's AudioContext may start now.
  try { ringAudio(); } catch (err) { /* no audio */ }
  login($('login-name').value.trim(), $('login-pw').value);
});
$('status-btn').addEventListener('click', () => setStatus(s.status === 'available' ? 'away' : 'available'));
$('ring-btn').addEventListener('click', () => {
  s.ring = !s.ring;
  $('ring-btn').textContent = s.ring ? 'Ring: on' : 'Ring: off';
  $('ring-btn').setAttribute('aria-pressed', String(s.ring));
  stopRing();
  renderQueue();
});
$('logout-btn').addEventListener('click', async () => {
  await gw.request('logout');
  sessionStorage.removeItem(SESSION_KEY);
  location.reload();
});
$('chat-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const t = $('chat-text').value.trim();
  if (t) { $('chat-text').value = ''; sendChat(t); }
});
$('end-form').addEventListener('submit', (e) => { e.preventDefault(); endCase(); });
$('block-form').addEventListener('submit', (e) => { e.preventDefault(); block(); });
$('handback-btn').addEventListener('click', handBack);
$('invite-form').addEventListener('submit', (e) => { e.preventDefault(); invite(); });
$('invite-cancel').addEventListener('click', cancelInvite);
$('barge-btn').addEventListener('click', barge);

// Waiting times and ages tick.
setInterval(() => {
  if (!$('desk').hidden) {
    renderQueue();
    renderBoard();
    if (s.active && !s.active.ended) { renderCard(); renderMapText(); }
  }
}, 1000);

gw.connect();
// For tests and support: cut the connection as a network change would; count rings.
// Any click or key press on the page lets a suspended ring sound (see renderQueue).
for (const ev of ['pointerdown', 'keydown']) {
  document.addEventListener(ev, () => { if (s.audio && s.audio.state === 'suspended') s.audio.resume().catch(() => {}); }, true);
}
window.vigilConsole = {
  drop: () => gw.drop(),
  // The console's connection goes and stays away for ms (a machine off the network).
  away: (ms) => { gw.wanted = false; gw.drop(); setTimeout(() => gw.connect(), ms); },
  rings: () => s.beeps || 0,
};
