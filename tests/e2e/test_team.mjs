// Teamwork seen from the pages: the call-taker on a video alarm asks a specialist
// for help from the console; the specialist's console rings with the invitation
// and joins with one click; the specialist sees and hears the citizen (main leg),
// the call-taker and the citizen each see the specialist on an extra leg, and the
// call-taker's own picture of the citizen never stops. The specialist leaves and
// the extra pictures go away.
import { check, citizen, login, mediaStats, run, shot, sleep, until } from './harness.mjs';

// "Moving" is at least 3 frames a second: the senders' frame rate sags during a
// call (the media layer negotiates transport-cc but sends no feedback; see the
// sendRate line of e2e_video), so these checks ask that no picture stops.
const MOVING = 6;
// A new leg's first frames shown (offer, ICE, DTLS, a keyframe, the page drawing
// them) take about a second on an idle machine, but were measured at 9-11 s on one
// short of CPU: wait up to this long for them (a leg that never comes still fails).
const NEW_LEG_MS = 20000;

// Frames a page's <video> elements matching sel showed over ms (playback quality).
async function shown(page, sel, ms = 2000) {
  const count = () => page.$$eval(sel, (vs) => vs.reduce((n, v) => n + (v.getVideoPlaybackQuality().totalVideoFrames || 0), 0));
  const a = await count();
  await sleep(ms);
  return (await count()) - a;
}

run('e2e_team', { accounts: [['ann', 'call_taker'], ['bob', 'specialist'], ['sue', 'supervisor']] }, async (v, browser) => {
  const ann = await login(browser, v, 'ann');
  const bob = await login(browser, v, 'bob');
  const cit = await citizen(browser, v, [30.6, 114.5, 15], '+86 138 0000 5007');
  await cit.click('button.choice.video');
  await ann.waitForSelector('#queue button.answer', { timeout: 5000 });
  await ann.click('#queue button.answer');
  await until(async () => (await mediaStats(ann)).framesDecoded > 20, 10000);

  // Rung by mistake: the call-taker stops the ringing, and bob's console lets it go.
  await ann.fill('#invite-who', 'bob');
  await ann.click('#invite-form button[type=submit]');
  await until(() => bob.textContent('#invites').then((x) => /ann asks for help/.test(x)), 5000);
  const ringsBob = await bob.evaluate(() => [document.title, document.getElementById('ring-state').textContent]);
  check(/Asked to help/.test(ringsBob[0]) && /Ringing/.test(ringsBob[1]),
        `an invitation rings on the specialist's console and shows in its tab: ${JSON.stringify(ringsBob)}`);
  await ann.click('#invite-cancel');
  const stopped = await until(() => bob.isHidden('#invites-box'), 5000);
  const said = await ann.textContent('#invite-result');
  check(stopped && /Stopped ringing/.test(said), `"Stop ringing them" takes it off bob's console ("${said}")`);

  let t = Date.now();
  await ann.fill('#invite-who', 'bob');
  await ann.click('#invite-form button[type=submit]');
  const rung = await until(() => bob.textContent('#invites').then((x) => /ann asks for help/.test(x) && x), 5000);
  check(rung, `the specialist's console rings with the invitation in ${Date.now() - t} ms: "${rung}"`);
  await bob.click('#invites button.primary');
  const joined = await bob.waitForSelector('#case:not([hidden])', { timeout: 5000 }).then(() => true, () => false);
  check(joined, 'one click joins the case');
  const bobSees = await until(async () => (await shown(bob, '#remote-video', 1000)) > 5, NEW_LEG_MS);
  const bobFrames = await shown(bob, '#remote-video');
  check(bobSees && bobFrames >= MOVING, `the specialist sees the citizen: ${bobFrames} frames shown in 2 s`);
  const annTile = await until(() => ann.isVisible('#peers figure[data-peer="bob"] video'), NEW_LEG_MS);
  await until(async () => (await shown(ann, '#peers video', 500)) > 0, NEW_LEG_MS);
  const annPeer = await shown(ann, '#peers video');
  check(annTile && annPeer >= MOVING, `the call-taker sees the specialist on an extra leg: ${annPeer} frames in 2 s`);
  const annMain = await shown(ann, '#remote-video');
  check(annMain >= MOVING, `and still sees the citizen on the main leg: ${annMain} frames in 2 s`);
  await until(async () => (await shown(cit, 'video.peer', 500)) > 0, NEW_LEG_MS);
  const citPeer = await shown(cit, 'video.peer');
  const citMain = await shown(cit, 'video.remote');
  check(citPeer >= MOVING && citMain >= MOVING,
        `the citizen sees the specialist (${citPeer} frames in 2 s) and the call-taker (${citMain} frames)`);
  const card = await ann.textContent('#card');
  check(/On the caseann \(holder\), bob \(specialist\)/.test(card), `the caller card lists who is on the case`);
  await shot(ann, 'console-team', true);
  await shot(cit, 'citizen-video-team');

  t = Date.now();
  await bob.click('#end-btn');
  check(await until(() => bob.isHidden('#case'), 5000), `the specialist leaves the case (button "Leave the case")`);
  const gone = await until(async () => (await ann.$$('#peers figure')).length === 0 &&
                                       (await cit.$$('video.peer')).length === 0, 8000);
  check(gone, `the extra pictures go away at the console and the phone in ${Date.now() - t} ms`);
  const still = await shown(ann, '#remote-video');
  check(still >= MOVING, `the call-taker's picture of the citizen carries on (${still} frames in 2 s)`);

  // A supervisor monitors the call from the board (nobody hears her), then barges in.
  const sue = await login(browser, v, 'sue');
  const caseId = await cit.evaluate(() => window.vigilCitizen.caseId());
  await sue.waitForSelector(`#board tr[data-case="${caseId}"] button.monitor`, { timeout: 5000 });
  t = Date.now();
  await sue.click(`#board tr[data-case="${caseId}"] button.monitor`);
  await until(async () => (await shown(sue, '#remote-video', 500)) > 0, NEW_LEG_MS);
  const sueSees = await shown(sue, '#remote-video');
  const note = await sue.textContent('#role-note');
  check(sueSees >= MOVING, `the supervisor monitors from the board: sees the citizen ${Date.now() - t} ms later ` +
                           `(${sueSees} frames in 2 s); "${note}"`);
  const heard = await until(async () => (await shown(sue, '#peers video', 500)) > 0, NEW_LEG_MS);
  check(heard, 'and the call-taker on an extra leg');
  const citTiles = await cit.$$eval('video.peer', (l) => l.length);
  check(citTiles === 0, `the citizen sees no one new while she only monitors (${citTiles} extra pictures)`);
  t = Date.now();
  await sue.click('#barge-btn');
  const barged = await until(async () => (await cit.$$('video.peer')).length === 1 && (await shown(cit, 'video.peer', 500)) > 0, NEW_LEG_MS);
  check(barged, `after "Barge in" the citizen sees the supervisor too, in ${Date.now() - t} ms`);
  const sueStill = await shown(sue, '#remote-video');
  check(sueStill >= MOVING, `and the supervisor still sees the citizen on her new leg (${sueStill} frames in 2 s)`);
  await sue.click('#end-btn');
  check(await until(() => sue.isHidden('#case'), 5000), 'the supervisor leaves the case');
  check(![ann, bob, cit, sue].some((p) => p.errors.length),
        `no script errors (${[ann, bob, cit, sue].flatMap((p) => p.errors).join('; ')})`);
});
