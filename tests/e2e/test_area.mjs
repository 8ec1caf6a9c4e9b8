// The service area and escalation: a citizen outside the area sees the centre's
// message and "call 110"; an alarm nobody answers is escalated after the test
// config's short timer and shows on the supervisor board (and the citizen is
// told); the supervisor takes it and the board says who holds it.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { a11yProblems, check, citizen, login, run, shot, sleep, until } from './harness.mjs';

const area = join(tmpdir(), `vigil-e2e-area-${process.pid}.geojson`);
writeFileSync(area, JSON.stringify({ type: 'Feature', properties: { name: 'county' }, geometry: {
  type: 'Polygon', coordinates: [[[114.0, 30.0], [115.0, 30.0], [115.0, 31.0], [114.0, 31.0], [114.0, 30.0]]] } }));
process.on('exit', () => rmSync(area, { force: true })); // not left in the temp dir
const ESCALATE_S = 3;
// Tiles are optional; here they point back at vigild itself (no other host may be
// asked), to check the console lays them under the track when a tile_url is set.
const config = (port) => `[console]
tile_url = https://127.0.0.1:${port}/tiles/{z}/{x}/{y}.png
[queue]
escalate_after_s = ${ESCALATE_S}
escalation_message = Still waiting: please also call 110.
[service_area]
file = ${area}
message = Outside our county: call 110.
sms_number = 12110
`;

const rowText = (page, caseId) => page.evaluate((id) => {
  const r = document.querySelector(`#board tr[data-case="${id}"]`);
  return r ? r.textContent : '';
}, caseId);

