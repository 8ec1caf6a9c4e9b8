// Runs one page of tests/e2e/pages in Debian's headless Chromium (fake camera and
// microphone) and prints the page's vgStats() as one JSON line every 250 ms until
// stdin closes or the time limit passes. Used by tests/media/test_chromium.py.
//   node browser.mjs URL [seconds]
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, secs = '60'] = process.argv.slice(2);
const dir = mkdtempSync(join(tmpdir(), 'vigil-chromium-'));
const ctx = await chromium.launchPersistentContext(dir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  ignoreHTTPSErrors: true,
  args: ['--no-sandbox', '--disable-gpu', '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream', '--allow-loopback-in-peer-connection',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--no-first-run', '--ignore-certificate-errors'],
});
let stop = false;
process.stdin.on('end', () => { stop = true; });
process.stdin.resume();
const page = await ctx.newPage();
page.on('console', (m) => process.stderr.write(`[page] ${m.text()}\n`));
await page.goto(url);
const deadline = Date.now() + Number(secs) * 1000;
while (!stop && Date.now() < deadline) {
  const s = await page.evaluate(() => (window.vgStats ? window.vgStats() : null));
  process.stdout.write(JSON.stringify(s) + '\n');
  await new Promise((r) => setTimeout(r, 250));
}
await ctx.close();
rmSync(dir, { recursive: true, force: true });
