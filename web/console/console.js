// The call-taker console and, for the supervisor role, the board. Sign in; the
// queue rings while alarms wait; answer one with a click or Enter/Space on the top
// item; then the citizen's picture and sound, chat, the caller card, the map, the
// uploaded files; end with an outcome or block the caller. A dropped connection
// resumes the session (resume) and the gateway offers the media leg again.
import { ExtraLegs, Gateway, TEXT_MAX, addCandidate, appendFollowing, el, fmtTime, setText, textBytes, typedText }
  from '/common/vigil.js';
import { N_, applyStatic, langTag, serverText, switchLang, t } from '/common/i18n.js';
import '/console/zh.js';
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

// The protocol's words (docs/protocol.md) as shown; one not listed is shown as sent.
const MODE = { video: N_('Video'), silent: N_('SILENT'), voice: N_('Voice'), report: N_('Report') };
const STATE = { queued: N_('waiting'), offered: N_('ringing'), answered: N_('being handled'), ended: N_('ended'),
                abandoned: N_('abandoned') };
const FLAG = { no_location: N_('no location'), repeat_caller: N_('repeat caller'), key_person: N_('key person'),
               key_place: N_('key place'), blocked: N_('blocked caller'), outside_area: N_('outside the area'),
               area_uncertain: N_('maybe outside the area') };
const modeName = (m) => (MODE[m] ? t(MODE[m]) : m);
const stateName = (st) => (STATE[st] ? t(STATE[st]) : st);

// A text the script writes once (a result, a note, a chat line's meta), kept as the
// function that gives it: a language switch writes it again (relabel) where it is,
// without rebuilding what holds it (a chat, a playing video).
function put(e, words, attr = 'text') {
  (e.words ||= {})[attr] = words;
  e.setAttribute('data-words', '');
  if (attr === 'text') e.textContent = words(); else e.setAttribute(attr, words());
  return e;
}

function relabel() {
  for (const e of document.querySelectorAll('[data-words]')) {
    for (const [attr, words] of Object.entries(e.words || {})) {
      if (attr === 'text') setText(e, words()); else e.setAttribute(attr, words());
    }
  }
}

function banner(words) {
  put($('banner'), words || (() => ''));
  $('banner').hidden = !words;
}

// Why a request failed. The gateway's message is English, often with a name or a
// case id in it (which a Chinese centre may write in Chinese): an English console shows
// it as it always did; a Chinese one says first what the code means, the gateway's
// words after it for the specifics. Never judged by its script.
const CODES = { disconnected: N_('not connected'), timeout: N_('no answer'), forbidden: N_('not allowed'),
                state: N_('not possible now'), not_found: N_('no such case or item'), busy: N_('not possible now'),
                already_taken: N_('another console took it first'), login_failed: N_('wrong name or password'),
                internal: N_('not recorded: try again'), too_large: N_('too long'),
                invalid_field: N_('not accepted') };
function why(r) {
  if (langTag() === 'en' || !Object.hasOwn(CODES, r.code)) return r.message || r.code;
  return r.message ? t('{what} ({detail})', { what: t(CODES[r.code]), detail: r.message }) : t(CODES[r.code]);
}

// A duration in minutes and seconds (vigil.js fmtDuration's English), in the console's language.
function fmtDur(secs) {
  const sec = Math.max(0, Math.round(secs));
  const m = Math.floor(sec / 60);
  return m ? t('{m} min {s} s', { m, s: sec % 60 }) : t('{s} s', { s: sec });
}

function waited(card, at) { return (card.waiting_s || 0) + (Date.now() - at) / 1000; }

function flagsText(card) {
  const f = (card.flags || []).map((x) => (FLAG[x] ? t(FLAG[x]) : x));
  if (card.escalated) f.unshift(t('ESCALATED'));
  if (card.link_by) f.unshift(card.link_by === s.name ? t('from your link') : t("from {who}'s link", { who: card.link_by }));
  return f.join(', ');
}

// ---- sign in -----------------------------------------------------------------

