// Pieces shared by views: type/state badges, the time-range selector, loading and error boxes.
import { t, tEnum } from '../i18n.js';
import { badge, h, replace } from '../util.js';

export const typeBadge = (type) => badge(tEnum('type', type), `type type-${type}`, { 'data-type': type });
export const stateBadge = (state) => badge(tEnum('state', state), `state state-${state}`, { 'data-state': state, 'data-testid': 'state-badge' });

export function loading() {
  return h('div', { class: 'loading' }, h('span', { class: 'spinner' }), t('loading'));
}

export function errorBox(err, retry) {
  return h(
    'div',
    { class: 'error', role: 'alert' },
    t('error', { message: err?.message ?? String(err) }),
    retry ? h('button', { class: 'btn btn-small', onclick: retry }, t('retry')) : null,
  );
}

/** today / 7 days / 30 days / all → { from, to } in ms (local midnight for "today"; nothing for "all"). */
export function rangeOf(key) {
  const now = Date.now();
  if (key === 'all') return {};
  if (key === 'today') {
    const d = new Date();
    d.setHours(0, 0, 0, 0);
    return { from: d.getTime(), to: now };
  }
  const days = key === '30d' ? 30 : 7;
  return { from: now - days * 86_400_000, to: now };
}

/** The time-range control; the choice is remembered for the session, then onChange(key). */
export function rangeSelector(current, onChange) {
  const keys = [
    ['today', 'analytics.today'],
    ['7d', 'analytics.7d'],
    ['30d', 'analytics.30d'],
    ['all', 'analytics.all'],
  ];
  const el = h('div', { class: 'segmented', role: 'group', 'data-testid': 'range' });
  const render = (cur) =>
    replace(
      el,
      keys.map(([k, label]) =>
        h(
          'button',
          {
            class: `seg ${k === cur ? 'active' : ''}`,
            'data-testid': `range-${k}`,
            'aria-pressed': k === cur ? 'true' : 'false',
            onclick: () => {
              render(k);
              saveRange(k);
              onChange(k);
            },
          },
          t(label),
        ),
      ),
    );
  render(current);
  return el;
}

const RANGE_KEY = 'streetwatch.range';
export function savedRange(fallback = '7d') {
  try {
    const v = sessionStorage.getItem(RANGE_KEY);
    if (v === 'today' || v === '7d' || v === '30d' || v === 'all') return v;
  } catch {
    /* ignore */
  }
  return fallback;
}
function saveRange(k) {
  try {
    sessionStorage.setItem(RANGE_KEY, k);
  } catch {
    /* ignore */
  }
}

/** Thumbnail image, or a placeholder when there is none (or it fails to load). */
export function thumb(url, type, cls = 'thumb') {
  const ph = () => h('div', { class: `${cls} thumb-empty type-${type ?? ''}` }, h('span', null, tEnum('type', type).slice(0, 2)));
  if (!url) return ph();
  const img = h('img', { class: cls, src: url, loading: 'lazy', alt: '', 'data-testid': 'thumb' });
  img.addEventListener('error', () => img.replaceWith(ph()), { once: true });
  return img;
}
