// 实时告警: the incident list, newest first, with filters (type, state, camera; zone from the plan view)
// kept in the hash (#/feed?type=stall&state=open&camera=cam1), and live updates from WS /api/events.
import { api, events } from '../api.js';
import { OPEN_STATES, STATES, TYPES, t, tEnum } from '../i18n.js';
import { fmtShortTime, fmtTime, h, replace } from '../util.js';
import { errorBox, loading, stateBadge, thumb, typeBadge } from './common.js';

const MAX_ITEMS = 300;

export function mount(root, ctx) {
  const q = ctx.query;
  const filter = { type: q.get('type') ?? '', state: q.get('state') ?? '', camera: q.get('camera') ?? '', zone: q.get('zone') ?? '' };
  const abort = new AbortController();
  const rows = new Map(); // id → { el, inc }
  const cameraNames = new Map();
  let disposed = false;
  const timers = new Set();

  const list = h('div', { class: 'feed-list', 'data-testid': 'feed-list', 'aria-live': 'polite' });
  const count = h('span', { class: 'muted', 'data-testid': 'feed-count' });
  const cameraSelect = h(
    'select',
    { 'data-testid': 'filter-camera', onchange: (e) => setFilter({ camera: e.target.value }) },
    h('option', { value: '' }, t('filter.all')),
    // the filtered camera is selected at once; its name comes with the camera list
    filter.camera ? h('option', { value: filter.camera, selected: true }, filter.camera) : null,
  );

  function setFilter(patch) {
    const next = { ...filter, ...patch };
    const qs = new URLSearchParams();
    for (const [k, v] of Object.entries(next)) if (v) qs.set(k, v);
    const s = qs.toString();
    location.hash = `#/feed${s ? `?${s}` : ''}`;
  }

  const select = (key, testid, options) =>
    h(
      'select',
      { 'data-testid': testid, onchange: (e) => setFilter({ [key]: e.target.value }) },
      h('option', { value: '' }, t('filter.all')),
      options.map(([value, label]) => h('option', { value, selected: filter[key] === value }, label)),
    );

  const toolbar = h(
    'div',
    { class: 'toolbar' },
    h('h2', { class: 'view-title' }, t('nav.feed')),
    h('label', { class: 'field' }, h('span', null, t('filter.type')), select('type', 'filter-type', TYPES.map((v) => [v, tEnum('type', v)]))),
    h(
      'label',
      { class: 'field' },
      h('span', null, t('filter.state')),
      select('state', 'filter-state', [[OPEN_STATES.join(','), t('filter.open')], ...STATES.map((v) => [v, tEnum('state', v)])]),
    ),
    h('label', { class: 'field' }, h('span', null, t('filter.camera')), cameraSelect),
    filter.zone ? h('span', { class: 'chip' }, `${t('filter.zone')}: ${filter.zone}`) : null,
    filter.type || filter.state || filter.camera || filter.zone ? h('button', { class: 'btn btn-small btn-ghost', 'data-testid': 'filter-clear', onclick: () => setFilter({ type: '', state: '', camera: '', zone: '' }) }, t('filter.clear')) : null,
    h('span', { class: 'spacer' }),
    count,
  );
  const header = h(
    'div',
    { class: 'feed-head' },
    h('span', null, ''),
    h('span', null, t('col.type')),
    h('span', null, `${t('col.camera')} / ${t('col.zone')}`),
    h('span', null, t('col.state')),
    h('span', null, t('col.squad')),
    h('span', null, t('col.time')),
  );
  replace(root, toolbar, h('div', { class: 'panel feed-panel' }, header, list));

  function matches(inc) {
    if (filter.type && !filter.type.split(',').includes(inc.type)) return false;
    if (filter.state && !filter.state.split(',').includes(inc.state)) return false;
    if (filter.camera && inc.cameraId !== filter.camera) return false;
    if (filter.zone && inc.zoneId !== filter.zone) return false;
    return true;
  }

  function camName(inc) {
    return inc.cameraName || cameraNames.get(inc.cameraId) || inc.cameraId;
  }

  function itemEl(inc) {
    const open = () => (location.hash = `#/incident/${encodeURIComponent(inc.id)}`);
    return h(
      'a',
      {
        class: 'feed-item',
        href: `#/incident/${encodeURIComponent(inc.id)}`,
        'data-testid': 'feed-item',
        'data-id': inc.id,
        'data-type': inc.type,
        'data-state': inc.state,
        'data-camera': inc.cameraId,
        onkeydown: (e) => e.key === ' ' && (e.preventDefault(), open()),
      },
      thumb(inc.thumbnail, inc.type),
      h('span', { class: 'cell' }, typeBadge(inc.type), h('span', { class: 'new-tag' }, t('feed.new')), inc.recurrenceOf ? h('span', { class: 'muted small' }, ' ↻') : null, h('div', { class: 'muted small mono' }, inc.id)),
      h('span', { class: 'cell' }, h('div', { class: 'strong' }, camName(inc)), h('div', { class: 'muted small' }, [inc.zoneName || inc.zoneId, inc.street].filter(Boolean).join(' · '))),
      h('span', { class: 'cell' }, stateBadge(inc.state)),
      h('span', { class: 'cell' }, inc.squad ? inc.squad.name || inc.squad.id : h('span', { class: 'muted' }, '—'), inc.priority === 'high' ? h('span', { class: 'badge prio-high' }, tEnum('priority', 'high')) : null),
      h('span', { class: 'cell time', title: fmtTime(inc.confirmedMs) }, fmtShortTime(inc.confirmedMs)),
    );
  }

  function flash(el, cls, ms) {
    el.classList.add(cls);
    const timer = setTimeout(() => {
      el.classList.remove(cls);
      timers.delete(timer);
    }, ms);
    timers.add(timer);
  }

  function updateCount() {
    count.textContent = t('feed.count', { n: rows.size });
    const empty = list.querySelector('.empty');
    if (rows.size === 0 && !empty) list.appendChild(h('div', { class: 'empty', 'data-testid': 'feed-empty' }, t('feed.empty')));
    if (rows.size > 0 && empty) empty.remove();
  }

  function renderAll(items) {
    rows.clear();
    list.replaceChildren();
    for (const inc of items.slice(0, MAX_ITEMS)) {
      const el = itemEl(inc);
      rows.set(inc.id, { el, inc });
      list.appendChild(el);
    }
    updateCount();
  }

  function onIncident(change, inc) {
    const row = rows.get(inc.id);
    if (!matches(inc)) {
      if (row) {
        row.el.remove();
        rows.delete(inc.id);
        updateCount();
      }
      return;
    }
    if (row) {
      if (row.inc.updatedMs > inc.updatedMs) return; // a stale event
      const el = itemEl(inc);
      if (row.el.classList.contains('is-new')) el.classList.add('is-new');
      row.el.replaceWith(el);
      rows.set(inc.id, { el, inc });
      flash(el, 'is-updated', 2500);
    } else {
      const el = itemEl(inc);
      rows.set(inc.id, { el, inc });
      list.prepend(el);
      flash(el, 'is-new', 15000);
      while (rows.size > MAX_ITEMS) {
        const last = list.lastElementChild;
        if (!last?.dataset.id) break;
        rows.delete(last.dataset.id);
        last.remove();
      }
      updateCount();
    }
  }

  async function load() {
    list.replaceChildren(loading());
    try {
      const query = { limit: MAX_ITEMS, type: filter.type, state: filter.state, camera: filter.camera, zone: filter.zone };
      const res = await api.incidents(query, { signal: abort.signal });
      if (disposed) return;
      const items = (res?.items ?? []).filter(matches);
      renderAll(items);
    } catch (err) {
      if (disposed || err.name === 'AbortError') return;
      list.replaceChildren(errorBox(err, load));
    }
  }

  const unsub = events.on((msg) => {
    if (msg.type === 'reconnected') return load();
    if (msg.type === 'incident' && msg.incident) onIncident(msg.change, msg.incident);
  });

  if (ctx.isCommand) {
    api
      .cameras({ signal: abort.signal })
      .then((cams) => {
        if (disposed) return;
        const arr = Array.isArray(cams) ? cams : (cams?.items ?? []);
        for (const c of arr) {
          cameraNames.set(c.id, c.name || c.id);
          const label = c.name ? `${c.name} (${c.id})` : c.id;
          const existing = [...cameraSelect.options].find((o) => o.value === c.id);
          if (existing) existing.textContent = label;
          else cameraSelect.appendChild(h('option', { value: c.id }, label));
        }
        for (const { el, inc } of rows.values()) {
          const strong = el.querySelector('.strong');
          if (strong && !inc.cameraName) strong.textContent = camName(inc);
        }
      })
      .catch(() => {});
  }
  load();
  // Evidence URLs are signed for an hour: a console left open re-reads the list (fresh thumbnails) now and then.
  const refresh = setInterval(load, 20 * 60_000);

  return () => {
    disposed = true;
    clearInterval(refresh);
    abort.abort();
    unsub();
    for (const timer of timers) clearTimeout(timer);
  };
}
