// A video link for a caller on the ordinary phone line: the call-taker types the
// number into the console and sends a link; the caller opens it in the phone's
// browser, finds their number written in and the way they were asked to come
// marked, taps it, and the alarm rings at that call-taker's console (marked "from
// your link") and not at another's; she answers and sees them. No SMS gateway is
// set here: the console says to copy the link, and offers it to copy.
import { a11yProblems, check, login, mediaStats, openPage, run, sleep, until } from './harness.mjs';

run('e2e_link', { accounts: [['ann', 'call_taker'], ['bob', 'call_taker']] }, async (v, browser) => {
  const ann = await login(browser, v, 'ann');
  const bob = await login(browser, v, 'bob');
  check(await ann.isVisible('#link-box'), 'a call-taker has the video link form');
  await ann.fill('#link-phone', '+86 138 0000 5601');
  await ann.click('#link-form button[type=submit]');
  const url = await until(() => ann.inputValue('#link-url').catch(() => ''), 5000);
  const said = await ann.textContent('#link-result');
  check(url.startsWith(v.url + '/citizen/?link=') && /Copy the link into a message to \+8613800005601/.test(said),
        `the console gives the link to copy (no SMS gateway here): ${url} | "${said}"`);
  let bad = await a11yProblems(ann);
  check(bad.length === 0, `the console with the link form: labels, names and sizes (${bad.join(', ') || 'no problem'})`);

  const cit = await openPage(browser, url, { name: 'linked', viewport: { width: 390, height: 800 }, mobile: true,
                                             geolocation: { latitude: 30.6, longitude: 114.5, accuracy: 15 } });
  const home = await cit.evaluate(() => ({ phone: document.querySelector('#phone').value,
                                           note: !document.querySelector('#link-note').hidden,
                                           marked: [...document.querySelectorAll('.choice.linked')].map((b) => b.dataset.mode) }));
  check(home.phone === '+8613800005601' && home.note && home.marked.join() === 'video',
        `the caller's page has their number, says who sent it, and marks video (${JSON.stringify(home)})`);
  check(!/phone=|link=/.test(cit.url()), `and the link is out of the address bar (${cit.url()})`);
  bad = await a11yProblems(cit);
  check(bad.length === 0, `the linked page: labels, names and sizes (${bad.join(', ') || 'no problem'})`);
  await cit.click('button.choice.video');
  const item = await until(() => ann.textContent('#queue').then((s) => /from your link/.test(s) && s), 8000);
  check(item, `it rings at the console that sent the link, marked so ("${item}")`);
  await sleep(500);
  const elsewhere = await bob.textContent('#queue');
  check(!/Video/.test(elsewhere), `and not at another call-taker's ("${elsewhere}")`);
  await ann.click('#queue button.answer');
  await ann.waitForSelector('#case:not([hidden])', { timeout: 5000 });
  const frames = await until(async () => (await mediaStats(ann)).framesDecoded > 5, 15000);
  check(frames, 'answered, she sees the caller');
  check(!ann.errors.length && !cit.errors.length, `no script errors (${[...ann.errors, ...cit.errors].join('; ')})`);
  await cit.click('#hangup');
});
