// The e2e harness: starts the real vigild (temp data dir, test config, accounts
// made with vigilctl), drives Debian's Chromium with playwright-core (fake camera
// and microphone, loopback only: every test runs inside tests/netns-run), and
// records checks the way tests/integration/vigil_harness.py does: each check
// prints what it measured; the file exits non-zero if any failed.
import { chromium } from 'playwright-core';
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const VIGILD = process.env.VIGILD || 'vigild';
const VIGILCTL = process.env.VIGILCTL || 'vigilctl';
export const ARTIFACTS = join(process.env.VIGIL_BUILD_ROOT || tmpdir(), 'e2e-artifacts');

const failures = [];
const requests = [];   // every URL any page asked for: all must be this vigild's
let passed = 0;

export function check(cond, what) {
  if (cond) { passed++; console.log(`ok   ${what}`); } else { failures.push(what); console.log(`FAIL ${what}`); }
  return cond;
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Polls fn (async) until it returns a truthy value or the time runs out.
export async function until(fn, ms, step = 50) {
  const t0 = Date.now();
  for (;;) {
    const v = await fn().catch(() => null);
    if (v) return v;
    if (Date.now() - t0 > ms) return null;
    await sleep(step);
  }
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// One vigild with its own dir; config is the text of a test config, or a function
// of the port giving it (appended to the media settings every browser test needs).
export async function startVigild(config = '') {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-e2e-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const conf = join(dir, 'vigil.conf');
  const port = await freePort();
  const text = typeof config === 'function' ? config(port) : config;
  writeFileSync(conf, `[media]\naddresses = 127.0.0.1\nworkers = 2\n${text}`);
  const out = join(dir, 'vigild.out');
  const err = join(dir, 'vigild.err');
  const v = { dir, data, port, url: `https://127.0.0.1:${port}`, out, err, accounts: {} };
  v.account = (name, role) => {
    const o = execFileSync(VIGILCTL, ['--data-dir', data, 'account', 'add', name, '--role', role], { encoding: 'utf8' });
    v.accounts[name] = o.split('password: ').pop().trim();
    return v.accounts[name];
  };
  v.start = async () => {
    const { openSync } = await import('node:fs');
    v.proc = spawn(VIGILD, ['--data-dir', data, '--listen', `127.0.0.1:${port}`, '--config', conf],
                   { stdio: ['ignore', openSync(out, 'w'), openSync(err, 'w')] });
    v.exit = new Promise((resolve) => v.proc.on('exit', (code, sig) => resolve(code ?? sig)));
    const ok = await until(async () => readFileSync(out, 'utf8').includes('listening on'), 20000);
    if (!ok) throw new Error('vigild did not start: ' + readFileSync(err, 'utf8'));
    return v;
  };
  v.stop = async () => {
    if (!v.proc || v.proc.exitCode !== null) return v.proc ? v.proc.exitCode : null;
    v.proc.kill('SIGTERM');
    const t = setTimeout(() => v.proc.kill('SIGKILL'), 10000);
    const code = await v.exit;
    clearTimeout(t);
    return code;
  };
  v.stderr = () => readFileSync(err, 'utf8');
  return v;
}

// Records every RTCPeerConnection a page makes, and any moment at which the page
// holds an <audio> element or an unmuted <video> (for the silent alarm).
const INIT = () => {
  window.__pcs = [];
  const Orig = window.RTCPeerConnection;
  window.RTCPeerConnection = function (...a) { const pc = new Orig(...a); window.__pcs.push(pc); return pc; };
  window.RTCPeerConnection.prototype = Orig.prototype;
  window.__gum = [];   // every getUserMedia request: when and for what
  const md = navigator.mediaDevices;
  if (md && md.getUserMedia) {
    const gum = md.getUserMedia.bind(md);
    md.getUserMedia = (c) => { window.__gum.push({ at: Date.now(), audio: !!(c && c.audio), video: !!(c && c.video) }); return gum(c); };
  }
  window.__sounding = [];
  const look = () => {
    const audio = document.querySelectorAll('audio').length;
    const loud = [...document.querySelectorAll('video')].filter((v) => !v.muted).length;
    if (audio || loud) window.__sounding.push({ at: Date.now(), audio, loud });
  };
  new MutationObserver(look).observe(document, { childList: true, subtree: true, attributes: true });
};

export async function launch() {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-first-run', '--ignore-certificate-errors'],
  });
}

// A page in its own context (its own storage, permissions and position).
export async function openPage(browser, url, opts = {}) {
  const ctx = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: opts.viewport || { width: 1280, height: 900 },
    deviceScaleFactor: 1,
    isMobile: !!opts.mobile,
    hasTouch: !!opts.mobile,
    permissions: ['geolocation', 'camera', 'microphone'],
    geolocation: opts.geolocation,
    // navigator.languages and Accept-Language: English unless a test says otherwise,
    // whatever the machine's own language (the citizen page follows it).
    locale: opts.locale || 'en-US',
  });
  await ctx.addInitScript(INIT);
  ctx.on('request', (r) => requests.push(r.url()));
  ctx.on('websocket', (w) => requests.push(w.url()));
  const page = await ctx.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') process.stderr.write(`[${opts.name || 'page'}] ${m.text()}\n`); });
  await page.goto(url);
  return page;
}

export const PHONE_VIEWPORT = { width: 390, height: 844 };

