// Transfers seen from the pages. ann answers a video alarm; cy is asked and
// declines (ann is told at once), then asked again and never answers (ann is told
// after [team] invite_timeout_s); the citizen page sees nothing of either. bob is
// asked to join, joins, and ann hands over with one click: ann is free, bob holds
// the case and the citizen's picture and sound keep arriving at bob, while the
// citizen's main connection is the same object, never re-negotiated. bob then
// hands back; ann accepts and holds the case again, then hands it to cy blind.
// Then cy's console goes off the network for longer than [queue] holder_grace_s:
// the case goes back to the queue, the citizen is told they are put through again,
// ann answers it with the picture back, and cy's console, back online, says so.
import { check, citizen, login, mediaStats, run, shot, sleep, until } from './harness.mjs';

const TIMEOUT_S = 5; // the smallest the config accepts
const GRACE_S = 2;

// The citizen page's connections and its main one's state; a mark set on the main
// RTCPeerConnection object proves later that it is still the same object.
const citState = (cit) => cit.evaluate(() => {
  const pc = window.__pcs[0];
  if (!pc.__vgMark) pc.__vgMark = Math.random();
  return { pcs: window.__pcs.length, mark: pc.__vgMark, ice: pc.iceConnectionState,
           sig: pc.signalingState, sdp: pc.currentRemoteDescription && pc.currentRemoteDescription.sdp.length,
           text: document.body.innerText };
});

// Video frames decoded and audio packets received, per open connection of a page.
const perPc = (page) => page.evaluate(async () => Promise.all(window.__pcs.filter((pc) => pc.signalingState !== 'closed').map(async (pc) => {
  const o = { v: 0, a: 0 };
  (await pc.getStats()).forEach((s) => {
    if (s.type === 'inbound-rtp' && s.kind === 'video') o.v += s.framesDecoded || 0;
    if (s.type === 'inbound-rtp' && s.kind === 'audio') o.a += s.packetsReceived || 0;
  });
  return o;
})));

async function ask(ann, who, what = 'join') {
  await ann.fill('#invite-who', who);
  await ann.check(what === 'join' ? '#invite-join' : '#invite-transfer');
  await ann.click('#invite-form button[type=submit]');
}

