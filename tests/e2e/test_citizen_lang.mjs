// The citizen page in the caller's language: a phone set to Chinese gets the page in
// Chinese (every visible text, the alarm's state line, a refusal whose configured
// message is English), the call-taker's caller card names the page's language, and
// one tap of a quick answer reaches the call-taker in Chinese. A phone in English
// gets English, and the switch on the first screen changes the page, kept after a
// reload.
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { a11yProblems, check, citizen, login, run, shot, until } from './harness.mjs';

const area = join(tmpdir(), `vigil-e2e-lang-${process.pid}.geojson`);
writeFileSync(area, JSON.stringify({ type: 'Feature', properties: { name: 'county' }, geometry: {
  type: 'Polygon', coordinates: [[[114.0, 30.0], [115.0, 30.0], [115.0, 31.0], [114.0, 31.0], [114.0, 30.0]]] } }));
process.on('exit', () => rmSync(area, { force: true })); // not left in the temp dir
// The area's message left at its English default: a Chinese page shows its own words.
const config = () => `[service_area]\nfile = ${area}\n`;

// Visible text with Latin words in it (three letters or more), but for what stays as
// it is in any language: the switch's "English", names (the call-taker's account).
const latinText = (page, names = []) => page.evaluate((names) => {
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const e = n.parentElement;
    if (!e || !(e.offsetWidth || e.offsetHeight) || e.id === 'lang-switch') continue;
    const words = names.reduce((s, w) => s.split(w).join(''), n.textContent);
    if (/[A-Za-z]{3,}/.test(words)) out.push(n.textContent.trim().slice(0, 40));
  }
  for (const e of document.querySelectorAll('input, textarea, button, section, ol, ul, div')) {
    if (!(e.offsetWidth || e.offsetHeight)) continue;
    for (const a of ['placeholder', 'aria-label']) {
      const v = e.getAttribute(a);
      if (v && /[A-Za-z]{3,}/.test(v)) out.push(`${a}="${v}"`);
    }
  }
  return out;
}, names);
const text = (page, sel) => page.evaluate((s) => document.querySelector(s).textContent, sel);

