// A Vigil protocol client in the browser, for media tests: ?role=citizen&mode=video
// raises an alarm and sends the fake camera and microphone; ?role=console&name=..&pw=..
// logs in, claims the first case offered and answers the gateway's media offer.
// window.vgStats() returns what this browser itself decoded (getStats).
'use strict';
const q = new URLSearchParams(location.search);
const role = q.get('role');
const statusEl = document.getElementById('status');
const state = { caseId: null, pc: null, errors: [], messages: [] };
let nextId = 1;

function status(text) { statusEl.textContent = text; }

const ws = new WebSocket('wss://' + location.host + '/ws', 'vigil.v1');
function send(msg) { ws.send(JSON.stringify(msg)); }
function request(type, fields) { send(Object.assign({ type, id: 'p' + nextId++ }, fields)); }

function newPc() {
  const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
  pc.onicecandidate = (e) => {
    const line = e.candidate ? e.candidate.candidate : '';
    const msg = { type: 'ice', candidate: line };
    if (role === 'console') msg.case_id = state.caseId;
    send(msg);
  };
  pc.ontrack = (e) => {
    const el = e.track.kind === 'video' ? document.getElementById('remote')
                                        : document.getElementById('remote-audio');
    // Playwright mutes audio output; an <audio> element still makes Chromium decode
    // and count samples (TESTING.md).
    el.srcObject = e.streams[0] || new MediaStream([e.track]);
  };
  pc.onconnectionstatechange = () => status('pc ' + pc.connectionState);
  return pc;
}

async function startCitizen() {
  const mode = q.get('mode') || 'video';
  request('alarm_start', { mode, phone: q.get('phone') || '+8613800002001',
                           location: { lat: 30.6, lon: 114.5, accuracy: 12 } });
  const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: mode !== 'voice' });
  const pc = state.pc = newPc();
  media.getTracks().forEach((t) => pc.addTrack(t, media));
  await pc.setLocalDescription(await pc.createOffer());
  send({ type: 'media_offer', sdp: pc.localDescription.sdp });
}

async function onMessage(m) {
  state.messages.push(m.type);
  if (m.type === 'alarm_started') state.caseId = m.case_id;
  else if (m.type === 'login') request('set_status', { status: 'available' });
  else if (m.type === 'offer' && role === 'console' && !state.caseId) {
    state.caseId = m.case.case_id;
    request('claim', { case_id: state.caseId });
  } else if (m.type === 'media_answer') {
    await state.pc.setRemoteDescription({ type: 'answer', sdp: m.sdp });
  } else if (m.type === 'media_offer') {
    const pc = state.pc = state.pc || newPc();
    await pc.setRemoteDescription({ type: 'offer', sdp: m.sdp });
    const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: true });
    media.getTracks().forEach((t) => pc.addTrack(t, media));
    await pc.setLocalDescription(await pc.createAnswer());
    send({ type: 'media_answer', case_id: m.case_id, sdp: pc.localDescription.sdp });
  } else if (m.type === 'ice' && state.pc) {
    if (m.candidate) await state.pc.addIceCandidate({ candidate: m.candidate, sdpMLineIndex: 0 });
  } else if (m.type === 'error') {
    state.errors.push(m.code + ': ' + m.message);
  }
}

ws.onopen = () => {
  status('connected');
  if (role === 'citizen') startCitizen().catch((e) => state.errors.push(String(e)));
  else request('login', { name: q.get('name'), password: q.get('pw') });
};
ws.onmessage = (ev) => onMessage(JSON.parse(ev.data)).catch((e) => state.errors.push(String(e)));
ws.onerror = () => state.errors.push('websocket error');

window.vgStats = async () => {
  const out = { framesDecoded: 0, framesSent: 0, audioSamples: 0, packetsReceived: 0,
                connection: state.pc ? state.pc.connectionState : 'none',
                caseId: state.caseId, errors: state.errors, messages: state.messages };
  if (!state.pc) return out;
  const stats = await state.pc.getStats();
  stats.forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') {
      out.framesDecoded += s.framesDecoded || 0;
      out.packetsReceived += s.packetsReceived || 0;
    }
    if (s.type === 'inbound-rtp' && s.kind === 'audio') out.audioSamples += s.totalSamplesReceived || 0;
    if (s.type === 'outbound-rtp' && s.kind === 'video') out.framesSent += s.framesSent || 0;
  });
  return out;
};
