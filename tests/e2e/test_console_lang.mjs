// The console in the call-taker's language: a browser set to Chinese gets the sign-in
// screen and the desk in Chinese (every visible text, placeholder and label), an alarm
// rings and is answered in Chinese, the caller card's rows are Chinese, and switching
// to English and back during the call leaves the call as it was (no reconnect, the
// same media elements). A supervisor in Chinese sees the board and an alert in
// Chinese. A browser in English gets English, and the switch to 中文 is kept after a
// reload (the session resumes in Chinese).
import { a11yProblems, check, citizen, login, mediaStats, openPage, run, shot, until } from './harness.mjs';

const ESCALATE_S = 3;
// The one-click messages for a caller whose page is in Chinese, as a centre writes
// them (shown and sent as given; the English set stays the default).
const config = `[queue]
escalate_after_s = ${ESCALATE_S}
[console]
quick_messages_zh = 你现在安全吗？|对方还在你身边吗？|警察正在赶来。
`;

// Visible text (and placeholders, labels, alt texts, the options of a visible list)
// with Latin words of three letters or more in it, but for what stays as it is in any
// language: the switch's "English" (skipped), account names, case ids ("c-" and 12
// hex digits) and the keys of a shortcut as the keyboard prints them ("Ctrl+Enter"). Phone numbers, times and coordinates have no letters.
const latinText = (page, names = []) => page.evaluate((names) => {
  const strip = (s) => names.reduce((x, w) => x.split(w).join(''), s).replace(/\bc-[0-9a-f]{12}\b/g, '')
                                .replace(/\bCtrl\+Enter\b/g, '');
  const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
  const latin = (s) => /[A-Za-z]{3,}/.test(strip(s));
  const out = [];
  const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    const e = n.parentElement;
    if (!e || !visible(e) || e.id === 'lang-switch' || e.closest('option, script')) continue;
    if (getComputedStyle(e).visibility === 'hidden') continue;
    if (latin(n.textContent)) out.push(n.textContent.trim().slice(0, 50));
  }
  for (const e of document.body.querySelectorAll('*')) {
    if (!visible(e)) continue;
    for (const a of ['placeholder', 'aria-label', 'alt', 'title']) {
      const v = e.getAttribute(a);
      if (v && latin(v)) out.push(`${a}="${v}"`);
    }
    if (e.tagName === 'SELECT') for (const o of e.options) if (latin(o.textContent)) out.push(`option "${o.textContent}"`);
  }
  return out;
}, names);
const text = (page, sel) => page.evaluate((s) => document.querySelector(s).textContent, sel);

