// DOM and formatting helpers. Everything that puts text on the page goes through textContent (h() below):
// incident data comes from cameras, detectors and squads and is untrusted, so no innerHTML anywhere.
import { getLang, t } from './i18n.js';

/**
 * h('div', { class: 'x', 'data-testid': 'y', onclick: fn }, 'text', child, [more]) → element.
 * Strings become text nodes; null/undefined/false children are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = v;
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k in el && typeof v !== 'string') el[k] = v;
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === undefined || c === null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replace all children of el. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** For the rare place that needs an HTML string (ECharts tooltips): escape &<>"'. */
export function esc(s) {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

function locale() {
  return getLang() === 'en' ? 'en-GB' : 'zh-CN';
}

// Times are shown in the site's time zone (from /api/me), whatever the browser's: evidence, tickets and
// analytics all speak the site's local time.
let timeZone;
export function setTimeZone(tz) {
  timeZone = tz || undefined;
}

export function fmtTime(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(Number(ms))) return '';
  const d = new Date(Number(ms));
  return d.toLocaleString(locale(), { timeZone, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

export function fmtShortTime(ms) {
  if (ms === undefined || ms === null) return '';
  const d = new Date(Number(ms));
  const day = (x) => x.toLocaleDateString('en-CA', { timeZone });
  const sameDay = day(d) === day(new Date());
  return d.toLocaleString(locale(), sameDay ? { timeZone, hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false } : { timeZone, month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', hour12: false });
}

/** ISO string → local time; unparsable → as given. */
export function fmtIso(s) {
  if (!s) return '';
  const ms = Date.parse(String(s));
  return Number.isFinite(ms) ? fmtTime(ms) : String(s);
}

export function fmtDuration(sec) {
  const s = Math.max(0, Math.round(Number(sec) || 0));
  if (s < 60) return t('time.sec', { n: s });
  if (s < 3600) return t('time.min', { n: Math.round(s / 60) });
  return t('time.hour', { h: Math.floor(s / 3600), m: Math.round((s % 3600) / 60) });
}

export function fmtBytes(n) {
  const b = Number(n) || 0;
  if (b < 1024) return `${b} B`;
  if (b < 1024 * 1024) return `${(b / 1024).toFixed(1)} KB`;
  return `${(b / 1024 / 1024).toFixed(1)} MB`;
}

/** A small coloured label. kind is a css modifier (state-dispatched, type-stall, …). */
export function badge(text, kind, attrs) {
  return h('span', { class: `badge ${kind ?? ''}`, ...(attrs ?? {}) }, text);
}

/** Parse '#/route/a/b?x=1' → { path: ['route','a','b'], query: URLSearchParams }. */
export function parseHash(hash) {
  const s = (hash || '').replace(/^#\/?/, '');
  const [p, q] = s.split('?');
  return { path: (p ?? '').split('/').filter(Boolean).map(decodeURIComponent), query: new URLSearchParams(q ?? '') };
}

export function debounce(fn, ms) {
  let timer;
  const d = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  d.cancel = () => clearTimeout(timer);
  return d;
}