async function login(name, password) {
  const r = await gw.request('login', { name, password });
  if (r.type !== 'login') {
    put($('login-error'), () => (r.code === 'login_failed' ? t('Wrong name or password.') : why(r)));
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
  $('link-box').hidden = s.role !== 'call_taker' && s.role !== 'supervisor';
  $('rec-box').hidden = s.role !== 'supervisor' && s.role !== 'evidence';
  $('find-box').hidden = s.role !== 'supervisor';
  // What rang before a drop may have ended meanwhile: the gateway rings again those
  // still ringing for this account.
  s.invites.clear();
  renderInvites();
  renderCallbacks();
  s.quick = r.quick_messages || [];
  s.quickLang = r.quick_messages_lang || {};
  renderQuick();
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

const ROLE = { call_taker: N_('call-taker'), specialist: N_('specialist'), supervisor: N_('supervisor') };
const STATUS = { available: N_('available'), away: N_('away') };

function renderWho() {
  // The board, queue and alerts are not live while the connection is down: greyed.
  document.body.classList.toggle('offline', !gw.open && !!s.name);
  put($('who'), whoText);
  put($('status-btn'), () => (s.status === 'available' ? t('Set away') : t('Set available')));
}

function whoText() {
  const net = gw.open ? '' : t(' · connection lost, reconnecting');
  if (!s.name) return t('Not signed in') + net;
  const role = ROLE[s.role] ? t(ROLE[s.role]) : s.role;
  const st = s.active && !s.active.ended ? t('busy with a case') : (STATUS[s.status] ? t(STATUS[s.status]) : s.status);
  return t('{name} ({role}), {status}', { name: s.name, role, status: st }) + net;
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
  const loc = card.location ? t('±{m} m', { m: Math.round(card.location.accuracy) }) : t('no location');
  const flags = flagsText(card);
  // No aria-label: the visible text is the name, so the waiting time stays current and
  // the flags (escalated, key person, blocked) are read out too.
  const b = el('button', { type: 'button', class: 'answer', 'data-case': card.case_id },
               el('span', { class: 'q-mode mode-' + card.mode }, modeName(card.mode)),
               el('span', { class: 'q-phone' }, card.phone),
               el('span', { class: 'q-wait' }, t('waiting {t}', { t: fmtDur(waited(card, at)) })),
               el('span', { class: 'q-loc' }, loc),
               flags ? el('span', { class: 'q-flags' }, flags) : null,
               // A silent alarm or a report waits even when its caller's connection is
               // gone (the phone locked, no network): the call-taker still answers it.
               card.citizen_connected === false ? el('span', { class: 'q-off' }, t('caller offline')) : null,
               el('span', { class: 'q-go' }, t('Answer')));
  b.addEventListener('click', () => claim(card.case_id));
  return el('li', { class: card.escalated ? 'escalated' : '', 'data-sig': sig }, b);
}

function renderQueue() {
  const items = sortedQueue();
  $('queue-count').textContent = `(${items.length})`;
  // Rebuilt only when the queue changes, so a click in progress is never lost.
  const key = items.map(({ card }) => card.case_id + (card.escalated ? '!' : '') + (card.citizen_connected === false ? '~' : '') +
    (card.link_by ? '@' + card.link_by : '') + (card.flags || []).join()).join(' ');
  if (key === s.queueKey) {
    for (const li of $('queue').querySelectorAll('button.answer')) {
      const q = s.queue.get(li.dataset.case);
      if (q) li.querySelector('.q-wait').textContent = t('waiting {t}', { t: fmtDur(waited(q.card, q.at)) });
    }
  } else {
    // Only what changed is replaced, and an item moves only when the order changed: a
    // button under the call-taker's pointer stays the same element while other alarms
    // come and go (a click whose button is replaced between press and release is lost).
    s.queueKey = key;
    const box = $('queue');
    const sigs = items.map(({ card }) => JSON.stringify([card.case_id, card.mode, card.phone, card.escalated,
      card.flags, card.location && Math.round(card.location.accuracy), card.citizen_connected, card.link_by]));
    const wanted = new Set(sigs);
    for (const li of [...box.children]) if (!wanted.has(li.dataset.sig)) li.remove();
    const keep = new Map([...box.children].map((li) => [li.dataset.sig, li]));
    let next = box.firstElementChild;
    items.forEach(({ card, at }, i) => {
      const li = keep.get(sigs[i]) || queueItem(card, at, sigs[i]);
      if (li === next) next = next.nextElementSibling; else box.insertBefore(li, next);
      setText(li.querySelector('.q-go'), i === 0 ? t('Answer (Enter)') : t('Answer')); // the top one answers to Enter
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
  const muted = s.audio && s.audio.state === 'suspended'
    ? t(' Sound blocked by the browser: click anywhere on the page to hear the ring.') : '';
  const n = items.length;
  setText($('ring-state'), n === 0 ? (asked && ringing ? t('Ringing: asked to help.') + muted : t('No alarm waiting.'))
    : ringing ? (n > 1 ? t('Ringing: {n} alarms waiting.', { n }) : t('Ringing: {n} alarm waiting.', { n })) + muted
      : away ? t('{n} waiting (not ringing while you are away).', { n })
        : t('{n} waiting (not ringing while you handle a case).', { n }));
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
  const parts = [n ? t('({n}) Alarm waiting', { n }) : '', asked ? t('Asked to help') : '',
                 open ? (open > 1 ? t('{n} alerts', { n: open }) : t('{n} alert', { n: open })) : ''];
  document.title = [...parts.filter(Boolean), t('Vigil console')].join(' · ');
}

// A new alert sounds once (one lower tone), so a supervisor looking elsewhere hears it.
function alertChime() {
  if (!s.ring) return;
  try {
    const at = ringAudio().currentTime;
    const o = s.audio.createOscillator();
    const g = s.audio.createGain();
    o.frequency.value = 523;
    g.gain.setValueAtTime(0.25, at);
    g.gain.exponentialRampToValueAtTime(0.001, at + 0.6);
    o.connect(g).connect(s.audio.destination);
    o.start(at);
    o.stop(at + 0.6);
  } catch (e) { /* no audio output: the list and the title still show it */ }
}

// The console rings (a citizen's page never does): two short tones every 2 s.
function startRing() {
  if (s.ringTimer || !s.ring) return;
  const beep = () => {
    s.beeps = (s.beeps || 0) + 1;
    try {
      const at = ringAudio().currentTime;
      for (const off of [0, 0.3]) {
        const o = s.audio.createOscillator();
        const g = s.audio.createGain();
        o.frequency.value = 880;
        g.gain.setValueAtTime(0.2, at + off);
        g.gain.exponentialRampToValueAtTime(0.001, at + off + 0.25);
        o.connect(g).connect(s.audio.destination);
        o.start(at + off);
        o.stop(at + off + 0.25);
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
  banner(() => t('Could not answer: {why}', { why: why(r) }));
  renderQueue();
}

document.addEventListener('keydown', (e) => {
  if ((e.key !== 'Enter' && e.key !== ' ') || e.repeat) return;
  const on = e.target;
  if (on && on.closest && on.closest('input, textarea, select, button, a, form, #board')) return;
  if ($('desk').hidden || (s.active && !s.active.ended && s.active.role !== 'monitor')) return;
  const top = sortedQueue()[0];
  if (!top) return;
  e.preventDefault();
  claim(top.card.case_id);
});

// ---- call-backs -----------------------------------------------------------------

// Callers who left while waiting and allowed a call back (docs/protocol.md,
// "Call-backs"): the list comes on sign-in and after every change, from any console.
const OUTCOMES = { reached: N_('Reached'), no_answer: N_('No answer'), wrong_number: N_('Wrong number'),
                   not_needed: N_('Not needed') };

// A time of the day, with the date when it is not today (the list keeps [queue] callback_window_h, 72 by default).
function when(ms) {
  const d = new Date(ms);
  return d.toDateString() === new Date().toDateString() ? fmtTime(ms)
    : d.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

function callbackItem(c) {
  const at = when(c.ended_at || c.created_at);
  const left = c.ended_at && c.created_at
    ? t('left after {t} at {when}', { t: fmtDur((c.ended_at - c.created_at) / 1000), when: at })
    : t('left at {when}', { when: at });
  const loc = c.location ? ` · ${c.location.lat.toFixed(5)}, ${c.location.lon.toFixed(5)} ` +
    `(${t('±{m} m', { m: Math.round(c.location.accuracy) })})` : '';
  const name = c.caller && c.caller.name ? ` (${c.caller.name})` : '';
  const flags = flagsText(c);
  // Someone who could not speak, or must not be heard: a ringing phone may give them away.
  const warn = c.mode === 'silent'
    ? el('strong', { class: 'cb-warn' }, t(' Silent alarm: a ringing phone may put them in danger.')) : null;
  const pick = el('select', { 'aria-label': t('Outcome of the call back to {phone}', { phone: c.phone }) },
                  ...Object.keys(OUTCOMES).map((v) => el('option', { value: v }, t(OUTCOMES[v]))));
  const done = el('button', { type: 'button', class: 'cb-done' }, t('Done'));
  done.addEventListener('click', async () => {
    done.disabled = true;
    const r = await gw.request('callback_done', { case_id: c.case_id, outcome: pick.value });
    done.disabled = false;
    if (r.type !== 'callback_done' && r.code !== 'not_found') {
      banner(() => t('Call back not recorded: {why}', { why: why(r) }));
    }
  });
  return el('li', { 'data-case': c.case_id },
            el('a', { href: 'tel:' + c.phone }, c.phone), name,
            ` · ${modeName(c.mode)} · ${left}${loc}${flags ? ' · ' + flags : ''} `, warn, ' ', pick, ' ', done);
}

// again: every item rebuilt in the console's language (after a switch), each keeping
// the outcome being chosen in it.
function renderCallbacks(again = false) {
  const box = $('callbacks-box');
  box.hidden = !['call_taker', 'supervisor'].includes(s.role);
  const list = s.callbacks || [];
  $('callbacks-count').textContent = `(${list.length})`;
  // Only what changed goes or comes: an outcome being chosen in one item survives
  // another caller being added.
  const ids = new Set(list.map((c) => c.case_id));
  const ol = $('callbacks');
  for (const li of [...ol.children]) {
    if (!ids.has(li.dataset.case)) { li.remove(); continue; }
    if (!again) continue;
    const item = callbackItem(list.find((c) => c.case_id === li.dataset.case));
    item.querySelector('select').value = li.querySelector('select').value;
    item.querySelector('button').disabled = li.querySelector('button').disabled; // a Done in flight
    li.replaceWith(item);
  }
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
    const pick = el('select', { 'aria-label': t('Outcome of case {id}', { id: o.case_id }) },
                    ...[...$('disposition').options].map((x) => el('option', { value: x.value }, x.textContent)));
    if (o.pick) pick.value = o.pick; // chosen before a language switch rebuilt the list
    pick.addEventListener('change', () => { o.pick = pick.value; });
    const save = el('button', { type: 'button' }, t('Save'));
    save.addEventListener('click', async () => {
      save.disabled = true;
      const r = await gw.request('end', { case_id: o.case_id, disposition: pick.value });
      save.disabled = false;
      if (r.type !== 'ended' && r.code !== 'not_found') {
        banner(() => t('Outcome not recorded: {why}', { why: why(r) }));
        return;
      }
      s.owed = (s.owed || []).filter((x) => x !== o);
      renderOwed();
    });
    return el('li', { 'data-case': o.case_id }, `${modeName(o.mode)} ${o.phone} · ${o.case_id} `, pick, ' ', save);
  }));
}

const MEDIA_NOTE = { silent: N_('Silent alarm: you hear the citizen; nothing plays on their phone. Write in the chat.'),
                     voice: N_('Voice call: sound both ways.'),
                     report: N_('Report: no call. Read the chat and the files.') };

function mediaState(words) { put($('media-state'), words || (() => '')); }

// Messages before the last ones the gateway sends, said once at the top of the chat.
function omitted(r) {
  const n = r.chat_omitted;
  if (!(n > 0) || $('chat').querySelector('li.omitted')) return;
  $('chat').prepend(put(el('li', { class: 'omitted meta' }), () => (n > 1
    ? t('{n} earlier messages are not shown here (kept in the case record).', { n })
    : t('{n} earlier message is not shown here (kept in the case record).', { n }))));
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
  put($('case-title'), () => t('{mode} alarm {id}', { mode: modeName(card.mode), id: card.case_id }));
  $('chat').replaceChildren();
  put($('draft'), () => ''); // the last case's draft is not written back at a switch
  $('draft').hidden = true;
  $('files').replaceChildren();
  setNotes(r.notes, r.notes_omitted);
  $('note-form').hidden = false;
  $('note-text').value = ''; // a note half typed on the last case is not this one's
  put($('note-result'), () => '');
  put($('block-result'), () => '');
  put($('invite-result'), () => '');
  $('invite-cancel').hidden = true;
  // Only a video alarm has a picture; the others say what the call-taker gets.
  $('media-box').className = 'mode-' + card.mode;
  put($('media-note'), () => (MEDIA_NOTE[card.mode] ? t(MEDIA_NOTE[card.mode]) : ''));
  mediaState(card.mode === 'report' ? null : () => t('Waiting for the citizen\'s media…'));
  omitted(r);
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
  omitted(r);
  for (const m of r.chat || []) addChat(m);
  for (const u of r.uploads || []) addFile(u);
  setNotes(r.notes, r.notes_omitted);
  const track = (r.track || []).slice();
  track.forEach(stamp);
  if (track.length) s.map.set(track);
  mediaState(a.card.mode === 'report' ? null : () => t('Waiting for the citizen\'s media…'));
  renderCard();
  renderMapText();
  renderWho();
}

const END_LABEL = { specialist: N_('Leave the case'), monitor: N_('Stop monitoring'), barged: N_('Leave the case') };
const ROLE_NOTE = { monitor: N_('Monitoring: you see and hear everyone; nobody hears you.'),
                    barged: N_('You have barged in: everyone sees and hears you.'),
                    specialist: N_('You were asked to help on this case.') };

// Only the holder ends, invites and blocks; the others on a case leave it.
function roleControls() {
  const role = s.active.role;
  const party = role !== 'holder';
  $('end-form').querySelector('label').hidden = party;
  $('invite-form').hidden = party;
  // A specialist who took a case over holds it, but blocking is for call-takers and
  // supervisors: the form would only be refused.
  $('block-form').hidden = party || s.role === 'specialist';
  put($('end-btn'), () => t(END_LABEL[role] || N_('End case')));
  $('barge-btn').hidden = role !== 'monitor';
  $('handback-btn').hidden = !(role === 'holder' && s.active.handBackTo);
  const to = s.active.handBackTo;
  if (to) put($('handback-btn'), () => t('Hand back to {name}', { name: to }));
  put($('role-note'), () => (ROLE_NOTE[role] ? t(ROLE_NOTE[role]) : ''));
}

// The roles of the others on a case (docs/protocol.md, "parties"), as sent in English.
const PARTY = { specialist: N_('specialist'), monitor: N_('monitor'), barged: N_('barged') };
const CALLER = { language: N_('Language'), name: N_('Name') };

function renderCard() {
  const a = s.active;
  if (!a) return;
  renderQuick();
  const c = a.card;
  const h = c.history || {};
  const rows = [
    [t('Phone'), c.phone + (c.phone_verified ? t(' (verified)') : t(' (not verified)'))],
    [t('Mode'), modeName(c.mode)],
    [t('State'), a.ended ? t('ended') : stateName(c.state)],
    [t('Citizen'), c.citizen_connected === false ? t('connection lost') : t('connected')],
    [t('Earlier cases'), t('{n} (ended {ended}, abandoned {abandoned})',
                           { n: h.earlier_cases || 0, ended: h.ended || 0, abandoned: h.abandoned || 0 })],
    [t('Flags'), flagsText(c) || t('none')],
    [t('Callback'), c.callback_allowed ? t('allowed') : t('not allowed')],
  ];
  // The dispatch system's word of each unit sent (docs/protocol.md, "unit").
  if (c.units && c.units.length) rows.push([t('Units'), c.units.map(unitText).join('; ')]);
  const parties = (c.parties || []).map((p) => `${p.account} (${PARTY[p.role] ? t(PARTY[p.role]) : p.role}` +
                                                `${p.connected === false ? t(', away') : ''})`);
  if (c.held_by || parties.length) {
    const holder = c.held_by ? `${c.held_by} (${t('holder')})` : '';
    rows.push([t('On the case'), [holder, ...parties].filter(Boolean).join(', ')]);
  }
  // The caller's own fields (the page's language, a name): those known here named in
  // the console's language, any other by its key.
  if (c.caller) {
    for (const [k, v] of Object.entries(c.caller)) {
      // the caller's own field names: "constructor" is not one of ours
      rows.push([Object.hasOwn(CALLER, k) ? t(CALLER[k]) : (k ? k[0].toUpperCase() + k.slice(1) : t('(unnamed)')),
                 k === 'language' ? languageName(v) : String(v)]);
    }
  }
  // renderCard runs every second for the clock below: the rows are rebuilt only when
  // they change, so a call-taker's selection (a phone number to copy) stays put.
  const recent = recentItems(c);
  const key = JSON.stringify([c.case_id, rows, recent]);
  if (key !== a.cardKey) {
    a.cardKey = key;
    $('card').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
    $('recent').replaceChildren(...recent.map(([meta, note, bad]) =>
      el('li', bad ? { class: 'flag' } : {}, el('span', { class: 'meta' }, meta),
         note ? el('span', { class: 'note' }, note) : '')));
  }
  renderHandover(c);
  // The live region is written only when its words change; the clock ticks beside it
  // (a screen reader would otherwise read the state out every second over the chat).
  setText($('case-state'), a.ended ? a.endedText() : t('Handling: {state}.', { state: stateName(c.state) }));
  setText($('case-clock'), a.ended ? '' : t('Open {t}.', { t: fmtDur((Date.now() - c.created_at) / 1000) }));
}

const UNIT = { dispatched: N_('sent'), en_route: N_('on the way'), on_scene: N_('there'), cleared: N_('done') };
function unitText(u) {
  const st = UNIT[u.status] ? t(UNIT[u.status]) : u.status;
  const eta = u.status === 'en_route' && u.eta_s !== undefined
    ? ' ' + t('(about {n} min at {time})', { n: Math.max(1, Math.ceil(u.eta_s / 60)), time: fmtTime(u.at) }) : '';
  return `${u.unit}: ${st}${eta}`;
}

// An outcome (`disposition`) in words: the end form's own list names those it offers.
function outcomeName(d) {
  const o = [...$('disposition').options].find((x) => x.value === d);
  return o ? o.textContent : d;
}

// The caller's latest earlier cases (card.history.recent): when, the mode, how it
// ended, who held it, and its last note, so the call-taker sees at once that this
// number was sent a unit an hour ago, or blocked for pranks last week. A prank or a
// false alarm is marked.
function recentItems(c) {
  return ((c.history || {}).recent || []).map((x) => {
    const how = x.disposition ? outcomeName(x.disposition) : stateName(x.state);
    const notes = x.notes ? t('notes: {n}', { n: x.notes }) : '';
    const meta = [when(x.created_at), modeName(x.mode), how, x.held_by, notes].filter(Boolean).join(' · ');
    return [meta, x.note || '', x.disposition === 'prank' || x.disposition === 'false_alarm'];
  });
}

// The language of the caller's page (a BCP 47 tag, "zh-CN"), in words (the console's
// language) and as sent: a visitor's page is in English, and the call-taker writes back in it.
function languageName(tag) {
  try {
    const name = new Intl.DisplayNames([langTag()], { type: 'language' }).of(String(tag));
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
  const show = (id, text) => setText($(id), text);
  if (!f) { show('map-pos', t('No location from the caller.')); show('map-more', ''); return; }
  const age = f.localAt ? t('{t} ago', { t: fmtDur((Date.now() - f.localAt) / 1000) }) : '';
  const extra = [Number.isFinite(f.speed) ? t('{v} m/s', { v: f.speed.toFixed(1) }) : '',
                 Number.isFinite(f.heading) ? t('heading {deg}°', { deg: Math.round(f.heading) }) : '']
    .filter(Boolean).join(', ');
  const n = s.map.fixes.length;
  show('map-pos', `${f.lat.toFixed(6)}, ${f.lon.toFixed(6)} ${t('±{m} m', { m: Math.round(f.accuracy) })}`);
  show('map-more', `${age ? ', ' + age : ''}${extra ? ', ' + extra : ''}` +
                  (n === 1 ? t('; track of {n} fix.', { n }) : t('; track of {n} fixes.', { n })));
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
  const who = () => (m.from === 'citizen' ? t('Citizen') : (m.sender || t('You')));
  const at = fmtTime(m.at || Date.now());
  const receipt = mine ? el('span', { class: 'receipt' }) : null;
  const li = el('li', { class: mine ? 'mine' : 'theirs', 'data-seq': m.seq ?? '' },
                put(el('span', { class: 'meta' }), () => `${who()} · ${at}`),
                el('span', { class: 'text' }, m.text), receipt);
  if (receipt) setReceipt(receipt, m.read ? 'read' : m.delivered ? 'delivered' : '');
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
// caller answers with one tap of their page's Yes / No is sent without typing. A
// caller whose page is in Chinese (the card's caller.language) is asked with the
// Chinese set ([console] quick_messages_zh): the question reaches them in the
// language their page speaks, whatever the console's.
function renderQuick() {
  const c = s.active && s.active.card;
  const lang = String((c && c.caller && c.caller.language) || '').toLowerCase().split('-')[0];
  // caller.language is the caller's own text: only a language the centre has a set
  // for counts ("constructor" is not one)
  const sets = s.quickLang || {};
  const own = Object.hasOwn(sets, lang) && Array.isArray(sets[lang]) ? sets[lang] : null;
  const list = own && own.length ? own : (s.quick || []);
  const key = JSON.stringify(list);
  if (key === s.quickKey) return;
  s.quickKey = key;
  $('quick').replaceChildren(...list.map((text) => {
    const b = el('button', { type: 'button', class: 'quick' }, text);
    b.addEventListener('click', () => sendChat(text));
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
    addChat({ from: 'call_taker', seq: r.seq, at: Date.now(), text }); // no sender: "You"
    return;
  }
  if (s.active !== a) { banner(() => t('Message not sent: {why}', { why: why(r) })); return; }
  const notSent = () => (r.code === 'timeout' ? t('maybe not sent (no answer)') : t('not sent: {why}', { why: why(r) }));
  const again = put(el('button', { type: 'button', class: 'send-again' }), () => t('Send again'));
  const li = el('li', { class: 'mine unsent' }, put(el('span', { class: 'meta' }), () => `${t('You')} · ${notSent()}`),
                el('span', { class: 'text' }, text), ' ', again);
  again.addEventListener('click', () => { again.disabled = true; sendChat(text, li); });
  if (unsent) unsent.replaceWith(li); else appendFollowing($('chat'), li);
}

// Staff fetch a file with their session token; the page shows it from a blob URL.
async function addFile(u) {
  const a = s.active;
  if (!a || a.files.has(u.upload_id)) return;
  const li = el('li', { 'data-upload': u.upload_id },
                el('span', { class: 'file-meta' }, `${u.name} · ${u.type} · ${Math.round(u.size / 1024)} KB · ` +
                   `sha256 ${String(u.sha256 || '').slice(0, 12)}…`)); // a file's facts, as the record has them
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
      : put(el('img', { src: url }), () => t('Photo from the citizen: {name}', { name: u.name }), 'alt');
    li.prepend(el('a', { href: url, target: '_blank', rel: 'noopener' }, media));
  } catch (e) {
    li.append(put(el('span', { class: 'error' }), () => t(' (could not load: {e})', { e: e.message })));
  }
}

// words: a function giving the text (in the console's language when it is called).
function caseEnded(words) {
  const a = s.active;
  if (!a) return;
  a.ended = true;
  a.endedText = words;
  // After the end only its holder and supervisors may still add a note.
  $('note-form').hidden = a.role !== 'holder' && s.role !== 'supervisor';
  closeMedia();
  put($('end-btn'), () => t('Close'));
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
      if (r.type !== 'ended' && r.code !== 'not_found') {
        banner(() => t('Outcome not recorded: {why}', { why: why(r) }));
        return;
      }
      a.outcomeGiven = true;
    }
    closeCase();
    return;
  }
  if (a.role !== 'holder') {
    const r = await gw.request('leave', { case_id: a.card.case_id });
    // state: no longer on it (taken off while this console was away): gone all the same
    if (r.type === 'left' || r.code === 'not_found' || r.code === 'state') closeCase();
    else banner(() => t('Could not leave: {why}', { why: why(r) }));
    return;
  }
  const r = await gw.request('end', { case_id: a.card.case_id, disposition: $('disposition').value });
  if (r.type === 'ended' || r.code === 'not_found') closeCase();
  else banner(() => t('Could not end: {why}', { why: why(r) }));
}

async function block() {
  const a = s.active;
  if (!a) return;
  // The reason is read by supervisors, in the centre's language like one typed here.
  const reason = $('block-reason').value.trim() || t('blocked from the console');
  const r = await gw.request('block', { phone: a.card.phone, reason, expires_in_s: Number($('block-days').value) * 86400 });
  put($('block-result'), () => (r.type === 'blocked'
    ? t('Blocked {phone} until {when}.', { phone: r.phone, when: new Date(r.expires_at).toLocaleString() })
    : t('Not blocked: {why}', { why: why(r) })));
}

// ---- notes -----------------------------------------------------------------------
// The staff's own record of a case (docs/protocol.md, "Notes"): the address the caller
// gave, the unit sent. Never sent to the caller; kept with the case, recorded, and
// shown with it when the same number calls again. Its holder may still add one once
// the caller has hung up (the case waits here for its outcome).

function addNote(n) {
  const at = fmtTime(n.at || Date.now());
  const li = el('li', {}, put(el('span', { class: 'meta' }), () => `${n.by === s.name ? t('You') : n.by} · ${at}`),
                el('span', { class: 'text' }, n.text));
  appendFollowing($('notes'), li);
}

// omitted: how many older notes the gateway left out of a very long case's message.
function setNotes(list, omitted = 0) {
  $('notes').replaceChildren();
  if (omitted > 0) {
    $('notes').append(put(el('li', { class: 'meta' }),
                          () => t('{n} earlier notes are not shown here (kept in the case record).', { n: omitted })));
  }
  for (const n of list || []) addNote(n);
}

// A note not kept goes back into the box (unless something else was typed meanwhile),
// with the reason beside it: nothing written down is lost to a dropped connection.
async function addNoteNow() {
  const a = s.active;
  const box = $('note-text');
  const text = typedText(box.value).trim();
  if (!a || !text) return;
  if (textBytes(text) > TEXT_MAX) {
    put($('note-result'), () => t('Too long for one note: split it in two.'));
    return;
  }
  box.value = '';
  const r = await gw.request('note', { case_id: a.card.case_id, text });
  if (s.active !== a) {
    // another case is open now: the text goes into the banner, not lost
    const id = a.card.case_id;
    if (r.type !== 'note_added') banner(() => t('Note on {id} maybe not kept ({why}): {text}', { id, why: why(r), text }));
    return;
  }
  if (r.type === 'note_added') {
    put($('note-result'), () => '');
    addNote(r.note);
    return;
  }
  if (!box.value) box.value = text;
  // No answer: it may have been kept all the same (the list shows it once the
  // connection is back); sent again blindly it would be in the record twice.
  const unsure = r.code === 'timeout' || r.code === 'disconnected';
  put($('note-result'), () => (unsure ? t('Maybe not kept (no answer): check the notes above before adding it again.')
    : t('Note not kept: {why}', { why: why(r) })));
}

// ---- video links ---------------------------------------------------------------
// A caller on the ordinary phone line is sent a link (by the centre's SMS gateway, if
// the gateway has one; else copied into a message by hand); the alarm they start
// from it rings at this console first.

async function sendLink() {
  const phone = $('link-phone').value.trim();
  if (!phone) return;
  const r = await gw.request('link_create', { phone, mode: $('link-mode').value, base: location.origin + '/citizen/' });
  if (r.type !== 'link_created') {
    put($('link-result'), () => t('No link: {why}', { why: why(r) }));
    $('link-url-row').hidden = true;
    return;
  }
  s.link = { token: r.token, phone: r.phone, until: new Date(r.expires_at), sms: r.sms };
  $('link-url').value = r.url;
  $('link-url-row').hidden = false;
  $('link-phone').value = '';
  renderLink();
}

function renderLink() {
  const l = s.link;
  if (!l) return;
  const until = l.until.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
  const words = { sending: N_('Texting it to {phone}…'), sent: N_('Texted to {phone}.'),
                  failed: N_('The text to {phone} failed: copy the link into a message.'),
                  none: N_('Copy the link into a message to {phone}.') };
  put($('link-result'), () => `${t(words[l.sms], { phone: l.phone })} ${t('Good until {when}, once.', { when: until })}`);
}

function onLinkSms(m) {
  if (!s.link || s.link.token !== m.token) return;
  s.link.sms = m.sent ? 'sent' : 'failed';
  renderLink();
}

$('link-form').addEventListener('submit', (e) => { e.preventDefault(); sendLink(); });
$('link-copy').addEventListener('click', async () => {
  $('link-url').select();
  try { await navigator.clipboard.writeText($('link-url').value); } catch { document.execCommand('copy'); }
});

// ---- finding cases (supervisors) -------------------------------------------------
// By number and days (this console's), the latest first (docs/protocol.md,
// case_search); one opens read-only under the list (case_get): how it ended, its
// notes, its chat.

async function findCases() {
  const phone = $('find-phone').value.trim();
  const from = $('find-from').value;
  const to = $('find-to').value;
  const q = { limit: 100 };
  if (phone) q.phone = phone;
  if (from) q.from = new Date(from + 'T00:00').getTime();
  if (to) { // to that day's end: the next midnight, whatever the day's length
    const end = new Date(to + 'T00:00');
    end.setDate(end.getDate() + 1);
    q.to = end.getTime();
  }
  const seq = s.findSeq = (s.findSeq || 0) + 1;
  s.foundCase = null; // what was open belonged to the last search
  $('found-case').hidden = true;
  const r = await gw.request('case_search', q);
  if (seq !== s.findSeq) return; // a later search, or a sign-out, came meanwhile
  if (r.type !== 'cases_found') {
    put($('find-result'), () => t('Not searched: {why}', { why: why(r) }));
    return;
  }
  s.found = r.cases;
  const n = r.cases.length;
  put($('find-result'), () => (n === 0 ? t('No case found.')
    : r.more ? t('The latest {n} cases: narrow the search for older ones.', { n })
      : n === 1 ? t('1 case.') : t('{n} cases.', { n })));
  renderFound();
}

function foundItem(x) {
  const how = x.disposition ? outcomeName(x.disposition) : stateName(x.state);
  const open = el('button', { type: 'button' }, x.case_id);
  open.addEventListener('click', () => showFound(x.case_id));
  return el('li', {}, open, [fmtDay(x.created_at), modeName(x.mode), x.phone, how, x.held_by].filter(Boolean).join(' · '));
}

function renderFound() {
  if (s.found) $('found').replaceChildren(...s.found.map(foundItem));
  if (s.foundCase) drawFound(s.foundCase);
}

async function showFound(id) {
  const seq = s.findSeq;
  const open = s.openSeq = (s.openSeq || 0) + 1;
  const r = await gw.request('case_get', { case_id: id });
  if (seq !== s.findSeq || open !== s.openSeq) return; // another opened, searched or signed out since
  if (r.type !== 'case') {
    put($('find-result'), () => t('{id} not read: {why}', { id, why: why(r) }));
    return;
  }
  s.foundCase = r;
  drawFound(r);
  $('found-title').focus(); // a screen reader reads the case that opened
  $('found-case').scrollIntoView({ block: 'nearest' });
}

// How a case ended (end_reason), as the gateway says it; one not listed as sent.
const END_REASON = { ended_by_staff: N_('ended by staff'), citizen_hung_up: N_('the caller hung up'),
                     abandoned: N_('the caller left before an answer') };
const endReason = (x) => (END_REASON[x] ? t(END_REASON[x]) : x);

function drawFound(r) {
  const c = r.case;
  $('found-case').hidden = false;
  $('found-title').textContent = t('{mode} alarm {id}', { mode: modeName(c.mode), id: c.case_id });
  const rows = [
    [t('Phone'), c.phone],
    [t('Raised'), fmtDay(c.created_at)],
    [t('State'), stateName(c.state)],
    [t('Outcome'), c.disposition ? outcomeName(c.disposition) : t('none given')],
    [t('Ended by'), c.ended_by ? `${c.ended_by === 'citizen' ? t('Citizen') : c.ended_by} (${endReason(c.end_reason)})` : ''],
    [t('Held by'), c.held_by || ''],
    [t('Location'), c.location ? `${c.location.lat.toFixed(6)}, ${c.location.lon.toFixed(6)} ±${Math.round(c.location.accuracy)} m` : t('none')],
  ].filter(([, v]) => v);
  $('found-card').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v)]));
  $('found-notes').replaceChildren(...(r.notes || []).map((n) => el('li', {}, `${fmtTime(n.at)} ${n.by}: ${n.text}`)));
  $('found-chat').replaceChildren(...(r.chat || []).map((m) =>
    el('li', {}, `${fmtTime(m.at)} ${m.from === 'citizen' ? t('Citizen') : m.sender}: ${m.text}`)));
}

// ---- recordings (supervisors and evidence accounts) ----------------------------
// Listed on request only: every listing is an audit log entry. A file is downloaded
// in the gateway's chunks (evidence_get), one file at a time (the gateway audits a
// download once, while its chunks follow each other), and saved as it is, for
// vigil-verify. A legal hold keeps a recording past its retention (docs/evidence.md).

async function loadRecordings() {
  const r = await gw.request('evidence_list');
  if (r.type !== 'evidence_list') {
    put($('rec-result'), () => t('Not listed: {why}', { why: why(r) }));
    return;
  }
  s.recordings = r.recordings.sort((a, b) => (b.started_us || 0) - (a.started_us || 0));
  const n = s.recordings.length;
  put($('rec-result'), () => (n === 1 ? t('1 recording.') : t('{n} recordings.', { n })));
  renderRecordings(true);
}

function recordingRow(x, kept) {
  const when = x.started_us ? `${fmtDay(x.started_us / 1000)} – ${x.stopped_us ? fmtTime(x.stopped_us / 1000) : '…'}` : '—';
  const done = x.recording ? t('being recorded') : x.complete ? t('yes') : t('NO (vigil-verify says why)');
  const reason = el('input', { type: 'text', maxlength: 500, placeholder: x.held ? t('reason to lift') : t('order or case number'),
                               'aria-label': x.held ? t('Reason to lift the hold on {id}', { id: x.case_id })
                                 : t('Reason to hold {id}', { id: x.case_id }) });
  reason.value = (kept && kept.reason) || '';
  const note = el('span', { class: 'small', role: 'status' });
  if (kept && kept.said) put(note, kept.said);
  const act = el('button', { type: 'button', class: 'hold', onclick: () => hold(x.case_id, reason, note, act),
                             'aria-label': x.held ? t('Lift the hold on {id}', { id: x.case_id }) : t('Hold {id}', { id: x.case_id }) },
                 x.held ? t('Lift') : t('Hold'));
  const cell = el('td', {}, x.held ? t('held (audit log line {n})', { n: x.held }) + ' ' : '', reason, ' ', act, note);
  const names = x.recording ? [] : ['manifest.json', 'manifest.sig', ...(x.files || []).map((f) => f.path)];
  const files = el('td', {}, names.length
    ? el('details', { open: !!(kept && kept.open) }, el('summary', {}, t('{n} files', { n: names.length })),
         el('ul', {}, ...names.map((n) => el('li', {}, el('button', {
           type: 'button', class: 'link', 'data-path': n, onclick: () => download(x.case_id, n),
           'aria-label': t('Download {file} of {id}', { file: n, id: x.case_id }) }, n)))))
    : '—');
  return el('tr', { 'data-case': x.case_id }, el('td', {}, x.case_id), el('td', {}, when), el('td', {}, done), cell, files);
}

async function hold(caseId, reason, note, act) {
  if (!reason.value.trim()) { put(note, () => t(' Give a reason first.')); reason.focus(); return; }
  const x = (s.recordings || []).find((r) => r.case_id === caseId);
  if (!x) return;
  act.disabled = true; // one request: a double click would place it twice
  const place = !x.held;
  const r = await gw.request('evidence_hold', { case_id: caseId, hold: place, reason: reason.value.trim() });
  act.disabled = false;
  if (r.type !== 'evidence_hold') { put(note, () => ` ${why(r)}`); return; }
  const now = (s.recordings || []).find((y) => y.case_id === caseId); // the list may have been loaded again
  if (now) now.held = r.held ? r.line : undefined;
  reason.value = '';
  put(note, () => ''); // done: what it asked before is said no more
  put($('rec-result'), () => (place ? t('Hold placed on {id}.', { id: caseId }) : t('Hold lifted on {id}.', { id: caseId })));
  renderRecordings(true);
  const b = $('rec').querySelector(`tr[data-case="${CSS.escape(caseId)}"] button.hold`);
  if (b) b.focus();
}

function fmtDay(ms) {
  return new Date(ms).toLocaleString(langTag(), { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

// again: drawn anew (a language switch, a hold, a new list) keeping what each row had:
// a reason being typed, its files open, what it said.
function renderRecordings(again = false) {
  if (!s.recordings) return;
  const kept = new Map(again ? [...$('rec').tBodies[0].rows].map((tr) => [tr.dataset.case, {
    reason: tr.querySelector('input').value, open: !!tr.querySelector('details[open]'),
    said: tr.querySelector('[role=status]').words?.text }]) : []);
  $('rec').hidden = !s.recordings.length;
  $('rec').tBodies[0].replaceChildren(...s.recordings.map((x) => recordingRow(x, kept.get(x.case_id))));
  markDownloading();
}

function markDownloading() {
  for (const b of $('rec').querySelectorAll('button.link')) b.disabled = !!s.downloading;
}

async function download(caseId, path) {
  if (s.downloading) return; // one at a time (the buttons say so: disabled)
  s.downloading = `${caseId}/${path}`;
  markDownloading();
  const parts = [];
  let off = 0;
  try {
    for (;;) {
      const r = await gw.request('evidence_get', { case_id: caseId, path, offset: off }, 20000);
      if (r.type !== 'evidence_data') {
        put($('rec-result'), () => t('{file} not downloaded: {why}', { file: path, why: why(r) }));
        return;
      }
      const bytes = Uint8Array.from(atob(r.data), (ch) => ch.charCodeAt(0));
      parts.push(bytes);
      off += bytes.length;
      const pct = r.size ? Math.floor((100 * off) / r.size) : 100;
      put($('rec-result'), () => t('Downloading {file}: {pct}%', { file: path, pct }));
      if (r.eof || !bytes.length) break;
    }
    const a = el('a', { href: URL.createObjectURL(new Blob(parts)), download: `${caseId}-${path.replace('/', '-')}` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    put($('rec-result'), () => t('{file} downloaded ({n} bytes).', { file: path, n: off }));
  } catch (e) {
    put($('rec-result'), () => t('{file} not downloaded: {why}', { file: path, why: String(e) }));
  } finally {
    s.downloading = null;
    markDownloading();
  }
}

$('rec-load').addEventListener('click', loadRecordings);
$('find-form').addEventListener('submit', (e) => { e.preventDefault(); findCases(); });

// ---- media -------------------------------------------------------------------

const MEDIA_WORDS = { connecting: N_('Connecting media…'), connected: N_('Media connected.'),
                      disconnected: N_('Media interrupted…'), failed: N_('Media failed.') };

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
      const st = pc.connectionState;
      if (MEDIA_WORDS[st]) mediaState(() => t(MEDIA_WORDS[st]));
    };
    await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
    if (!s.local) {
      s.local = await navigator.mediaDevices.getUserMedia({ audio: true, video: true }).catch(() => null);
      if (s.local) $('self-video').srcObject = s.local;
    }
    if (s.local) {
      for (const track of s.local.getTracks()) {
        const tr = pc.getTransceivers().find((x) => x.receiver.track.kind === track.kind && !x.sender.track);
        if (tr) { await tr.sender.replaceTrack(track); tr.direction = 'sendrecv'; }
      }
    }
  } else {
    await s.pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
  }
  await s.pc.setLocalDescription(await s.pc.createAnswer());
  const r = await gw.request('media_answer', { case_id: m.case_id, sdp: s.pc.localDescription.sdp });
  if (r.type !== 'media_answer_ok') mediaState(() => t('Media refused: {why}', { why: why(r) }));
}

// Other staff on the case (a specialist, the holder seen by a specialist, a
// supervisor who barged) come on extra legs, one tile each.
const extra = new ExtraLegs(gw, (peer, track) => {
  let tile = $('peers').querySelector(`[data-peer="${CSS.escape(peer)}"]`);
  if (!tile) {
    const v = put(el('video', { autoplay: true, playsinline: true }),
                  () => t('Picture of {name}', { name: peer }), 'aria-label');
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
  const alertsFor = (id) => s.alerts.filter((x) => x.case_id === id)
    .map((x) => (ALERT_KIND[x.kind] ? t(ALERT_KIND[x.kind]) : x.kind.replace('_', ' ')));
  const waitOf = (c) => fmtDur(c.state === 'queued' || c.state === 'offered' ? waited(c, s.boardAt) : c.waiting_s || 0);
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
      ? el('button', { type: 'button', class: 'monitor', onclick: () => monitor(c.case_id) }, t('Monitor')) : null;
    const held = c.held_by ? c.held_by + (c.holder_connected === false ? t(' (console lost)') : '') : '—';
    return el('tr', { class: c.escalated ? 'escalated' : '', 'data-case': c.case_id },
              el('td', {}, c.case_id), el('td', {}, modeName(c.mode)), el('td', {}, stateName(c.state)),
              el('td', {}, wait), el('td', {}, held), el('td', {}, flags || '—'), el('td', {}, act));
  }));
  if (!s.board.length) $('board').tBodies[0].append(el('tr', {}, el('td', { colspan: 7 }, t('No live case.'))));
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
  s.blocks = r.blocks;
  renderBlocks();
}

// again: rebuilt in the console's language (after a switch), keeping a reason being typed
// and what an unblock said ("Not lifted: …"), said again in the new language.
function renderBlocks(again = false) {
  const typed = new Map(again ? [...$('blocks').children].map((li) => [li.dataset.phone, li.querySelector('input').value])
    : []);
  const said = new Map(again ? [...$('blocks').children].map((li) => [li.dataset.phone, li.querySelector('[role=status]').words?.text])
    : []);
  $('blocks-count').textContent = `(${s.blocks.length})`;
  $('blocks').replaceChildren(...s.blocks.map((b) => {
    const reason = el('input', { type: 'text', maxlength: 200, placeholder: t('reason to unblock'),
                                 'aria-label': t('Reason to unblock {phone}', { phone: b.phone }) });
    reason.value = typed.get(b.phone) || '';
    const note = el('span', { class: 'small', role: 'status' });
    if (said.get(b.phone)) put(note, said.get(b.phone));
    const go = el('button', { type: 'button', onclick: async () => {
      if (!reason.value.trim()) { put(note, () => t(' Give a reason first.')); reason.focus(); return; }
      const u = await gw.request('unblock', { phone: b.phone, reason: reason.value.trim() });
      if (u.type === 'unblocked' || u.code === 'not_found') loadBlocks();
      else put(note, () => t(' Not lifted: {why}', { why: why(u) }));
    } }, t('Unblock'));
    const what = t('{reason} · by {by}, {at}; until {until}',
                   { reason: b.reason, by: b.by, at: fmtTime(b.at), until: new Date(b.expires_at).toLocaleDateString() });
    return el('li', { 'data-phone': b.phone }, el('strong', {}, b.phone), ` · ${what} `, reason, ' ', go, note);
  }));
}

// A supervisor listens in (nobody hears them), and may then barge in.
async function monitor(caseId) {
  const r = await gw.request('monitor', { case_id: caseId });
  if (r.type === 'monitoring') openCase(Object.assign({}, r, { role: 'monitor' }));
  else banner(() => t('Could not monitor: {why}', { why: why(r) }));
}

async function barge() {
  const a = s.active;
  if (!a) return;
  const r = await gw.request('barge', { case_id: a.card.case_id });
  if (r.type !== 'barged') { banner(() => t('Could not barge in: {why}', { why: why(r) })); return; }
  a.role = 'barged';
  roleControls();
}

// An alert's kind (docs/protocol.md, "Alerts"), as the list and the board name it.
const ALERT = { unanswered: N_('Unanswered'), repeat_caller: N_('Repeat caller'), key_person: N_('Key person'),
                key_place: N_('Key place'), blocked_caller: N_('Blocked caller'), escalated: N_('Escalated'),
                holder_lost: N_('Call-taker lost'), outside_area: N_('Outside the area'),
                alarm_refused: N_('Alarm refused'), recording_error: N_('Recording error') };
// The board's shorter words for them (the English is the kind with a space for "_").
const ALERT_KIND = { unanswered: N_('unanswered'), repeat_caller: N_('repeat caller'), key_person: N_('key person'),
                     key_place: N_('key place'), blocked_caller: N_('blocked caller'), escalated: N_('escalated'),
                     holder_lost: N_('holder lost'), outside_area: N_('outside area'),
                     alarm_refused: N_('alarm refused'), recording_error: N_('recording error') };

// What an alert's detail says, by what it carries.
function alertDetail(d) {
  const at = Number.isFinite(d.lat) ? `${d.lat.toFixed(5)}, ${d.lon.toFixed(5)}` : '';
  if (d.reason) {
    const refused = d.reason === 'outside_service_area' ? t('outside the service area: told to call 110')
      : d.reason === 'blocked' ? t('blocked caller (by {by}: {reason})', { by: d.blocked_by, reason: d.block_reason })
        : d.reason;
    return refused + (at ? t(' at {place}', { place: at }) : '');
  }
  if (at) return t('first location {place}', { place: at });
  if (d.was_held_by) {
    return t("{name}'s console gone {n} s; ", { name: d.was_held_by, n: d.gone_s }) +
      (d.taken_over_by ? t('{name} on the call holds it', { name: d.taken_over_by }) : t('back in the queue'));
  }
  if (d.waiting_s) return t('waiting {n} s', { n: d.waiting_s });
  if (d.place) return t('at {place}', { place: d.place });
  if (d.alarms_in_window) return t('{n} alarms in {min} min', { n: d.alarms_in_window, min: d.window_min });
  if (d.error) return String(d.error); // the evidence writer's own words
  return '';
}

function alertItem(m) {
  const detail = alertDetail(m.detail || {});
  // A server alert stays open for every supervisor until one marks it seen.
  const seen = m.alert_id && s.role === 'supervisor'
    ? el('button', { type: 'button', class: 'seen', onclick: () => ackAlert(m.alert_id) }, t('Seen')) : null;
  return el('li', { class: 'alert kind-' + m.kind, 'data-alert': m.alert_id || '' },
    el('strong', {}, ALERT[m.kind] ? t(ALERT[m.kind]) : m.kind),
    ` · ${m.mode ? modeName(m.mode) : ''} ${m.phone || ''} · ${m.case_id || ''}` +
    `${detail ? ' · ' + detail : ''} · ${fmtTime(m.at || Date.now())}`, seen ? ' ' : '', seen);
}

// An alert on the list; `replayed`: one still open from before this sign-in (no sound).
function addAlert(m, replayed) {
  if (m.alert_id && s.alerts.some((x) => x.alert_id === m.alert_id)) return;
  s.alerts.unshift(m);
  m.at ||= Date.now(); // its time stays when the list is rebuilt (a language switch)
  $('alerts').prepend(alertItem(m));
  if (!replayed) alertChime();
  updateTitle();
  renderBoard();
}

async function ackAlert(id) {
  const r = await gw.request('alert_ack', { alert_id: id });
  if (r.type === 'alert_acked' || r.code === 'not_found') dropAlert(id); // not_found: another was first
  else banner(() => t('Could not mark the alert seen: {why}', { why: why(r) }));
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
for (const type of ['taken', 'closed']) gw.on(type, (m) => { s.queue.delete(m.case_id); renderQueue(); });
gw.on('link_sms', onLinkSms);

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
function inviteResult(words) { put($('invite-result'), words); }
gw.on('invite_accepted', (m) => {
  $('invite-cancel').hidden = true;
  inviteResult(() => t('{name} accepted and joins the case.', { name: m.by }));
});
const DECLINED = { declined: N_('{name} declined; you still hold the case.'),
                   timeout: N_('{name} did not answer in time; you still hold the case.'),
                   unavailable: N_('{name} nobody is free; you still hold the case.'),
                   other: N_('{name} {why}; you still hold the case.') };
gw.on('invite_declined', (m) => {
  $('invite-cancel').hidden = true;
  const said = Object.hasOwn(DECLINED, m.reason) ? m.reason : 'other';
  inviteResult(() => t(DECLINED[said], { name: m.target, why: m.reason }));
});
gw.on('transferred', (m) => {
  if (!s.active || s.active.card.case_id !== m.case_id) return;
  if (m.from === s.name) caseEnded(() => t('Handed over to {name}; you are free for the next case.', { name: m.to }));
  else if (m.to === s.name && m.kind === 'holder_lost') {
    // The holder's console went and did not come back: the one still on the call keeps it.
    Object.assign(s.active, { role: 'holder', handBackTo: null });
    roleControls();
    inviteResult(() => t("{name}'s console was lost; you hold the case now.", { name: m.from }));
  } else if (m.to === s.name) {
    // The one before may be asked to take it back (hand_back).
    Object.assign(s.active, { role: 'holder', handBackTo: m.from });
    roleControls();
    inviteResult(() => t('{name} handed the case over to you; you hold it now.', { name: m.from }));
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
    const b = el('button', { type: 'button', 'data-handover': p.account }, t('Hand over to {name}', { name: p.account }));
    b.addEventListener('click', async () => {
      const r = await gw.request('transfer', { case_id: c.case_id, to: p.account });
      if (r.type !== 'transfer_ok') inviteResult(() => t('Not handed over: {why}', { why: why(r) }));
    });
    return el('li', {}, b);
  }));
  $('handover').hidden = people.length === 0;
}

async function handBack() {
  const a = s.active;
  if (!a) return;
  const r = await gw.request('hand_back', { case_id: a.card.case_id });
  const to = a.handBackTo;
  inviteResult(() => (r.type === 'invite_sent'
    ? t('Asking {name} to take the case back…', { name: to }) : t('Not handed back: {why}', { why: why(r) })));
}

function renderInvites() {
  $('invites').replaceChildren(...[...s.invites.values()].map((iv) => {
    const join = el('button', { type: 'button', class: 'primary' }, iv.transfer ? t('Take over') : t('Join'));
    const no = el('button', { type: 'button' }, t('Decline'));
    join.addEventListener('click', async () => {
      s.invites.delete(iv.invite_id);
      renderInvites();
      const r = await gw.request('invite_accept', { invite_id: iv.invite_id });
      if (r.type === 'joined') openCase(Object.assign(r, iv.transfer && r.role === 'holder' ? { handBackTo: iv.from } : {}));
      else banner(() => t('Could not join: {why}', { why: why(r) }));
    });
    no.addEventListener('click', () => {
      s.invites.delete(iv.invite_id);
      renderInvites();
      gw.request('invite_decline', { invite_id: iv.invite_id });
    });
    return el('li', { 'data-invite': iv.invite_id },
              el('strong', {}, iv.transfer ? t('{name} asks for a transfer', { name: iv.from })
                : t('{name} asks for help', { name: iv.from })),
              ` · ${modeName(iv.case.mode)} ${iv.case.phone} · ${t('running {t}', { t: fmtDur(iv.running_s || 0) })} `,
              join, ' ', no);
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
  inviteResult(() => (r.type === 'invite_sent'
    ? t('Ringing {names}…', { names: (r.rung || []).join(', ') || who }) : t('Not sent: {why}', { why: why(r) })));
  $('invite-cancel').hidden = r.type !== 'invite_sent';
}

async function cancelInvite() {
  const a = s.active;
  if (!a) return;
  const r = await gw.request('invite_cancel', { case_id: a.card.case_id });
  $('invite-cancel').hidden = true;
  inviteResult(() => (r.type === 'invite_cancelled' || r.code === 'not_found'
    ? t('Stopped ringing; you still hold the case.') : t('Not stopped: {why}', { why: why(r) })));
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
  caseEnded(() => t("The call-taker's console was lost: the case is back in the queue."));
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
  mediaState(() => (m.connected ? t('The citizen is back.')
    : t("The citizen's connection dropped; their case stays open.")));
  renderCard();
});
gw.on('chat', (m) => {
  addChat(m);
  if (m.from === 'citizen') showDraft({ case_id: m.case_id, text: '' }); // sent: no longer a draft
});
// What the citizen is typing, before they send it (real-time text): a silent caller
// cut off mid-sentence has still said something. Shown under the chat, not spoken
// (a screen reader would read every keystroke), gone once it is sent or cleared.
function showDraft(m) {
  const a = s.active;
  if (!a || m.case_id !== a.card.case_id) return;
  a.draft = m.text || '';
  const d = $('draft');
  d.hidden = !a.draft;
  put(d, () => (a.draft ? t('Citizen is typing: {text}', { text: a.draft }) : ''));
}
gw.on('chat_draft', showDraft);
// A receipt never goes back: "read" stays read when a reloaded phone page sends
// "delivered" again for old messages.
function showReceipt(seq, status) {
  const r = $('chat').querySelector(`li.mine[data-seq="${seq}"] .receipt`);
  if (!r || (status === 'delivered' && r.status === 'read')) return;
  if (status === 'read' || status === 'delivered') setReceipt(r, status);
}

const RECEIPT = { read: N_(' · read'), delivered: N_(' · delivered') };
function setReceipt(r, status) {
  if (r.status === status) return; // written only when it changes (setText)
  r.status = status;
  put(r, () => (RECEIPT[status] ? t(RECEIPT[status]) : ''));
}
gw.on('chat_receipt', (m) => showReceipt(m.seq, m.status));
gw.on('unit', (m) => {
  const a = s.active;
  if (!a || a.card.case_id !== m.case_id) return;
  const units = (a.card.units || []).filter((u) => u.unit !== m.unit.unit);
  a.card.units = [...units, m.unit];
  renderCard();
});
gw.on('note', (m) => { if (s.active && s.active.card.case_id === m.case_id) addNote(m.note); });
gw.on('ended', (m) => {
  s.queue.delete(m.case_id);
  if (s.active && s.active.card.case_id === m.case_id && !s.active.ended) {
    s.active.endedBy = m.by;
    caseEnded(() => (m.by === 'citizen' ? t('The citizen hung up. Choose the outcome and close.')
      : t('Ended by {name}.', { name: m.by })));
  }
  renderQueue();
});
gw.on('upload', (m) => { if (s.active && s.active.card.case_id === m.case_id) addFile(m.upload); });
gw.on('media_offer', (m) => {
  if (!s.active || s.active.card.case_id !== m.case_id) return;
  const p = m.peer ? extra.offer(m) : onMediaOffer(m);
  p.catch((e) => mediaState(() => t('Media error: {e}', { e: e.message })));
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
  if (m.state === 'failed') mediaState(() => t('Media failed: {e}', { e: m.detail || '' }));
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
  forgetAccount();
  closeCase();
  s.queue.clear();
  stopRing();
  $('login').hidden = false;
  $('desk').hidden = true;
  $('top-actions').hidden = true;
  const fallback = m.reason === 'revoked'
    ? N_('An administrator ended this session (account disabled or password reset). Sign in again if you may.')
    : N_('Signed out.');
  put($('login-error'), () => serverText(m.message, fallback) || m.message);
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

// What one account read must not show to the next who signs in at this console: the
// recordings it listed (audited as its own) and the cases it found.
function forgetAccount() {
  s.recordings = null;
  $('rec').tBodies[0].replaceChildren();
  $('rec').hidden = true;
  put($('rec-result'), () => '');
  s.found = null;
  s.foundCase = null;
  s.findSeq = (s.findSeq || 0) + 1; // a search still on its way is dropped
  $('found').replaceChildren();
  $('found-case').hidden = true;
  put($('find-result'), () => '');
}

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
    forgetAccount();
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
    if (!back) caseEnded(() => t('While this console was offline you were taken off the case.'));
    return;
  }
  if (c && c.state === 'answered' && c.held_by === s.name) {
    // Held by this account, but not given back here: another console of the same
    // account took it up (one console holds one case).
    if (!back) caseEnded(() => t('This case is open on another console of yours.'));
    return;
  }
  if (c && c.state === 'ended' && c.held_by === s.name && c.end_reason === 'citizen_hung_up' && !c.disposition) {
    a.endedBy = 'citizen';
    caseEnded(() => t('The citizen hung up while this console was offline. Choose the outcome and close.'));
  } else if (c && (c.state === 'ended' || c.state === 'abandoned')) {
    caseEnded(() => t('The case was closed while this console was offline.'));
  } else if (c && !c.held_by) {
    caseEnded(() => t('While this console was offline the case went back to the queue.'));
  } else {
    caseEnded(() => t('While this console was offline the case was handed on to someone else.'));
  }
}

// The gateway offers a fresh media leg after resume; the old one is dead.
gw.onclose = () => {
  closeMedia();
  if (s.active && !s.active.ended) mediaState(() => t('Connection lost: reconnecting…'));
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
  put($('ring-btn'), () => (s.ring ? t('Ring: on') : t('Ring: off')));
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
  const text = typedText($('chat-text').value).trim();
  if (textBytes(text) > TEXT_MAX) { // kept in the box, to shorten or send in parts
    banner(() => t('Too long for one message: shorten it or send it in parts.'));
    return;
  }
  if (text) { $('chat-text').value = ''; sendChat(text); }
});
$('note-form').addEventListener('submit', (e) => { e.preventDefault(); addNoteNow(); });
$('note-text').addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); addNoteNow(); }
});
$('end-form').addEventListener('submit', (e) => { e.preventDefault(); endCase(); });
$('block-form').addEventListener('submit', (e) => { e.preventDefault(); block(); });
$('handback-btn').addEventListener('click', handBack);
$('invite-form').addEventListener('submit', (e) => { e.preventDefault(); invite(); });
$('invite-cancel').addEventListener('click', cancelInvite);
$('barge-btn').addEventListener('click', barge);

// The language switch: the page's fixed words (applyStatic), what the script wrote once
// (relabel), the lists, the board and the card built again. The call goes on as it
// was: its connection, media elements and chat are not touched.
function switched() {
  switchLang();
  relabel();
  updateTitle();
  s.queueKey = null;
  $('queue').replaceChildren();
  renderInvites(); // and the queue
  renderCallbacks(true);
  renderOwed();
  if (s.blocks) renderBlocks(true);
  renderRecordings(true);
  renderFound();
  $('alerts').replaceChildren(...s.alerts.map(alertItem));
  s.boardKey = null;
  renderBoard();
  if (s.map) s.map.relabel();
  if (s.active) {
    s.handoverKey = null;
    renderCard();
    renderMapText();
  }
}
$('lang-switch').addEventListener('click', switched);
applyStatic();

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
