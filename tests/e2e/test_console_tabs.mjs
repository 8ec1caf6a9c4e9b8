// One call-taker's session in two tabs (a duplicated tab carries the session in its
// sessionStorage): the tab that resumes it takes it, the other steps back and says
// so, and the two do not push each other out for ever; "Use this one instead" moves
// it back. A connection that drops again while resuming does not sign out.
import { check, login, openPage, run, sleep, until } from './harness.mjs';

const moved = (page) => page.evaluate(() => !document.getElementById('moved').hidden);

run('e2e_console_tabs', { accounts: [['ann', 'call_taker']] }, async (v, browser) => {
  const one = await login(browser, v, 'ann', { name: 'tab1' });
  const token = await one.evaluate(() => sessionStorage.getItem('vigil.staff'));
  check(!!token, 'the first tab holds the session');

  // The duplicate: the same session in a second tab.
  const two = await openPage(browser, 'about:blank', { name: 'tab2' });
  await two.addInitScript((t) => sessionStorage.setItem('vigil.staff', t), token);
  await two.goto(v.url + '/console/');
  const desk = await until(() => two.evaluate(() => !document.getElementById('desk').hidden), 8000);
  check(desk, 'the second tab resumes the session without a password');
  const stepped = await until(() => moved(one), 5000);
  check(stepped, 'the first tab steps back and says another console has the session');
  await sleep(3000); // long enough for several reconnects, had they gone on
  const replaced = (v.stderr().match(/replaced by conn=/g) || []).length;
  check(replaced === 1 && !(await moved(two)),
        `and they do not push each other out: ${replaced} replacement in 3 s, the second tab still working`);

  await one.click('#use-here');
  const back = await until(() => moved(two), 5000);
  check(back && !(await moved(one)), '"Use this one instead" moves the session back to the first tab');
});
