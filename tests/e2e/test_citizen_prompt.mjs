// A citizen who does not answer the camera and microphone prompt (frozen, or the
// phone already in a pocket): the alarm reaches the call-taker anyway, with the
// words typed before it was confirmed; once the prompt is answered the media
// joins the case. Before, the page waited for the prompt and no alarm went out.
// A phone number the gateway would refuse is caught on the page first.
import { check, citizen, login, mediaStats, run, sleep, until } from './harness.mjs';

const chatHas = (page, text) => page.waitForFunction(
  (t) => [...document.querySelectorAll('#chat li')].some((li) => li.textContent.includes(t)), text,
  { timeout: 5000 }).then(() => true, () => false);

run('e2e_citizen_prompt', { accounts: [['ann', 'call_taker']] }, async (v, browser) => {
  const con = await login(browser, v, 'ann');
  const cit = await citizen(browser, v, [30.59, 114.3, 15], '+86 138 0000 5301', 'prompt');
  // A number the gateway would refuse is put right on the page, before any alarm
  // (it used to fail the alarm with "phone must be a phone number").
  for (const [bad, says] of [['138 0000 5301 ext 12', 'digits only'], ['+86 138 0000 5301 5301', '3 to 15 digits']]) {
    await cit.fill('#phone', bad);
    await cit.click('button.choice.video');
    const err = await cit.evaluate(() => !document.querySelector('#phone-error').hidden &&
                                   document.querySelector('#phone-error').textContent);
    const st = await cit.evaluate(() => window.vigilCitizen.state());
    check(err && err.includes(says) && st === 'idle', `"${bad}": the page says "${err}" and raises no alarm (${st})`);
  }
  await cit.fill('#phone', '+86 138 0000 5301');
  // The prompt held open: getUserMedia answers only when the test says so.
  await cit.evaluate(() => {
    const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
    window.__prompt = { asked: 0, answer: null };
    navigator.mediaDevices.getUserMedia = (want) => new Promise((resolve, reject) => {
      window.__prompt.asked++;
      window.__prompt.answer = () => real(want).then(resolve, reject);
    });
  });
  const t0 = Date.now();
  await cit.click('button.choice.video');
  // Typed at once, before the gateway has confirmed the alarm.
  await cit.fill('#chat-text', 'cannot talk, in the car park');
  await cit.press('#chat-text', 'Enter');
  const early = await cit.evaluate(() => window.vigilCitizen.caseId());
  const rang = await con.waitForSelector('#queue button.answer', { timeout: 10000 }).then(() => true, () => false);
  const asked = await cit.evaluate(() => window.__prompt.asked);
  check(rang && asked > 0, `with the prompt unanswered the alarm rings the call-taker after ${Date.now() - t0} ms ` +
        `(the page asked for the camera ${asked} time(s))`);
  check(!early, 'the message was typed before the alarm was confirmed');
  await con.click('#queue button.answer');
  await con.waitForSelector('#case:not([hidden])', { timeout: 5000 });
  check(await chatHas(con, 'cannot talk, in the car park'),
        'the words typed before the confirmation reach the call-taker');
  const before = await mediaStats(con);
  check(before.framesDecoded === 0, `no picture while the prompt is open (${before.framesDecoded} frames)`);
  await sleep(500);
  await cit.evaluate(() => window.__prompt.answer());
  const seen = await until(async () => (await mediaStats(con)).framesDecoded > 20, 15000);
  const after = await mediaStats(con);
  check(seen, `once the prompt is answered the call-taker sees the citizen (${after.framesDecoded} frames, ` +
        `${after.audioPackets} audio packets)`);
  const left = await cit.evaluate(() => document.querySelector('#media-state').textContent);
  check(!/Allow the camera/.test(left), `the page no longer asks for the camera ("${left}")`);
  check(!cit.errors.length && !con.errors.length,
        `no script errors (${cit.errors.concat(con.errors).join('; ')})`);
});