run('e2e_citizen_lang', { config, accounts: [['ann', 'call_taker']] }, async (v, browser) => {
  // A phone in Chinese.
  const zh = await citizen(browser, v, [30.59, 114.3, 15], '+86 138 0000 5401', 'zh', 'zh-CN');
  const home = await zh.evaluate(() => ({ lang: document.documentElement.lang, title: document.title,
                                            h1: document.querySelector('#home-title').textContent,
                                            sw: document.querySelector('#lang-switch').textContent }));
  check(home.lang === 'zh-CN' && home.h1 === '110 报警' && home.title === '110 紧急报警',
        `a phone in Chinese opens the page in Chinese (lang ${home.lang}, "${home.h1}", title "${home.title}")`);
  check(home.sw === 'English', `the switch offers English in its own script ("${home.sw}")`);
  let latin = await latinText(zh);
  check(latin.length === 0, `no English left on the first screen (${latin.join('; ') || 'none'})`);
  let bad = await a11yProblems(zh);
  check(bad.length === 0, `labels, names and target sizes in Chinese (${bad.join(', ') || 'no problem'})`);
  await shot(zh, 'citizen-home-zh');
  // A number the gateway would refuse: the page says why in Chinese.
  await zh.fill('#phone', '138 0000 5401 ext 12');
  await zh.click('button.choice.video');
  const err = await text(zh, '#phone-error');
  check(/只能填写数字/.test(err), `a bad number is explained in Chinese ("${err}")`);
  await zh.fill('#phone', '+86 138 0000 5401');

  const con = await login(browser, v, 'ann');
  await zh.click('button.choice.video');
  const waiting = await until(() => text(zh, '#state').then((s) => /正在等待接警员/.test(s) && s), 10000);
  check(waiting, `the state line waits in Chinese ("${waiting || await text(zh, '#state')}")`);
  await con.waitForSelector('#queue button.answer', { timeout: 10000 });
  await con.click('#queue button.answer');
  await con.waitForSelector('#case:not([hidden])', { timeout: 5000 });
  const card = await until(() => text(con, '#card').then((s) => /Language/.test(s) && s), 5000);
  check(card && /Chinese.*zh-CN/.test(card), `the caller card names the page's language ("${(card || '').match(/Language[^]*?zh-CN\)?/)}")`);
  const connected = await until(() => text(zh, '#state').then((s) => /已接通警方/.test(s) && s), 5000);
  check(connected, `answered, the citizen reads it in Chinese ("${connected}")`);
  await zh.click('#quick button[data-text="是"]');
  const got = await con.waitForFunction(() => [...document.querySelectorAll('#chat li.theirs .text')]
    .some((e) => e.textContent === '是'), null, { timeout: 5000 }).then(() => true, () => false);
  check(got, 'a quick answer reaches the call-taker in Chinese ("是")');
  // The call-taker's console is in English; its one-click questions to this caller are
  // the Chinese set (the default [console] quick_messages_zh), so they can be read.
  await con.click('#quick button:has-text("您受伤了吗？")');
  const asked = await zh.waitForFunction(() => [...document.querySelectorAll('#chat li')]
    .some((e) => e.textContent.includes('您受伤了吗？')), null, { timeout: 5000 }).then(() => true, () => false);
  const offered = await con.$$eval('#quick button', (l) => l.map((b) => b.textContent).join('|'));
  check(asked && !/[A-Za-z]{3,}/.test(offered),
        `the English console asks this caller in Chinese (${offered})`);
  latin = await latinText(zh, ['ann']);
  check(latin.length === 0, `no English on the call screen (${latin.join('; ') || 'none'})`);
  await shot(zh, 'citizen-call-zh');
  // A file the gateway refuses (not a photo or video): why, in Chinese (its words
  // are English; the page has its own for the code).
  await zh.setInputFiles('#more-files', [{ name: '照片.jpg', mimeType: 'image/jpeg',
                                           buffer: Buffer.from('not a picture '.repeat(40)) }]);
  const refused = await until(() => zh.$$eval('#upload-list li', (l) => l.map((e) => [e.dataset.state, e.textContent]))
    .then((st) => st.length === 1 && st[0][0] === 'failed' && st[0][1]), 10000);
  check(refused && /未发送（不是警方能打开的照片或视频）|未发送 \(不是警方能打开的照片或视频\)/.test(refused),
        `a file the gateway refuses is explained in Chinese ("${refused}")`);
  await zh.click('#hangup');
  await zh.waitForSelector('#rating:not([hidden])', { timeout: 5000 });
  const ended = await text(zh, '#ended-text');
  check(ended === '您已结束报警。', `the end is said in Chinese ("${ended}")`);
  latin = await latinText(zh);
  check(latin.length === 0, `no English on the last screen (${latin.join('; ') || 'none'})`);
  await zh.context().close();

  // A phone in Chinese outside the area: the centre's message is English (the
  // default), so the page shows its own Chinese words for it, with "call 110".
  const far = await citizen(browser, v, [39.9, 116.4, 10], '+86 138 0000 5402', 'zh-far', 'zh-CN');
  await far.click('button.choice.video');
  const out = await until(() => far.isVisible('#outside').then((vis) => vis && text(far, '#outside')), 8000);
  check(out && /不在本服务覆盖的区域内/.test(out) && /拨打 110/.test(out),
        `outside the area it is told in Chinese ("${(out || '').trim().replace(/\s+/g, ' ')}")`);
  await far.context().close();

  // A phone in English: English, and the switch.
  const en = await citizen(browser, v, null, '+86 138 0000 5403', 'en', 'en-GB');
  const h1 = await text(en, '#home-title');
  check(h1 === 'Police emergency 110' && await text(en, '#lang-switch') === '中文',
        `a phone in English gets English, with a switch to 中文 ("${h1}")`);
  await en.click('#lang-switch');
  const switched = await en.evaluate(() => [document.documentElement.lang, document.querySelector('#home-title').textContent,
                                            document.querySelector('#state').textContent]);
  check(switched[0] === 'zh-CN' && switched[1] === '110 报警' && switched[2] === '请选择报警方式。',
        `one tap switches the page to Chinese (${switched.join(' | ')})`);
  await en.reload();
  const kept = await text(en, '#home-title');
  check(kept === '110 报警', `the choice is kept after a reload ("${kept}")`);
  await en.click('#lang-switch');
  check(await text(en, '#home-title') === 'Police emergency 110', 'and switched back to English');
  bad = await a11yProblems(en);
  check(bad.length === 0, `the English page with its switch: labels and sizes (${bad.join(', ') || 'no problem'})`);
  check(!en.errors.length && !con.errors.length, `no script errors (${en.errors.concat(con.errors).join('; ')})`);
});
