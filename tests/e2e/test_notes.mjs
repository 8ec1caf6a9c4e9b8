// Notes and the caller's earlier cases on the console: the call-taker writes down the
// address the caller says (Ctrl+Enter adds it), which never reaches the caller's
// page; the case ends with its outcome; when the same number raises an alarm again,
// the card lists the earlier case with its outcome and its last note, in the
// console's language. A supervisor finds both cases by the number and reads the
// first, its outcome and its notes, read-only. The dispatch system's word that a unit
// is on its way shows on the case and, as "help is on the way", on the caller's page.
import { a11yProblems, check, citizen, login, run, shot, until } from './harness.mjs';

const PHONE = '+86 138 0000 5701';
const POS = [30.6, 114.5];
const ADDRESS = 'Caller says: 12 Jiefang Rd, flat 3';
const KEY = 'cad-' + 'k'.repeat(40);

async function answer(ann, browser, v, name) {
  const cit = await citizen(browser, v, POS, PHONE, name);
  await cit.click('button.choice.voice');
  await ann.waitForSelector('#queue button.answer', { timeout: 8000 });
  await ann.click('#queue button.answer');
  await ann.waitForSelector('#case:not([hidden])', { timeout: 5000 });
  return cit;
}

run('e2e_notes', { config: `[dispatch]\napi_key = ${KEY}\n`,
                  accounts: [['ann', 'call_taker'], ['sue', 'supervisor']] }, async (v, browser) => {
  const ann = await login(browser, v, 'ann');
  const cit = await answer(ann, browser, v, 'first');
  check(await ann.isVisible('#note-text'), 'an open case has a box for notes');
  const recent0 = await ann.locator('#recent li').count();
  check(recent0 === 0, `a first alarm from a number lists no earlier case (${recent0})`);

  await ann.fill('#note-text', ADDRESS);
  await ann.press('#note-text', 'Control+Enter');
  const one = await until(() => ann.locator('#notes li').allTextContents().then((l) => l.length === 1 && l[0]), 5000);
  check(one && one.includes(ADDRESS) && /You/.test(one) && (await ann.inputValue('#note-text')) === '',
        `Ctrl+Enter adds the note, under "You" ("${one}"), and empties the box`);
  await ann.fill('#note-text', 'Unit 12 sent');
  await ann.click('#note-form button[type=submit]');
  const two = await until(() => ann.locator('#notes li').count().then((n) => n === 2), 5000);
  check(two, 'the button adds one too');
  const bad = await a11yProblems(ann);
  check(bad.length === 0, `the case with its notes: labels, names and sizes (${bad.join(', ') || 'no problem'})`);
  const seen = await cit.evaluate((a) => document.body.innerText.includes(a) ||
                                         document.body.innerText.includes('Unit 12'), ADDRESS);
  check(!seen, 'the caller\'s page never shows a note');

  // the dispatch system (here from the console's page, same origin): Patrol 12 is coming
  const id = (await ann.textContent('#case-title')).match(/c-[0-9a-f]{12}/)[0];
  const posted = await ann.evaluate(async ({ key, id }) => (await fetch('/api/dispatch/status', {
    method: 'POST', headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json' },
    body: JSON.stringify({ case_id: id, unit: 'Patrol 12', status: 'en_route', eta_s: 300 }) })).status, { key: KEY, id });
  const help = await until(() => cit.textContent('#help').then((x) => /on the way: about 5 min/.test(x) && x), 5000);
  const unit = await until(() => ann.textContent('#card').then((x) => /Patrol 12: on the way/.test(x) && x), 5000);
  check(posted === 200 && help && unit && !/Patrol/.test(help),
        `a unit on its way: the caller reads "${help}", the call-taker "${(unit || '').match(/Patrol 12[^;]*/)}"`);

  await ann.selectOption('#disposition', 'dispatched');
  await ann.click('#end-btn');
  await ann.waitForSelector('#case[hidden]', { state: 'attached', timeout: 5000 });
  await cit.context().close();

  const again = await answer(ann, browser, v, 'again');
  const item = await until(() => ann.locator('#recent li').allTextContents().then((l) => l.length === 1 && l[0]), 5000);
  check(item && /Unit dispatched/.test(item) && /ann/.test(item) && /notes: 2/.test(item) && item.includes('Unit 12 sent'),
        `the same number again: the card lists the earlier case, its outcome, who held it and its last note ("${item}")`);
  await shot(ann, 'console-notes', true);
  await ann.click('#lang-switch');
  const zh = await until(() => ann.locator('#recent li').allTextContents().then((l) => /已派警/.test(l[0] || '') && l[0]), 5000);
  check(zh, `in Chinese once the console is ("${zh}")`);
  await ann.click('#lang-switch');

  const sue = await login(browser, v, 'sue');
  check(await sue.isVisible('#find-box') && !(await ann.isVisible('#find-box')),
        'a supervisor can find cases; a call-taker has no such form');
  await sue.fill('#find-phone', PHONE);
  await sue.click('#find-form button[type=submit]');
  const found = await until(() => sue.locator('#found li').allTextContents().then((l) => l.length === 2 && l), 5000);
  check(found && /being handled/.test(found[0]) && /Unit dispatched/.test(found[1]),
        `both cases of the number, the latest first (${JSON.stringify(found)})`);
  await sue.locator('#found li button').nth(1).click();
  const card = await until(() => sue.textContent('#found-case').then((x) => /Unit 12 sent/.test(x) && x), 5000);
  check(card && card.includes(ADDRESS) && /Unit dispatched/.test(card),
        `the earlier one opens read-only with its outcome and notes ("${(card || '').replace(/\s+/g, ' ').slice(0, 160)}")`);
  const bad2 = await a11yProblems(sue);
  check(bad2.length === 0, `the search and a found case: labels, names and sizes (${bad2.join(', ') || 'no problem'})`);
  check(!ann.errors.length && !again.errors.length && !sue.errors.length, `no script errors (${[...ann.errors, ...again.errors, ...sue.errors].join('; ')})`);
  await again.click('#hangup');
});