run('e2e_transfer', {
  config: `[team]\ninvite_timeout_s = ${TIMEOUT_S}\n[queue]\nholder_grace_s = ${GRACE_S}\n`,
  accounts: [['ann', 'call_taker'], ['bob', 'specialist'], ['cy', 'specialist']],
}, async (v, browser) => {
  const ann = await login(browser, v, 'ann');
  const bob = await login(browser, v, 'bob');
  const cy = await login(browser, v, 'cy');
  const cit = await citizen(browser, v, [30.6, 114.5, 15], '+86 138 0000 5011');
  await cit.click('button.choice.video');
  await ann.waitForSelector('#queue button.answer', { timeout: 5000 });
  await ann.click('#queue button.answer');
  await until(async () => (await mediaStats(ann)).framesDecoded > 20, 10000);
  await ann.fill('#chat-text', 'help is on the way');
  await ann.press('#chat-text', 'Enter');
  await sleep(300);
  const before = await citState(cit);

  // Decline: told at once.
  await ask(ann, 'cy');
  await cy.waitForSelector('#invites button', { timeout: 5000 });
  let t = Date.now();
  await cy.click('#invites button:not(.primary)');
  const declined = await until(() => ann.textContent('#invite-result').then((x) => /cy declined/.test(x) && x), 3000);
  check(declined, `ann is told of the decline in ${Date.now() - t} ms: "${declined}"`);

  // No answer: told after the timeout.
  t = Date.now();
  await ask(ann, 'cy');
  const timedOut = await until(() => ann.textContent('#invite-result').then((x) => /did not answer/.test(x) && x), (TIMEOUT_S + 4) * 1000);
  const waited = Date.now() - t;
  check(timedOut && waited >= TIMEOUT_S * 1000 - 200, `ann is told of no answer after ${waited} ms (timeout ${TIMEOUT_S} s): "${timedOut}"`);
  check(await until(() => cy.isHidden('#invites-box'), 2000), 'and cy\'s invitation goes away');
  const mid = await citState(cit);
  check(mid.pcs === before.pcs && mid.mark === before.mark && mid.text === before.text,
        `the citizen page saw nothing of either: ${mid.pcs} connection(s) before and after, same main object, same text`);

  // Attended transfer: bob joins, ann hands over.
  await ask(ann, 'bob');
  await bob.waitForSelector('#invites button.primary', { timeout: 5000 });
  await bob.click('#invites button.primary');
  await bob.waitForSelector('#case:not([hidden])', { timeout: 5000 });
  const btn = await until(() => ann.isVisible('button[data-handover="bob"]'), 5000);
  check(btn, 'ann\'s console offers "Hand over to bob" once bob is in the call');
  // Not redrawn by the card's 1 s clock: a slow click must not land on a detached button.
  await ann.$eval('button[data-handover="bob"]', (n) => { n.dataset.mark = '1'; });
  await shot(ann, 'console-transfer', true);
  await until(async () => (await mediaStats(bob)).framesDecoded > 10, 10000);
  await sleep(1500);
  // Three-way media on every side, per connection (main leg first, then extra legs).
  const a1 = { ann: await perPc(ann), bob: await perPc(bob), cit: await perPc(cit) };
  await sleep(2000);
  const a2 = { ann: await perPc(ann), bob: await perPc(bob), cit: await perPc(cit) };
  const gain = (who) => a2[who].map((x, i) => ({ v: x.v - ((a1[who][i] || {}).v || 0), a: x.a - ((a1[who][i] || {}).a || 0) }));
  const g = { ann: gain('ann'), bob: gain('bob'), cit: gain('cit') };
  console.log(`# per connection in 2 s (video frames / audio packets): ${JSON.stringify(g)}`);
  const has = (arr, f) => arr.some(f);
  check(g.bob.length >= 2 && g.bob[0].v >= 6 && g.bob[0].a >= 50 && has(g.bob.slice(1), (x) => x.a >= 50),
        'bob receives the citizen\'s video and audio (main leg) and ann\'s audio (extra leg)');
  check(has(g.cit.slice(1), (x) => x.a >= 50), 'the citizen receives bob\'s audio on an extra leg');
  check(has(g.ann.slice(1), (x) => x.a >= 50 && x.v >= 6), 'ann receives bob\'s audio and video on an extra leg');
  check(await ann.$('button[data-handover="bob"][data-mark="1"]'),
        'the hand-over button is the same element 3.5 s later (not rebuilt every second)');
  t = Date.now();
  await ann.click('button[data-handover="bob"]');
  const free = await until(() => ann.isHidden('#case').then((h) => h || ann.textContent('#case-state').then((x) => /Handed over to bob/.test(x))), 5000);
  check(free, `ann's console is free again in ${Date.now() - t} ms`);
  const held = await until(() => bob.textContent('#card').then((x) => /bob \(holder\)/.test(x) && x), 5000);
  check(held, 'bob\'s card shows he holds the case');
  const s1 = await mediaStats(bob);
  await sleep(2000);
  const s2 = await mediaStats(bob);
  check(s2.framesDecoded - s1.framesDecoded >= 6 && s2.audioPackets - s1.audioPackets >= 50,
        `the citizen's picture and sound continue at bob: +${s2.framesDecoded - s1.framesDecoded} frames, +${s2.audioPackets - s1.audioPackets} audio packets in 2 s`);
  const after = await citState(cit);
  check(after.mark === before.mark && after.ice === before.ice && after.sdp === before.sdp,
        `the citizen's main RTCPeerConnection is the same object (mark kept), ICE ${before.ice} -> ${after.ice}, remote SDP ${before.sdp} -> ${after.sdp} chars`);
  check(/help is on the way/.test(await bob.textContent('#chat')), 'bob has the chat so far');

  // Hand back: bob asks ann to take it back; ann accepts.
  const hb = await until(() => bob.isVisible('#handback-btn'), 3000);
  check(hb, `bob sees "${hb && await bob.textContent('#handback-btn')}"`);
  await bob.click('#handback-btn');
  await ann.waitForSelector('#invites button.primary', { timeout: 5000 });
  await ann.click('#invites button.primary');
  const back = await until(() => ann.textContent('#card').then((x) => /ann \(holder\)/.test(x) && x), 5000);
  check(back, 'ann holds the case again');

  // Blind transfer: cy takes the case over without joining first.
  await ask(ann, 'cy', 'transfer');
  const offer = await until(() => cy.textContent('#invites').then((x) => /ann asks for a transfer/.test(x) && x), 5000);
  check(offer, `cy is offered the case: "${offer}"`);
  await cy.click('#invites button.primary');
  const cyHolds = await until(() => cy.textContent('#card').then((x) => /cy \(holder\)/.test(x) && x), 5000);
  check(cyHolds, 'cy holds the case after a blind transfer');
  check(/help is on the way/.test(await cy.textContent('#chat')), 'with the chat so far');
  const annFree = await until(() => ann.isHidden('#case').then((h) => h || ann.textContent('#case-state').then((x) => /Handed over to cy/.test(x))), 5000);
  check(annFree, 'and ann is free');

  // cy's console goes away past holder_grace_s: the case is requeued.
  await cy.evaluate((ms) => window.vigilConsole.away(ms), (GRACE_S + 3) * 1000);
  t = Date.now();
  const cut = await until(() => cit.textContent('body').then((x) => /cut off: putting you through to another/.test(x) && x), 10000);
  check(cut, `the citizen is told the call-taker was cut off ${Date.now() - t} ms after cy's console went`);
  await ann.waitForSelector('#queue button.answer', { timeout: 5000 });
  check(true, `ann's console rings with the case again ${Date.now() - t} ms after cy's went`);
  const annBefore = await mediaStats(ann);
  await ann.click('#queue button.answer');
  const again = await until(async () => {
    const s = await mediaStats(ann);
    return s.framesDecoded - annBefore.framesDecoded > 10 && s;
  }, 10000);
  check(again, `ann answers and the citizen's picture is back at her console in ${Date.now() - t} ms`);
  const connected = await until(() => cit.textContent('body').then((x) => /Connected to the police \(ann\)/.test(x) && x), 5000);
  check(connected && !/cut off/.test(connected), 'the citizen page says ann has it, and the note of the cut-off is gone');
  const told = await until(() => cy.textContent('#case-state').then((x) => /handed on to someone else/.test(x) && x), 10000);
  check(told, `cy's console, back online, says "${told}"`);
});