run('e2e_console_lang', { config, accounts: [['ann', 'call_taker'], ['sue', 'supervisor'], ['eve', 'call_taker']] },
  async (v, browser) => {
    // A call-taker's browser in Chinese: the sign-in screen.
    const ann = await openPage(browser, v.url + '/console/', { name: 'ann', locale: 'zh-CN' });
    const first = await ann.evaluate(() => ({ lang: document.documentElement.lang, title: document.title,
                                              h1: document.querySelector('#top h1').textContent,
                                              h2: document.querySelector('#login-title').textContent,
                                              sw: document.querySelector('#lang-switch').textContent }));
    check(first.lang === 'zh-CN' && first.h1 === '110 接警台' && first.title === '110 接警台' && first.h2 === '登录',
          `a browser in Chinese opens the sign-in screen in Chinese (lang ${first.lang}, "${first.h1}", "${first.h2}")`);
    check(first.sw === 'English', `the switch offers English in its own script ("${first.sw}")`);
    let latin = await latinText(ann);
    check(latin.length === 0, `no English left on the sign-in screen (${latin.join('; ') || 'none'})`);
    let bad = await a11yProblems(ann);
    check(bad.length === 0, `the sign-in screen in Chinese: labels, names, target sizes (${bad.join(', ') || 'no problem'})`);
    await shot(ann, 'console-login-zh');
    // A wrong password is told in Chinese.
    await ann.fill('#login-name', 'ann');
    await ann.fill('#login-pw', 'not the password');
    await ann.click('#login button[type=submit]');
    const wrong = await until(() => ann.isVisible('#login-error').then((vis) => vis && text(ann, '#login-error')), 5000);
    check(wrong === '名称或密码错误。', `a wrong password is told in Chinese ("${wrong}")`);
    await ann.fill('#login-pw', v.accounts.ann);
    await ann.click('#login button[type=submit]');
    await ann.waitForSelector('#desk:not([hidden])', { timeout: 10000 });
    const who = await until(() => text(ann, '#who').then((s) => /接警员/.test(s) && s), 5000);
    check(who === 'ann（接警员），状态：空闲', `the desk says who is signed in, in Chinese ("${who}")`);
    latin = await latinText(ann, ['ann']);
    check(latin.length === 0, `no English on the idle desk (${latin.join('; ') || 'none'})`);
    bad = await a11yProblems(ann);
    check(bad.length === 0, `the desk in Chinese: labels, names and target sizes (${bad.join(', ') || 'no problem'})`);
    await shot(ann, 'console-desk-zh');

    // An alarm from a citizen's page rings in Chinese.
    const cit = await citizen(browser, v, [30.59, 114.3, 15], '+86 138 0000 5501', 'citizen', 'zh-CN');
    await cit.click('button.choice.video');
    const ring = await until(() => text(ann, '#ring-state').then((s) => /振铃中/.test(s) && s), 8000);
    check(ring === '振铃中：1 个报警等待接听。', `the console rings in Chinese ("${ring}")`);
    const item = await until(() => ann.$eval('#queue button.answer', (b) => b.textContent).catch(() => ''), 5000);
    check(/^视频报警\+8613800005501已等待 \d+ 秒±15 米接听（回车）$/.test(item), `the queue's alarm is in Chinese ("${item}")`);
    const title = await ann.title();
    check(title === '（1）报警待接 · 110 接警台', `and the tab's title ("${title}")`);
    latin = await latinText(ann, ['ann']);
    check(latin.length === 0, `no English on the ringing desk (${latin.join('; ') || 'none'})`);
    await shot(ann, 'console-ringing-zh');

    // Answered: the case, the caller card and the media state in Chinese.
    await ann.click('#queue button.answer');
    await ann.waitForSelector('#case:not([hidden])', { timeout: 5000 });
    const caseId = await cit.evaluate(() => window.vigilCitizen.caseId());
    const head = await text(ann, '#case-title');
    check(head === `视频报警（警情 ${caseId}）`, `the case's title is Chinese ("${head}")`);
    const rows = await until(() => ann.$$eval('#card dt', (l) => l.map((d) => d.textContent))
      .then((r) => r.includes('语言') && r), 5000);
    check(rows && /^电话,报警方式,状态,报警人,既往警情,标记,回拨,(参与人员,)?语言$/.test(rows.join()),
          `the caller card's rows are Chinese (${rows && rows.join(', ')})`);
    const card = await text(ann, '#card');
    check(/报警方式视频报警/.test(card) && /状态处理中/.test(card) && /中文.*\(zh-CN\)/.test(card),
          `and its values, the caller's language named in Chinese ("${card}")`);
    const media = await until(() => text(ann, '#media-state').then((s) => s === '音视频已连接。' && s), 10000);
    check(media, `the media state is Chinese ("${media || await text(ann, '#media-state')}")`);
    const state = await text(ann, '#case-state');
    check(state === '处理状态：处理中。', `the case's state line ("${state}")`);
    // The centre's quick messages for a caller in Chinese are shown and sent as given.
    const quick = await ann.$$eval('#quick button', (l) => l.map((b) => b.textContent).join('|'));
    check(quick === '你现在安全吗？|对方还在你身边吗？|警察正在赶来。',
          `the caller's page is in Chinese: the console offers the Chinese one-click messages (${quick})`);
    await ann.click('#quick button:has-text("你现在安全吗？")');
    const got = await cit.waitForFunction(() => [...document.querySelectorAll('#chat li')]
      .some((e) => e.textContent.includes('你现在安全吗？')), null, { timeout: 5000 }).then(() => true, () => false);
    check(got, 'a quick message reaches the citizen as the centre wrote it');
    await cit.fill('#chat-text', '我在楼下');
    await cit.click('#chat-form button[type=submit]');
    const line = await until(() => ann.$$eval('#chat li.theirs .meta', (l) => l.map((e) => e.textContent).join('|'))
      .then((s) => /报警人 · /.test(s) && s), 5000);
    check(line, `the chat names the citizen in Chinese ("${line}")`);
    latin = await latinText(ann, ['ann']);
    check(latin.length === 0, `no English on the open case (${latin.join('; ') || 'none'})`);
    bad = await a11yProblems(ann);
    check(bad.length === 0, `the open case in Chinese: labels, names and target sizes (${bad.join(', ') || 'no problem'})`);
    await shot(ann, 'console-case-zh', true);

    // Switching during the call: the page's words change, the call does not.
    const before = await ann.evaluate(() => {
      document.getElementById('remote-video').dataset.mark = '1';
      return { pcs: window.__pcs.length, state: window.__pcs.at(-1).connectionState };
    });
    const frames0 = (await mediaStats(ann)).framesDecoded;
    await ann.click('#lang-switch');
    const en = await ann.evaluate(() => {
      const of = (id) => document.getElementById(id).textContent;
      return { lang: document.documentElement.lang, head: of('case-title'), state: of('case-state'),
               media: of('media-state'), card: of('card') };
    });
    check(en.lang === 'en' && en.head === `Video alarm ${caseId}` && en.state === 'Handling: being handled.' &&
          en.media === 'Media connected.' && /^Phone/.test(en.card) && /Chinese.*\(zh-CN\)/.test(en.card),
          `switched to English during the call (${en.head} | ${en.state} | ${en.media})`);
    await ann.click('#lang-switch');
    const after = await ann.evaluate(() => ({ pcs: window.__pcs.length, state: window.__pcs.at(-1).connectionState,
                                              same: document.getElementById('remote-video').dataset.mark === '1',
                                              head: document.querySelector('#case-title').textContent }));
    const frames1 = await until(async () => {
      const f = (await mediaStats(ann)).framesDecoded;
      return f > frames0 && f;
    }, 3000);
    check(after.pcs === before.pcs && after.state === 'connected' && after.same && frames1,
          `and back: the same connection (${after.pcs} peer connections, ${after.state}), the same video element, ` +
          `the picture still playing (${frames0} -> ${frames1} frames)`);
    check(after.head === head, `the case in Chinese again ("${after.head}")`);

    // The citizen hangs up: the call-taker is told in Chinese and closes with an outcome.
    await cit.click('#hangup');
    const ended = await until(() => text(ann, '#case-state').then((s) => /挂断/.test(s) && s), 5000);
    const close = await text(ann, '#end-btn');
    check(ended === '报警人已挂断。请选择处置结果并关闭。' && close === '关闭', `the hang-up is told in Chinese ("${ended}", "${close}")`);
    await ann.selectOption('#disposition', 'advice_given');
    await ann.click('#end-btn');
    await ann.waitForSelector('#idle:not([hidden])', { timeout: 5000 });
    await cit.context().close();

    // A supervisor in Chinese: the board and an alert.
    const sue = await login(browser, v, 'sue', { locale: 'zh-CN' });
    const late = await citizen(browser, v, [30.6, 114.4, 20], '+86 138 0000 5502', 'late', 'zh-CN');
    await late.click('button.choice.voice');
    const lateId = await until(() => late.evaluate(() => window.vigilCitizen.caseId()), 8000);
    // The alert and the case's escalated flag come in separate messages: both awaited.
    const row = await until(() => sue.$eval(`#board tr[data-case="${lateId}"]`, (r) => r.textContent)
      .then((s) => /超时未接/.test(s) && /已升级/.test(s) && s).catch(() => ''), (ESCALATE_S + 6) * 1000);
    check(row && /^c-[0-9a-f]{12}语音报警(振铃中|排队中)/.test(row),
          `unanswered, the board shows the case escalated, in Chinese ("${row}")`);
    const alert = await until(() => text(sue, '#alerts').then((s) => /超时未接/.test(s) && s), 3000);
    check(alert && /超时未接 · 语音报警 \+8613800005502/.test(alert) && /已阅/.test(alert),
          `the alert is in Chinese ("${alert}")`);
    const heads = await sue.$$eval('#board th', (l) => l.map((h) => h.textContent).join(','));
    check(heads === '警情,报警方式,状态,等待时长,处理人,标记与提醒,操作', `the board's columns (${heads})`);
    latin = await latinText(sue, ['sue', 'vigil-verify']); // a tool's name stays as it is
    check(latin.length === 0, `no English on the supervisor's desk (${latin.join('; ') || 'none'})`);
    bad = await a11yProblems(sue);
    check(bad.length === 0, `the supervisor's desk in Chinese: labels, names and sizes (${bad.join(', ') || 'no problem'})`);
    await shot(sue, 'console-board-zh', true);
    await late.click('#hangup');
    await late.context().close();

    // A browser in English: English, and the switch to 中文, kept after a reload.
    const eve = await login(browser, v, 'eve', { locale: 'en-US' });
    const desk = () => eve.evaluate(() => ({ lang: document.documentElement.lang, title: document.title,
                                             h1: document.querySelector('#top h1').textContent,
                                             who: document.querySelector('#who').textContent,
                                             sw: document.querySelector('#lang-switch').textContent,
                                             body: document.body.innerText }));
    const enDesk = await until(() => desk().then((d) => /^eve/.test(d.who) && d), 5000);
    check(enDesk.lang === 'en' && enDesk.h1 === 'Vigil console' && enDesk.who === 'eve (call-taker), available' &&
          enDesk.sw === '中文', `a browser in English gets English, with a switch to 中文 ("${enDesk.who}")`);
    await eve.click('#lang-switch');
    const zhDesk = await desk();
    const ringZh = await text(eve, '#ring-state');
    check(zhDesk.lang === 'zh-CN' && zhDesk.h1 === '110 接警台' && zhDesk.who === 'eve（接警员），状态：空闲' &&
          zhDesk.sw === 'English' && ringZh === '没有等待中的报警。',
          `one click switches the desk to Chinese ("${zhDesk.who}", "${ringZh}")`);
    await eve.reload();
    await eve.waitForSelector('#desk:not([hidden])', { timeout: 10000 });
    const kept = await until(() => desk().then((d) => /^eve/.test(d.who) && d), 5000);
    check(kept.h1 === '110 接警台' && kept.who === 'eve（接警员），状态：空闲',
          `the choice is kept after a reload, the session resumed ("${kept.who}")`);
    await eve.click('#lang-switch');
    const back = await desk();
    check(back.body === enDesk.body && back.title === enDesk.title,
          `and switched back, the English desk is as it was (${back.body === enDesk.body ? 'same text' : back.body})`);
    bad = await a11yProblems(eve);
    check(bad.length === 0, `the English desk with its switch: labels and sizes (${bad.join(', ') || 'no problem'})`);
    await shot(eve, 'console-desk-en');
    check(!ann.errors.length && !sue.errors.length && !eve.errors.length,
          `no script errors (${ann.errors.concat(sue.errors, eve.errors).join('; ')})`);
  });