// What this page's peer connections received and sent (getStats).
export async function mediaStats(page) {
  return page.evaluate(async () => {
    const out = { framesDecoded: 0, videoPackets: 0, audioPackets: 0, audioSamples: 0,
                  inboundAudioStreams: 0, framesSent: 0, audioSent: 0, pcs: window.__pcs.length };
    for (const pc of window.__pcs) {
      if (pc.signalingState === 'closed') continue;
      (await pc.getStats()).forEach((s) => {
        if (s.type === 'inbound-rtp' && s.kind === 'video') {
          out.framesDecoded += s.framesDecoded || 0;
          out.videoPackets += s.packetsReceived || 0;
        } else if (s.type === 'inbound-rtp' && s.kind === 'audio') {
          out.inboundAudioStreams++;
          out.audioPackets += s.packetsReceived || 0;
          out.audioSamples += s.totalSamplesReceived || 0;
        } else if (s.type === 'outbound-rtp' && s.kind === 'video') out.framesSent += s.framesSent || 0;
        else if (s.type === 'outbound-rtp' && s.kind === 'audio') out.audioSent += s.packetsSent || 0;
      });
    }
    return out;
  });
}

export async function shot(page, name, fullPage = false) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const path = join(ARTIFACTS, name + '.png');
  await page.screenshot({ path, fullPage });
  console.log(`     screenshot: ${path}`);
  return path;
}

export async function login(browser, v, name, opts = {}) {
  const page = await openPage(browser, v.url + '/console/', { name, ...opts });
  await page.fill('#login-name', name);
  await page.fill('#login-pw', v.accounts[name]);
  await page.click('#login button[type=submit]');
  await page.waitForSelector('#desk:not([hidden])', { timeout: 10000 });
  return page;
}

// A citizen page on a phone-sized screen, with the number filled in.
export async function citizen(browser, v, pos, phone, name = 'citizen', locale = undefined) {
  const geolocation = pos ? { latitude: pos[0], longitude: pos[1], accuracy: pos[2] || 12 } : undefined;
  const page = await openPage(browser, v.url + '/citizen/',
                              { name, viewport: PHONE_VIEWPORT, mobile: true, geolocation, locale });
  await page.fill('#phone', phone);
  return page;
}

export async function finish(name, v, browser) {
  if (browser) await browser.close().catch(() => {});
  if (v) {
    const own = (u) => u.startsWith(v.url + '/') || u.startsWith(`wss://127.0.0.1:${v.port}/`) ||
                       u.startsWith('blob:') || u.startsWith('data:');
    const foreign = requests.filter((u) => !own(u));
    check(requests.length > 0 && foreign.length === 0,
          `all ${requests.length} requests of the pages went to this vigild (${foreign.slice(0, 3).join(', ') || 'none elsewhere'})`);
    const running = v.proc && v.proc.exitCode === null;
    check(running, 'vigild still running at the end');
    const code = await v.stop();
    check(code === 0, `vigild exits 0 (${code})`);
    if (code !== 0) process.stderr.write(v.stderr().slice(-4000));
    if (!failures.length) rmSync(v.dir, { recursive: true, force: true });
  }
  console.log(`${name}: ${passed + failures.length} checks, ${failures.length} failed`);
  process.exit(failures.length ? 1 : 0);
}

// Runs body; an exception is a failed check, not a crash that leaves vigild behind.
export async function run(name, { config = '', accounts = [] }, body) {
  let v = null;
  let browser = null;
  // Under meson's timeout (tests/e2e/meson.build), so a hung test still stops vigild. On a
  // machine short of CPU e2e_team took 114 s (29 s idle): room for more than that.
  const limit = setTimeout(() => { check(false, 'test finished within 240 s'); finish(name, v, browser); }, 240000);
  try {
    v = await startVigild(config);
    for (const [who, role] of accounts) v.account(who, role);
    await v.start();
    browser = await launch();
    await body(v, browser);
  } catch (e) {
    check(false, `no exception: ${e.stack || e}`);
  }
  clearTimeout(limit);
  await finish(name, v, browser);
}

// Simple accessibility rules for what is visible now: every form control has a
// label, every button and link says what it does, every picture has alt text, and
// targets are at least 40 px high (44-48 px in the styles). Returns the offenders.
export async function a11yProblems(page) {
  return page.evaluate(() => {
    const visible = (e) => !!(e.offsetWidth || e.offsetHeight || e.getClientRects().length);
    const out = [];
    for (const e of document.querySelectorAll('input, select, textarea')) {
      if (!visible(e) || e.type === 'hidden') continue;
      const labelled = (e.id && document.querySelector(`label[for="${e.id}"]`)) || e.closest('label') ||
                       e.getAttribute('aria-label') || e.getAttribute('aria-labelledby');
      if (!labelled) out.push(`unlabelled ${e.tagName.toLowerCase()}#${e.id}`);
    }
    for (const e of document.querySelectorAll('button, a[href]')) {
      if (!visible(e)) continue;
      if (!(e.textContent.trim() || e.getAttribute('aria-label'))) out.push(`silent ${e.tagName.toLowerCase()}`);
      if (e.tagName === 'BUTTON' && e.getBoundingClientRect().height < 40) out.push(`small button "${e.textContent.trim()}"`);
    }
    for (const e of document.querySelectorAll('img')) if (visible(e) && !e.getAttribute('alt')) out.push('img without alt');
    return out;
  });
}
