// The console's recordings, for evidence accounts and supervisors: listed on request
// (each listing audited), a file downloaded byte for byte as the gateway holds it, a
// legal hold placed with a reason and lifted by someone else; call-takers do not
// have the section.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { a11yProblems, check, citizen, login, run, sleep, until } from './harness.mjs';

const rowOf = (page, id) => page.textContent(`#rec tr[data-case="${id}"]`).catch(() => '');

run('e2e_recordings', { accounts: [['ann', 'call_taker'], ['sue', 'supervisor'], ['eve', 'evidence']] }, async (v, browser) => {
  const ann = await login(browser, v, 'ann');
  check(!(await ann.isVisible('#rec-box')), 'a call-taker has no recordings section');
  await ann.click('#status-btn'); // away: the alarm waits, and ends when the caller hangs up
  const cit = await citizen(browser, v, [30.6, 114.5, 15], '+86 138 0000 5701');
  await cit.click('button.choice.video');
  const id = await until(() => cit.evaluate(() => window.vigilCitizen.caseId()), 8000);
  await sleep(4000); // recorded while it waits: a segment of more than one download chunk
  await cit.click('#hangup');
  await cit.context().close();

  const eve = await login(browser, v, 'eve');
  check(await eve.isVisible('#rec-box'), 'an evidence account has the recordings section');
  const row = await until(async () => {
    await eve.click('#rec-load');
    const r = await rowOf(eve, id);
    return /files/.test(r) && r;
  }, 15000, 500);
  check(row && /\+?\d+ files/.test(row), `the closed case is listed with its files ("${row}")`);
  await eve.click(`#rec tr[data-case="${id}"] summary`);
  const [dl] = await Promise.all([eve.waitForEvent('download', { timeout: 10000 }),
                                  eve.click(`#rec tr[data-case="${id}"] button.link:text-is("manifest.json")`)]);
  const saved = await dl.path();
  const got = readFileSync(saved);
  const onDisk = readFileSync(join(v.data, 'evidence', id, 'manifest.json'));
  check(dl.suggestedFilename() === `${id}-manifest.json` && got.equals(onDisk),
        `the manifest downloads byte for byte (${got.length} bytes, as ${dl.suggestedFilename()})`);
  // The largest file, in several of the gateway's 48 KiB chunks: whole, and one
  // download in the audit log.
  const big = JSON.parse(onDisk).files.sort((a, b) => b.size - a.size)[0];
  const [dl2] = await Promise.all([eve.waitForEvent('download', { timeout: 20000 }),
                                   eve.click(`#rec tr[data-case="${id}"] button.link[data-path="${big.path}"]`)]);
  const got2 = readFileSync(await dl2.path());
  const entries = readFileSync(join(v.data, 'evidence', 'audit.log'), 'utf8').split('\n').filter(Boolean)
    .map((l) => JSON.parse(l.split('\t')[0]))
    .filter((e) => e.action === 'download' && e.case_id === id && e.detail && e.detail.path === big.path);
  check(big.size > 49152 && got2.equals(readFileSync(join(v.data, 'evidence', id, big.path))) && entries.length === 1,
        `${big.path} (${big.size} bytes, ${Math.ceil(big.size / 49152)} chunks) downloads whole, audited once (${entries.length})`);
  // A hold needs a reason; with one it stands, and the row says so.
  await eve.click(`#rec tr[data-case="${id}"] td:nth-child(4) button`);
  const asked = await eve.textContent(`#rec tr[data-case="${id}"] [role=status]`);
  check(/reason/.test(asked), `a hold without a reason asks for one ("${asked}")`);
  await eve.fill(`#rec tr[data-case="${id}"] input`, 'court order 7/2026');
  await eve.click(`#rec tr[data-case="${id}"] td:nth-child(4) button`);
  const held = await until(() => rowOf(eve, id).then((r) => /held \(audit log line \d+\)/.test(r) && r), 5000);
  const focus = await eve.evaluate(() => document.activeElement && document.activeElement.textContent);
  const told = await eve.textContent('#rec-result');
  check(held && !/reason first/.test(held) && focus === 'Lift' && told === `Hold placed on ${id}.`,
        `the hold is placed, said, and the focus is on its Lift ("${held}", "${told}", ${focus})`);
  const bad = await a11yProblems(eve);
  check(bad.length === 0, `the recordings section: labels, names and sizes (${bad.join(', ') || 'no problem'})`);

  const sue = await login(browser, v, 'sue');
  await sue.click('#rec-load');
  const seen = await until(() => rowOf(sue, id).then((r) => /held/.test(r) && r), 5000);
  check(seen, 'a supervisor sees the hold');
  await sue.fill(`#rec tr[data-case="${id}"] input`, 'order set aside');
  await sue.click(`#rec tr[data-case="${id}"] td:nth-child(4) button`);
  const lifted = await until(() => rowOf(sue, id).then((r) => !/held/.test(r) && /Hold/.test(r) && r), 5000);
  check(lifted, `and lifts it ("${lifted}")`);
  const log = readFileSync(join(v.data, 'evidence', 'audit.log'), 'utf8');
  const holds = log.split('\n').filter((l) => l.includes('"legal_hold"')).map((l) => JSON.parse(l.split('\t')[0]))
    .map((e) => `${e.actor}:${e.result}`);
  check(holds.join() === 'eve:placed,sue:lifted', `both are in the audit log (${holds.join()})`);
  check(!eve.errors.length && !sue.errors.length, `no script errors (${[...eve.errors, ...sue.errors].join('; ')})`);
});
