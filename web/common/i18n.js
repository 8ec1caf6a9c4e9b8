// The pages' words in the reader's language. The centres this serves are Chinese
// police "110" centres, and a caller may be a visitor: a page speaks Simplified
// Chinese or English, chosen from the browser's languages, and a button (named in
// the other language's own script) switches it, kept on the device.
//
// The English text is the key: the pages' code stays readable, and a text with no
// translation shows in English rather than as a key. Each page keeps its own table
// (web/citizen/zh.js, web/console/zh.js, added with addWords); tests/e2e/
// test_i18n_keys.mjs fails for any text of a page that has no Chinese in its table.
// Messages the centre configures (vigil.conf) are shown as written when they are in
// the page's script, else the page's own words for them (serverText).

export const DICTS = { en: {}, zh: {} };

// A page's table of translations, from the English text to the language's.
export function addWords(lang, words) { Object.assign(DICTS[lang], words); }

// What the <html lang> says, for screen readers and fonts.
const TAGS = { en: 'en', zh: 'zh-CN' };
// The switch names the other language in its own script.
const SWITCH = { en: { to: 'zh', label: '中文' }, zh: { to: 'en', label: 'English' } };
const KEY = 'vigil.lang';

// The first of the phone's languages the page speaks; English for any other (a
// visitor reads it more likely than Chinese; the switch is one tap away).
export function pickLang(chosen, langs) {
  if (chosen && DICTS[chosen]) return chosen;
  for (const l of langs || []) {
    const p = String(l).toLowerCase().split('-')[0];
    if (DICTS[p]) return p;
  }
  return 'en';
}

function chosen() {
  try { return globalThis.localStorage.getItem(KEY); } catch (e) { return null; }
}

const nav = typeof navigator === 'undefined' ? {} : navigator; // node: tests/e2e/test_i18n_keys.mjs
export let lang = pickLang(chosen(), nav.languages || [nav.language]);

// Marks a text to translate where it is written (a table of texts), for the key
// check; t() translates it where it is shown.
export const N_ = (key) => key;

export function t(key, vars) {
  let s = DICTS[lang][key] || key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}

// Han characters: a configured message written in Chinese.
const HAN = /[\u3400-\u9fff]/;

// A text from the gateway (vigil.conf's messages, error details): as written when it
// is in the page's script, else the page's own words for it (or nothing).
export function serverText(msg, fallbackKey) {
  if (msg && HAN.test(msg) === (lang === 'zh')) return msg;
  return fallbackKey ? t(fallbackKey) : '';
}

// The page's fixed text: an element with data-i18n has its English text as the
// key (kept in the attribute the first time); data-i18n-attr names attributes to
// translate the same way (their English kept in data-en-<name>).
export function applyStatic(root = document) {
  document.documentElement.lang = TAGS[lang];
  for (const e of root.querySelectorAll('[data-i18n]')) {
    if (!e.dataset.i18n) e.dataset.i18n = e.textContent.trim().replace(/\s+/g, ' ');
    e.textContent = t(e.dataset.i18n);
  }
  for (const e of root.querySelectorAll('[data-i18n-attr]')) {
    for (const a of e.dataset.i18nAttr.split(',')) {
      const keep = 'data-en-' + a;
      if (!e.hasAttribute(keep)) e.setAttribute(keep, e.getAttribute(a) || '');
      e.setAttribute(a, t(e.getAttribute(keep)));
    }
  }
  const sw = document.getElementById('lang-switch');
  if (sw) {
    sw.textContent = SWITCH[lang].label;
    sw.lang = TAGS[SWITCH[lang].to];
  }
}

// The switch: kept on the phone, so the next alarm opens in it.
export function switchLang() {
  lang = SWITCH[lang].to;
  try { localStorage.setItem(KEY, lang); } catch (e) { /* not kept */ }
  applyStatic();
}

// The caller's language as a BCP 47 tag, for the call-taker's caller card.
export function langTag() { return TAGS[lang]; }
