// Every text of the citizen page has its Chinese (web/citizen/i18n.js): the texts
// citizen.js passes to t() or marks with N_(), and those index.html marks with
// data-i18n (an element's text) or data-i18n-attr (its attributes). Each
// translation keeps the key's {placeholders}, and the dictionary holds no text the
// page no longer uses. No browser: the sources are read as text.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web', 'citizen');
const { DICTS, pickLang, t } = await import(join(web, 'i18n.js'));
let failed = 0;
let passed = 0;
function check(cond, what) {
  if (cond) passed++; else failed++;
  console.log(`${cond ? 'ok  ' : 'FAIL'} ${what}`);
}

// A JS string literal's value ('…' or "…", with \' \" \\ escapes).
const unquote = (lit) => lit.slice(1, -1).replace(/\\(['"\\])/g, '$1');
const LIT = String.raw`'(?:[^'\\\n]|\\.)*'|"(?:[^"\\\n]|\\.)*"`;

const js = readFileSync(join(web, 'citizen.js'), 'utf8') + readFileSync(join(web, 'upload.js'), 'utf8');
const used = new Map(); // key -> where
for (const m of js.matchAll(new RegExp(String.raw`\b(t|N_)\(\s*(${LIT})`, 'g'))) {
  used.set(unquote(m[2]), 'citizen.js');
}
// t() with anything but a literal or a table's entry would escape this check.
const calls = [...js.matchAll(/\bt\(\s*([^'"\s)][^,)]*)/g)].map((m) => m[1]).filter((a) => !/^words\[/.test(a));
check(calls.length === 0, `citizen.js calls t() with literals only (${calls.join('; ') || 'all literal'})`);

const html = readFileSync(join(web, 'index.html'), 'utf8');
const norm = (s) => s.trim().replace(/\s+/g, ' ').replace(/&quot;/g, '"').replace(/&amp;/g, '&');
for (const m of html.matchAll(/<(\w+)\b([^>]*)\sdata-i18n(?:\s[^>]*)?>([^<]*)</g)) used.set(norm(m[3]), 'index.html');
for (const m of html.matchAll(/<\w+\b[^>]*>/g)) {
  const tag = m[0];
  const attrs = /data-i18n-attr="([^"]*)"/.exec(tag);
  if (!attrs) continue;
  for (const a of attrs[1].split(',')) {
    const v = new RegExp(`\\s${a}="([^"]*)"`).exec(tag);
    check(!!v, `index.html: ${a} to translate is present in ${tag.slice(0, 60)}`);
    if (v) used.set(norm(v[1]), 'index.html');
  }
}
check(used.size > 100, `${used.size} texts found in the page's sources`);

const zh = DICTS.zh;
const missing = [...used.keys()].filter((k) => !(k in zh));
check(missing.length === 0, `every text has its Chinese (${missing.length} missing${missing.length ? ': ' + missing.map((k) => JSON.stringify(k)).join(', ') : ''})`);
const stale = Object.keys(zh).filter((k) => !used.has(k));
check(stale.length === 0, `no translation of a text the page no longer has (${stale.map((k) => JSON.stringify(k)).join(', ') || 'none'})`);
const vars = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
const badVars = Object.entries(zh).filter(([k, v]) => vars(k) !== vars(v)).map(([k]) => k);
check(badVars.length === 0, `translations keep their placeholders (${badVars.join('; ') || 'all'})`);
const latin = Object.entries(zh).filter(([, v]) => !/[\u3400-\u9fff]/.test(v)).map(([k]) => k);
check(latin.length === 0, `every translation is in Chinese (${latin.join('; ') || 'all'})`);

// The language chosen from the phone's list.
check(pickLang(null, ['zh-CN', 'en']) === 'zh' && pickLang(null, ['zh-TW']) === 'zh', 'a phone in Chinese gets Chinese');
check(pickLang(null, ['de-DE', 'en-GB', 'zh']) === 'en', 'the first language the page speaks wins (en-GB before zh)');
check(pickLang(null, ['ja-JP']) === 'en' && pickLang(null, []) === 'en', 'a language the page does not speak gets English');
check(pickLang('zh', ['en-US']) === 'zh' && pickLang('xx', ['zh-CN']) === 'zh', "the caller's own choice wins, an unknown one is ignored");
check(t('Waiting for a call-taker: you are number {n} in the queue.', { n: 3 }) ===
      'Waiting for a call-taker: you are number 3 in the queue.', 'placeholders are filled in the English text');

console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
