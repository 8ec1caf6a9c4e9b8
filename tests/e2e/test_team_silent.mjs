// A silent alarm with a specialist: ann answers, asks bob to join; both hear the
// citizen, and the citizen's page plays nothing: no <audio>, no unmuted <video>
// and no inbound audio packet on any of its connections.
import { check, citizen, login, mediaStats, run, sleep, until } from './harness.mjs';

run('e2e_team_silent', { accounts: [['ann', 'call_taker'], ['bob', 'specialist']] }, async (v, browser) => {
  const ann = await login(browser, v, 'ann');
  const bob = await login(browser, v, 'bob');
  const cit = await citizen(browser, v, [30.6, 114.5, 15], '+86 138 0000 5012');
  await cit.click('button.choice.silent');
  await ann.waitForSelector('#queue button.answer', { timeout: 5000 });
  await ann.click('#queue button.answer');
  await until(async () => (await mediaStats(ann)).audioPackets > 50, 10000);
  await ann.fill('#invite-who', 'bob');
  await ann.click('#invite-form button[type=submit]');
  await bob.waitForSelector('#invites button.primary', { timeout: 5000 });
  await bob.click('#invites button.primary');
  await until(async () => (await mediaStats(bob)).audioPackets > 50, 10000);
  const a = { ann: await mediaStats(ann), bob: await mediaStats(bob) };
  await sleep(2000);
  const b = { ann: await mediaStats(ann), bob: await mediaStats(bob) };
  check(b.ann.audioPackets - a.ann.audioPackets > 50 && b.bob.audioPackets - a.bob.audioPackets > 50,
        `ann and bob hear the citizen: +${b.ann.audioPackets - a.ann.audioPackets} and +${b.bob.audioPackets - a.bob.audioPackets} audio packets in 2 s`);
  const cs = await mediaStats(cit);
  const dom = await cit.evaluate(() => ({ audio: document.querySelectorAll('audio').length,
                                          loud: [...document.querySelectorAll('video')].filter((x) => !x.muted).length }));
  check(cs.audioPackets === 0 && dom.audio === 0 && dom.loud === 0,
        `the citizen page plays nothing: ${cs.audioPackets} inbound audio packets on ${cs.pcs} connection(s), ${dom.audio} <audio>, ${dom.loud} unmuted <video>`);
});
