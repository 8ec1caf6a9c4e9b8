// The citizen page's words in the caller's language. The centres this serves are
// Chinese police "110" centres, and a caller may be a visitor: the page speaks
// Simplified Chinese or English, chosen from the phone's languages, and a button on
// the first screen (named in the other language's own script) switches it.
//
// The English text is the key: citizen.js and index.html stay readable, and a text
// with no translation shows in English rather than as a key. tests/e2e/
// test_i18n_keys.mjs fails for any text of the page that has no Chinese here.
// Messages the centre configures (vigil.conf) are shown as written when they are in
// the page's script, else the page's own words for them (serverText).

const ZH = {
  // index.html
  'Emergency 110': '110 紧急报警',
  'Choose how to reach the police.': '请选择报警方式。',
  'End': '结束',
  'Police emergency 110': '110 报警',
  'Your phone number': '您的手机号码',
  'Enter your phone number first, so the police can call you back.': '请先填写手机号码，以便警方回拨。',
  'Video call 110': '视频报警',
  'The police see and hear you': '警方能看到和听到您',
  'Silent alarm': '静默报警',
  'Nothing sounds here; the police see and hear, you write': '手机不发出任何声音；警方能看到和听到，您打字交流',
  'Voice call': '语音报警',
  'Talk, no camera': '通话，不开摄像头',
  'Report with pictures': '图文报警',
  'Text, photos, videos': '文字、照片、视频',
  'If this page does not work, call 110.': '如果本页面无法使用，请拨打 110。',
  'Report': '图文报警',
  'What happened?': '发生了什么？',
  'Where? (your position is sent too, if you allow it)': '在哪里？（如您允许，您的位置也会一并发送）',
  'Street, building, landmark': '街道、楼栋、标志性建筑',
  'Photos (up to 9)': '照片（最多 9 张）',
  'Short videos (up to 3)': '短视频（最多 3 段）',
  'The police may call me back': '警方可以回拨给我',
  'Send report': '发送报警',
  'Back': '返回',
  'Alarm': '报警',
  'Files': '文件',
  'Add photos or videos': '添加照片或视频',
  'Messages': '消息',
  'Answer with one tap': '一键回答',
  'Yes': '是',
  'No': '否',
  'Wait': '稍等',
  'Wait, I cannot answer now': '稍等，我现在无法回答',
  "I'm hurt": '我受伤了',
  'I am hurt': '我受伤了',
  'Not safe': '不安全',
  'I am not safe': '我现在不安全',
  'Message': '消息',
  'Write a message': '输入消息',
  'Send': '发送',
  'Call 110': '拨打 110',
  'The alarm has ended': '报警已结束',
  'Your files are still being sent: keep this page open until each says "received by the police".':
    '文件仍在发送：请保持本页面打开，直到每个文件都显示“警方已收到”。',
  'How well were you helped? (1 = badly, 5 = very well)': '您对这次处理满意吗？（1 = 很差，5 = 很好）',
  'Comment (optional)': '意见（可不填）',
  'Send rating': '提交评价',
  'Back to start': '返回首页',
  // citizen.js: state line and buttons
  'Opening…': '正在打开…',
  'Starting: allow the access your phone asks for.': '正在启动：请允许手机请求的权限。',
  'Connecting…': '正在连接…',
  'Connecting to the police…': '正在连接警方…',
  'Reconnecting…': '正在重新连接…',
  'Connection lost: reconnecting, your alarm stays open…': '连接中断：正在重新连接，您的报警仍然有效…',
  'Report sent: number {n} in the queue.': '报警已发送：排队第 {n} 位。',
  'Waiting ({n})': '等待中（{n}）',
  ' · still trying': ' · 仍在尝试',
  'Waiting for a call-taker: you are number {n} in the queue.': '正在等待接警员：您排在第 {n} 位。',
  'Waiting {t}.': '已等待 {t}。',
  '{m} min {s} s': '{m} 分 {s} 秒',
  '{s} s': '{s} 秒',
  'A call-taker has your report.': '接警员已收到您的报警。',
  'A call-taker ({name}) has your report.': '接警员（{name}）已收到您的报警。',
  'Connected': '已连接',
  'Connected to the police.': '已接通警方。',
  'Connected to the police ({name}).': '已接通警方（{name}）。',
  'Ended.': '已结束。',
  'Close report': '关闭',
  'Hang up': '挂断',
  // location and media
  'Your location is not shared: write where you are.': '您的位置没有共享：请写下您在哪里。',
  'Your location is not found yet: write where you are.': '还没有获取到您的位置：请写下您在哪里。',
  'Camera not allowed: the police can hear you, and you can write below.': '摄像头未获允许：警方能听到您，您也可以在下方打字。',
  'Microphone not available.': '麦克风不可用。',
  'Camera or microphone not allowed: you can still write in the chat below.': '摄像头或麦克风未获允许：您仍可在下方打字。',
  "The call-taker's picture": '接警员的画面',
  'Your own picture': '您自己的画面',
  "The call-taker's picture will appear here.": '接警员的画面将显示在这里。',
  'Voice call: speak normally. The police hear you.': '语音通话：请正常说话，警方能听到您。',
  'Connecting sound and picture…': '正在连接声音和画面…',
  'Sound and picture connected.': '声音和画面已连接。',
  'Connection unstable…': '连接不稳定…',
  'Sound and picture lost: trying again…': '声音和画面中断：正在重试…',
  'Connecting sound…': '正在连接声音…',
  'Sound connected.': '声音已连接。',
  'Sound lost: trying again…': '声音中断：正在重试…',
  'Another officer': '另一位警员',
  'Media failed: {e}': '音视频未能启动：{e}',
  'Allow the camera and microphone so the police can see and hear.': '请允许使用摄像头和麦克风，以便警方看到和听到。',
  'Sound and picture failed: {d}': '声音和画面失败：{d}',
  'Camera or microphone lost: the police may not see or hear you. You can write below.':
    '摄像头或麦克风中断：警方可能看不到或听不到您。您可以在下方打字。',
  // chat
  'You': '我',
  'Police': '警方',
  'waiting for connection': '等待连接',
  '{text} (not sent: {why})': '{text}（未发送：{why}）',
  'Write here': '在这里输入',
  'Notes': '备忘录',
  'Too long for one message: please shorten it or send it in parts.': '一条消息太长：请缩短或分几次发送。',
  'not connected': '未连接',
  'no answer': '没有应答',
  // phone number
  'Write the phone number with digits only (a + may come first).': '手机号码只能填写数字（开头可以有 +）。',
  'A phone number has 3 to 15 digits; this one has {n}.': '手机号码应为 3 到 15 位数字；这个号码有 {n} 位。',
  // refusals and the end
  'You are outside the area this service covers. Please call 110.': '您不在本服务覆盖的区域内。请拨打 110。',
  'This service cannot take your alarm. In an emergency, call 110.': '本服务无法受理您的报警。紧急情况请拨打 110。',
  'You are outside our service area': '您不在本服务的范围内',
  'Your alarm could not be sent': '您的报警未能发送',
  ' Please call 110.': ' 请拨打 110。',
  'Not sent: call 110.': '未发送：请拨打 110。',
  'The alarm could not be sent: no connection to the police. Please call 110.': '报警未能发送：无法连接到警方。请拨打 110。',
  'No connection': '无法连接',
  'Your report stays with the police: a call-taker will read it.': '您的报警已留给警方：接警员会阅读。',
  'You ended the alarm.': '您已结束报警。',
  'You ended the alarm before a call-taker answered.': '您在接警员接听之前结束了报警。',
  'The alarm was closed while the connection was down.': '连接中断期间，报警已被关闭。',
  'Your alarm was closed while you were offline, before a call-taker answered. If you still need help, go back to the start and raise it again, or call 110.':
    '您离线期间、接警员接听之前，报警已被关闭。如仍需帮助，请返回首页重新报警，或拨打 110。',
  'The alarm has ended.': '报警已结束。',
  'The police ended the alarm.': '警方已结束报警。',
  // uploads
  'At most 9 photos.': '最多 9 张照片。',
  'At most 3 videos.': '最多 3 段视频。',
  'waiting': '等待中',
  'sending {pct}%': '发送中 {pct}%',
  'connection lost, will resume': '连接中断，稍后继续',
  'sent, checking': '已发送，正在核对',
  'received by the police': '警方已收到',
  'not sent': '未发送',
  'cut off by the reload: choose it again below': '页面刷新时中断：请在下方重新选择',
  'Place: {p}': '地点：{p}',
  'The text is too long: please shorten it.': '文字太长：请缩短。',
  // the call-taker's side
  'The call-taker was cut off: your report goes to another.': '接警员连接中断：您的报警将转给另一位接警员。',
  'The call-taker was cut off: putting you through to another.': '接警员连接中断：正在为您转接另一位接警员。',
  'No call-taker has answered yet. Please also call 110.': '还没有接警员接听。请同时拨打 110。',
  'The call-taker is back.': '接警员已重新连接。',
  'The call-taker lost the connection; stay on.': '接警员的连接中断了，请不要挂断。',
  // rating
  'Thank you: you gave {n} of 5.': '谢谢：您给了 {n} 分（满分 5 分）。',
  'Rating not sent: {why}': '评价未发送：{why}',
};

export const DICTS = { en: {}, zh: ZH };
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

const nav = typeof navigator === 'undefined' ? {} : navigator; // node, in tests/e2e/test_i18n_keys.mjs
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