run('e2e_area', { config, accounts: [['sue', 'supervisor']] }, async (v, browser) => {
  // Outside the area.
  const out = await citizen(browser, v, [39.9, 116.4, 10], '+86 138 0000 5004', 'outside');
  await shot(out, 'citizen-home');
  let bad = await a11yProblems(out);
  check(bad.length === 0, `the citizen's home screen: labels, names and target sizes (${bad.join(', ') || 'no problem'})`);
  await out.click('button.choice.report');
  bad = await a11yProblems(out);
  check(bad.length === 0, `the report form likewise (${bad.join(', ') || 'no problem'})`);
  await out.click('#report-cancel');
  await out.click('button.choice.video');
  const msg = await until(() => out.isVisible('#outside').then((vis) => vis && out.textContent('#outside-text')), 8000);
  check(msg === 'Outside our county: call 110.', `outside the area the citizen sees "${msg}"`);
  const call = await out.getAttribute('#outside a.call110', 'href');
  check(call === 'tel:110' && await out.isVisible('#outside a.call110'), `with a "Call 110" link (${call})`);
  const media = await out.evaluate(() => window.__pcs.length + document.querySelectorAll('video, audio').length);
  check(media === 0, `and no media left running (${media} peer connections or media elements)`);
  // And a text to the centre's SMS alarm number, after "Call 110", with the place
  // and the number written in.
  const sms = (page) => page.evaluate(() => {
    const a = document.querySelector('#outside-sms');
    const links = [...document.querySelectorAll('#outside a')].filter((x) => !x.hidden).map((x) => x.className);
    return { shown: !a.hidden && !!a.offsetHeight, href: a.getAttribute('href') || '', text: a.textContent, links };
  });
  let s = await sms(out);
  let body = decodeURIComponent(s.href.replace(/^sms:12110\?&body=/, ''));
  check(s.shown && /^sms:12110\?&body=/.test(s.href) && s.links.join() === 'call110,sms110' &&
        /I need the police/.test(body) && /39\.90000, 116\.40000/.test(body) && /\+86 138 0000 5004/.test(body),
        `outside the area it also offers "${s.text}", after "Call 110" (${s.links}), the text: ${JSON.stringify(body)}`);
  await shot(out, 'citizen-outside');
  // A silent caller cannot phone: the text comes first, and says so.
  await out.click('#outside button.back');
  await out.click('button.choice.silent');
  await until(() => out.isVisible('#outside'), 8000);
  s = await sms(out);
  body = decodeURIComponent(s.href.replace(/^sms:12110\?&body=/, ''));
  check(s.shown && s.links.join() === 'sms110,call110' && /Silent alarm: I cannot speak/.test(body),
        `a silent alarm outside the area is offered the text first (${s.links}): ${JSON.stringify(body)}`);
  await shot(out, 'citizen-outside-silent');
  await out.reload();
  const kept = await out.inputValue('#phone');
  check(kept === '+86 138 0000 5004', `the phone number is remembered on the device ("${kept}")`);
  await out.context().close();

  // Unanswered: escalated on the supervisor board.
  const sue = await login(browser, v, 'sue');
  check(await sue.isVisible('#board-box'), 'the supervisor sees the board');
  const cit = await citizen(browser, v, [30.55, 114.45, 25], '+86 138 0000 5005', 'waiting');
  const quiet = await citizen(browser, v, [30.56, 114.46, 25], '+86 138 0000 5006', 'waiting-silent');
  await quiet.click('button.choice.silent');
  // The queue's button for an alarm stays the same element while others arrive: one
  // rebuilt between the press and the release of a click loses the click.
  await sue.waitForSelector('#queue button.answer', { timeout: 5000 });
  await sue.$eval('#queue button.answer', (b) => { b.dataset.mark = '1'; });
  const t0 = Date.now();
  await cit.click('button.choice.voice');
  const caseId = await until(() => cit.evaluate(() => window.vigilCitizen.caseId()), 8000);
  const first = await until(() => rowText(sue, caseId), 3000);
  const two = await until(() => sue.$$eval('#queue button.answer', (l) => l.length === 2), 5000);
  const keptBtn = await sue.$('#queue button.answer[data-mark="1"]');
  check(two && keptBtn, `a new alarm in the queue leaves the other's button in place (${keptBtn ? 'same element' : 'rebuilt'})`);
  check(first && /waiting|ringing/.test(first), `the board lists the waiting case ${Date.now() - t0} ms after the tap: "${first}"`);
  const esc = await until(() => rowText(sue, caseId).then((t) => /ESCALATED/.test(t) && t), (ESCALATE_S + 5) * 1000);
  const escMs = Date.now() - t0;
  check(esc && escMs >= ESCALATE_S * 1000, `unanswered, it is escalated on the board after ${escMs} ms (timer ${ESCALATE_S} s): "${esc}"`);
  const alert = await until(() => sue.textContent('#alerts').then((t) => /Unanswered/.test(t) && t), 3000);
  check(alert, `the supervisor's alerts list it: "${alert}"`);
  // An alert stays open until a supervisor marks it seen: a reload (or a supervisor who
  // signs in later) lists it again, and the tab's title counts it.
  const openAlerts = () => sue.$$eval('#alerts li[data-alert]', (l) => l.filter((x) => x.dataset.alert).length);
  const before = await until(() => openAlerts().then((n) => n >= 1 && n), 3000);
  await sue.reload();
  const again = await until(() => openAlerts().then((n) => n === before && n), 8000);
  check(again === before, `after a reload the ${before} open alert(s) are listed again (${again})`);
  const title = await sue.title();
  check(new RegExp(`${before} alert`).test(title), `and the tab's title counts them: "${title}"`);
  await sue.click('#alerts button.seen');
  const left = await until(() => openAlerts().then((n) => n === before - 1 ? String(n) : false), 3000);
  check(left === String(before - 1), `"Seen" takes one off the list (${left} left)`);
  await sue.reload();
  const still = await until(() => openAlerts().then((n) => n === before - 1 ? String(n) : false), 8000);
  check(still === String(before - 1), `and it stays off after another reload (${still})`);
  const seen = await until(() => cit.evaluate(() => !document.getElementById('banner').hidden &&
                                                     document.getElementById('banner').textContent), 3000);
  check(seen === 'Still waiting: please also call 110.', `the citizen sees the escalation: "${seen}"`);
  // A silent alarm escalates too, but its page shows no banner (no role="alert" for a
  // screen reader to speak), only a discreet word on its state line.
  const quietState = await until(() => quiet.textContent('#state').then((t) => /still trying/.test(t) && t), 5000);
  const quietBanner = await quiet.evaluate(() => !document.getElementById('banner').hidden);
  check(quietState && !quietBanner, `a silent alarm's page is told discreetly: "${quietState}", banner ${quietBanner ? 'shown' : 'hidden'}`);
  await shot(sue, 'supervisor-board-escalated');
  bad = await a11yProblems(sue);
  check(bad.length === 0, `the supervisor's console likewise (${bad.join(', ') || 'no problem'})`);

  // The supervisor takes it: the board says who holds it.
  await sue.waitForSelector(`#queue button.answer[data-case="${caseId}"]`, { timeout: 5000 });
  // A double click answers once: no second claim's "Could not answer" over the case.
  await sue.dblclick(`#queue button.answer[data-case="${caseId}"]`);
  const held = await until(() => rowText(sue, caseId).then((t) => /sue/.test(t) && t), 5000);
  check(held, `the board shows who holds it: "${held}"`);
  await sleep(500);
  const warned = await sue.evaluate(() => { const b = document.getElementById('banner'); return b && !b.hidden ? b.textContent : ''; });
  check(!/Could not answer/.test(warned), `a double click on Answer claims once (banner: "${warned}")`);
  const tiles = await until(() => sue.$$eval('#map image', (l) => l.map((i) => i.getAttribute('href'))), 3000);
  check(tiles && tiles.length >= 2 && tiles.every((h) => /\/tiles\/19\/\d+\/\d+\.png$/.test(h)),
        `with [console] tile_url set, the map lays ${tiles && tiles.length} tiles under the track (${tiles && tiles[0]})`);
  const st = await until(() => cit.textContent('#state').then((t) => /Connected/.test(t) && t), 5000);
  check(st, `the citizen sees "${st}"`);
  await sue.click('#end-btn');
  const gone = await until(() => rowText(sue, caseId).then((t) => !t), 5000);
  check(gone, 'an ended case leaves the board');

  // The silent alarm's caller gives up waiting: the console lists them to call back.
  const quietId = await quiet.evaluate(() => window.vigilCitizen.caseId());
  await quiet.click('#hangup');
  const item = `#callbacks li[data-case="${quietId}"]`;
  const owed = await until(() => sue.$(item).then((e) => e && e.textContent()), 5000);
  check(owed && /\+8613800005006/.test(owed) && /Chat|Silent/i.test(owed),
        `the caller who hung up while waiting is in the call-back list: "${owed}"`);
  check(await sue.getAttribute(`${item} a`, 'href') === 'tel:+8613800005006', 'with their number as a tel: link');
  await shot(sue, 'console-callbacks');
  bad = await a11yProblems(sue);
  check(bad.length === 0, `the call-back list: labels, names and target sizes (${bad.join(', ') || 'no problem'})`);
  await sue.selectOption(`${item} select`, 'no_answer');
  await sue.click(`${item} button`);
  const done = await until(() => sue.$(item).then((e) => !e), 5000);
  check(done, 'Done takes them off the list');
  check(!cit.errors.length && !sue.errors.length && !quiet.errors.length,
        `no script errors (${[...cit.errors, ...sue.errors, ...quiet.errors].join('; ')})`);
});
