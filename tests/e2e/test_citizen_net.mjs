// The citizen page on a connection that loses what it carries (playwright routes the
// page's WebSocket through the test): the answer to alarm_start is lost, and the
// page's try again gets the same case (client_ref), not a second alarm and not
// "could not be sent"; a hang-up the gateway does not get ends the page at once and
// reaches the gateway when the connection is back; with no connection at all the page
// says so and goes on trying, and the alarm goes out once the connection is back.
import { check, citizen, login, run, until } from './harness.mjs';

// The supervisor's board of live cases (this test raises one alarm).
const boardRows = (page) => page.evaluate(() =>
  [...document.querySelectorAll('#board tr[data-case]')].map((r) => r.dataset.case));

run('e2e_citizen_net', { accounts: [['sue', 'supervisor']] }, async (v, browser) => {
  const sue = await login(browser, v, 'sue');
  await sue.click('#status-btn'); // away: the alarm waits on the board
  const cit = await citizen(browser, v, [30.58, 114.31, 9], '+86 138 0000 5101');
  const net = { dropStarted: 1, blockOut: false, down: false, downAfterStart: false, refused: 0, starts: [] };
  await cit.routeWebSocket(/\/ws$/, (ws) => {
    if (net.down) { net.refused++; ws.close(); return; } // no network: every try fails
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      const j = JSON.parse(m);
      if (j.type === 'alarm_start') net.starts.push(j.client_ref);
      if (!net.blockOut) server.send(m);
      // The try arrives, and the network goes before its answer comes back.
      if (j.type === 'alarm_start' && net.downAfterStart) { net.downAfterStart = false; net.down = true; ws.close(); }
    });
    server.onMessage((m) => {
      const j = JSON.parse(m);
      if (j.type === 'alarm_started' && net.dropStarted > 0) { net.dropStarted--; return; }
      ws.send(m);
    });
  });
  // The page connected before the route: a new connection goes through it.
  await cit.evaluate(() => window.vigilCitizen.drop());
  await until(() => cit.evaluate(() => window.vigilCitizen.state() === 'idle'), 5000);

  const t0 = Date.now();
  await cit.click('button.choice.video');
  const queued = await until(() => cit.evaluate(() => window.vigilCitizen.state() === 'queued'), 40000);
  check(queued, `with the first answer lost, the page is in the queue after ${Date.now() - t0} ms`);
  check(net.starts.length === 2 && net.starts[0] && net.starts[0] === net.starts[1],
        `it tried twice, with the same client_ref (${net.starts.length} tries)`);
  const caseId = await cit.evaluate(() => window.vigilCitizen.caseId());
  const rows = await until(() => boardRows(sue).then((r) => r.length && r), 5000);
  check(rows && rows.length === 1 && rows[0] === caseId,
        `one alarm on the board, the page's (${rows && rows.join(', ')})`);

  // The hang-up is lost on the way: the page ends at once all the same.
  net.blockOut = true;
  const t1 = Date.now();
  await cit.click('#hangup');
  const ended = await until(() => cit.evaluate(() => !document.getElementById('rating').hidden), 3000, 20);
  const took = Date.now() - t1;
  check(ended && took < 1000, `the page ended ${took} ms after the tap, the gateway not told yet`);
  const still = await boardRows(sue);
  check(still.length === 1, 'the gateway still has the alarm');
  // The connection comes back: the kept hang-up is delivered.
  net.blockOut = false;
  await cit.evaluate(() => window.vigilCitizen.drop());
  const gone = await until(() => boardRows(sue).then((r) => r.length === 0), 10000);
  check(gone, 'once the connection is back the hang-up reaches the gateway: the alarm leaves the board');

  // No network at all, for longer than the page waits (shortened here from 30 s): it
  // says so and what else to do, and goes on trying; when the network is back the
  // alarm goes out by itself and the page is back on the alarm.
  await cit.evaluate(() => { globalThis.vigilStartTryMs = 2000; });
  await cit.click('#rating button.back');
  net.down = true;
  await cit.evaluate(() => window.vigilCitizen.drop());
  const t2 = Date.now();
  await cit.click('button.choice.voice');
  const told = await until(() => cit.isVisible('#outside-retry'), 20000);
  const said = await cit.evaluate(() => [document.querySelector('#outside-title').textContent,
                                         document.querySelector('#outside-text').textContent]);
  check(told && /No connection yet/.test(said[0]) && /call 110/.test(said[1]),
        `no network: after ${Date.now() - t2} ms the page says "${said.join(' / ')}" and that it keeps trying ` +
        `(${net.refused} connections failed)`);
  await new Promise((r) => setTimeout(r, 3000));
  check(await cit.isVisible('#outside-retry') && (await boardRows(sue)).length === 0,
        'it is still trying a while later, and nothing reached the gateway');
  net.down = false;
  const t3 = Date.now();
  const through = await until(() => cit.evaluate(() => window.vigilCitizen.state() === 'queued' &&
                                                        !document.getElementById('call').hidden), 20000);
  const rows2 = await until(() => boardRows(sue).then((r) => r.length && r), 5000);
  check(through && rows2 && rows2.length === 1 && !(await cit.isVisible('#outside-retry')),
        `the network back, the alarm goes out by itself: on the call screen, queued, ${Date.now() - t3} ms later, ` +
        `one alarm on the board`);

  // A silent alarm's try arrives, the network goes before its answer comes back, and
  // the caller goes back while the page is still trying: the case would wait at the
  // centre for good (a silent alarm is not abandoned for a lost connection). Once a
  // connection is back the page cancels it by its client_ref.
  await cit.click('#hangup');
  await until(() => cit.isVisible('#rating'), 5000);
  await until(() => boardRows(sue).then((r) => r.length === 0), 10000);
  await cit.click('#rating button.back');
  net.downAfterStart = true;
  await cit.click('button.choice.silent');
  await until(() => cit.isVisible('#outside-retry'), 20000);
  const phantom = await until(() => boardRows(sue).then((r) => r.length === 1 && r), 5000);
  await cit.click('#outside button.back');
  // the try in flight is given up at once; the cancel waits for a connection
  const kept = await until(() => cit.evaluate(() => window.vigilCitizen.cancelsPending() === 1), 5000);
  // the page reloaded before the network is back: the cancel is not forgotten
  await cit.reload();
  const keptReload = await until(() => cit.evaluate(() => window.vigilCitizen.cancelsPending() === 1), 5000);
  net.down = false;
  const t4 = Date.now();
  const cleared = await until(() => boardRows(sue).then((r) => r.length === 0), 15000);
  // The board can be told before the page has the gateway's answer: its count waits.
  const done = await until(() => cit.evaluate(() => window.vigilCitizen.cancelsPending() === 0), 5000);
  const left = await cit.evaluate(() => window.vigilCitizen.cancelsPending());
  check(phantom && kept && keptReload && cleared && done,
        `a try that arrived while the page went back is cancelled once the network is back, a reload between ` +
        `(${phantom ? 'on the board' : 'not on the board'} while offline; gone ${Date.now() - t4} ms later; ` +
        `kept ${!!kept}, after the reload ${!!keptReload}, ${left} cancels left)`);
});
