// Every text of the pages has its Chinese in the page's table (web/citizen/zh.js,
// web/console/zh.js): the texts the page's scripts pass to t() or mark with N_(),
// and those its index.html marks with data-i18n (an element's text) or
// data-i18n-attr (its attributes). Each translation keeps the key's {placeholders}
// and is in Chinese, and a table holds no text its page no longer uses. No browser:
// the sources are read as text.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
const { pickLang, t } = await import(join(web, 'common', 'i18n.js'));
let failed = 0;
let passed = 0;
function check(cond, what) {
  if (cond) passed++; else failed++;
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
}

// A JS string literal's value ('…' or "…", with \' \" \\ escapes).
const unquote = (lit) => lit.slice(1, -1).replace(/\\(['"\\])/g, '$1');
const LIT = String.raw`'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"`;
const norm = (s) => s.trim().replace(/\s+/g, ' ').replace(/&quot;/g, '"').replace(/&amp;/g, '&');

// A page's table, as its zh.js gives it to addWords (its import line dropped).
function table(file) {
  const words = {};
  const src = readFileSync(file, 'utf8').replace(/^import .*$/gm, '');
  new Function('addWords', src)((lang, w) => Object.assign(words, w)); // eslint-disable-line no-new-func
  return words;
}

function page(name, scripts, minTexts) {
  const dir = join(web, name);
  const used = new Map(); // key -> file
  for (const f of scripts) {
    const js = readFileSync(join(dir, f), 'utf8');
    for (const m of js.matchAll(new RegExp(String.raw`\b(t|N_)\(\s*(${LIT})`, 'g'))) used.set(unquote(m[2]), f);
    // A local named t hides the translation (a message too long for the chat threw
    // instead of saying so): none, in a file that translates.
    const shadow = [...js.matchAll(/\b(?:const|let|var)\s+t\b|\(\s*t\s*(?:,[^)]*)?\)\s*=>|\bt\s*=>|function\s*\w*\s*\(\s*t\b/g)]
      .map((m) => m[0]);
    check(shadow.length === 0, `${name}/${f} has no local named t (${shadow.join('; ') || 'none'})`);
    // t() with anything but a literal or a table's entry would escape this check.
    const calls = [...js.matchAll(/\bt\(\s*([^'"\s)][^,)]*)/g)].map((m) => m[1]).filter((a) => !/^[A-Za-z_]+\[/.test(a));
    check(calls.length === 0, `${name}/${f} calls t() with literals only (${calls.join('; ') || 'all literal'})`);
  }
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  for (const m of html.matchAll(/<(\w+)\b([^>]*)\sdata-i18n(?:\s[^>]*)?>([^<]*)</g)) used.set(norm(m[3]), 'index.html');
  for (const m of html.matchAll(/<\w+\b[^>]*>/g)) {
    const tag = m[0];
    const attrs = /data-i18n-attr="([^"]*)"/.exec(tag);
    if (!attrs) continue;
    for (const a of attrs[1].split(',')) {
      const v = new RegExp(`\\s${a}="([^"]*)"`).exec(tag);
      check(!!v, `${name}/index.html: ${a} to translate is present in ${tag.slice(0, 60)}`);
      if (v) used.set(norm(v[1]), 'index.html');
    }
  }
  check(used.size >= minTexts, `${name}: ${used.size} texts found in the page's sources (at least ${minTexts})`);

  const zh = table(join(dir, 'zh.js'));
  // a key given twice: the second silently wins
  const src = readFileSync(join(dir, 'zh.js'), 'utf8');
  const keys = [...src.matchAll(new RegExp(String.raw`^\s*(${LIT})\s*:`, 'gm'))].map((m) => unquote(m[1]));
  const twice = keys.filter((k, i) => keys.indexOf(k) !== i);
  check(twice.length === 0, `${name}: no text translated twice (${twice.join('; ') || 'none'})`);
  const missing = [...used.keys()].filter((k) => !(k in zh));
  check(missing.length === 0, `${name}: every text has its Chinese (${missing.length} missing` +
        `${missing.length ? ': ' + missing.map((k) => `${JSON.stringify(k)} (${used.get(k)})`).join(', ') : ''})`);
  const stale = Object.keys(zh).filter((k) => !used.has(k));
  check(stale.length === 0, `${name}: no translation of a text the page no longer has (${stale.map((k) => JSON.stringify(k)).join(', ') || 'none'})`);
  const vars = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
  const badVars = Object.entries(zh).filter(([k, v]) => vars(k) !== vars(v)).map(([k]) => k);
  check(badVars.length === 0, `${name}: translations keep their placeholders (${badVars.join('; ') || 'all'})`);
  // (a template of punctuation alone, "{what}（{detail}）", differs from its key)
  const latin = Object.entries(zh).filter(([k, v]) => !/[\u3400-\u9fff]/.test(v) && (v === k || /[A-Za-z]{2,}/.test(v.replace(/\{\w+\}/g, ''))))
    .map(([k]) => k);
  check(latin.length === 0, `${name}: every translation is in Chinese (${latin.join('; ') || 'all'})`);
}

page('citizen', ['citizen.js', 'upload.js'], 100);
if (existsSync(join(web, 'console', 'zh.js'))) page('console', ['console.js', 'map.js'], 150);

// The language chosen from the phone's list.
check(pickLang(null, ['zh-CN', 'en']) === 'zh' && pickLang(null, ['zh-TW']) === 'zh', 'a phone in Chinese gets Chinese');
check(pickLang(null, ['de-DE', 'en-GB', 'zh']) === 'en', 'the first language the page speaks wins (en-GB before zh)');
check(pickLang(null, ['ja-JP']) === 'en' && pickLang(null, []) === 'en', 'a language the page does not speak gets English');
check(pickLang('zh', ['en-US']) === 'zh' && pickLang('xx', ['zh-CN']) === 'zh', "the caller's own choice wins, an unknown one is ignored");
check(t('Waiting for a call-taker: you are number {n} in the queue.', { n: 3 }) ===
      'Waiting for a call-taker: you are number 3 in the queue.', 'placeholders are filled in the English text');

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
