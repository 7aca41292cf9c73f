// 检测器评分: GET /api/scoreboard as a sortable table (detector, camera, zone, confirmed, false positive,
// pending, precision).
import { api } from '../api.js';
import { t } from '../i18n.js';
import { h, replace } from '../util.js';
import { errorBox, loading, rangeOf, rangeSelector, savedRange } from './common.js';

const COLUMNS = [
  ['detector', 'score.detector', 'text'],
  ['cameraId', 'score.camera', 'text'],
  ['zone', 'score.zone', 'text'],
  ['confirmed', 'score.confirmed', 'num'],
  ['falsePositive', 'score.falsePositive', 'num'],
  ['pending', 'score.pending', 'num'],
  ['precision', 'score.precision', 'num'],
];

export function mount(root, ctx) {
  let disposed = false;
  let abort = null;
  let range = savedRange('30d');
  let rows = [];
  let sort = { key: 'precision', dir: 1 }; // worst precision first: what needs attention
  const table = h('div', { class: 'panel table-panel' }, loading());
  replace(
    root,
    h(
      'div',
      { class: 'toolbar' },
      h('h2', { class: 'view-title' }, t('score.title')),
      rangeSelector(range, (k) => {
        range = k;
        load();
      }),
    ),
    table,
  );

  const value = (r, key) => (key === 'zone' ? r.zoneName || r.zoneId : r[key]);

  function render() {
    if (!rows.length) return replace(table, h('div', { class: 'empty', 'data-testid': 'scoreboard-empty' }, t('score.empty')));
    const sorted = [...rows].sort((a, b) => {
      const va = value(a, sort.key);
      const vb = value(b, sort.key);
      if (va === vb) return 0;
      if (va === null || va === undefined) return 1; // no precision yet: last
      if (vb === null || vb === undefined) return -1;
      return (typeof va === 'number' ? va - vb : String(va).localeCompare(String(vb))) * sort.dir;
    });
    replace(
      table,
      h(
        'table',
        { class: 'grid-table', 'data-testid': 'scoreboard' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            COLUMNS.map(([key, label, kind]) =>
              h(
                'th',
                {
                  class: `${kind} sortable ${sort.key === key ? 'sorted' : ''}`,
                  onclick: () => {
                    sort = { key, dir: sort.key === key ? -sort.dir : kind === 'num' ? -1 : 1 };
                    render();
                  },
                },
                t(label),
                sort.key === key ? (sort.dir > 0 ? ' ▲' : ' ▼') : '',
              ),
            ),
          ),
        ),
        h(
          'tbody',
          null,
          sorted.map((r) =>
            h(
              'tr',
              { 'data-testid': 'score-row', 'data-detector': r.detector },
              h('td', { class: 'mono' }, r.detector),
              h('td', null, h('a', { href: `#/feed?camera=${encodeURIComponent(r.cameraId)}` }, r.cameraId)),
              h('td', null, r.zoneName ? `${r.zoneName} ` : '', h('span', { class: 'muted small mono' }, r.zoneId)),
              h('td', { class: 'num' }, String(r.confirmed ?? 0)),
              h('td', { class: 'num' }, String(r.falsePositive ?? 0)),
              h('td', { class: 'num' }, String(r.pending ?? 0)),
              h('td', { class: 'num' }, precisionCell(r.precision)),
            ),
          ),
        ),
      ),
    );
  }

  function precisionCell(p) {
    if (p === null || p === undefined) return h('span', { class: 'muted' }, '—');
    const pct = Math.round(p * 1000) / 10;
    const cls = p >= 0.9 ? 'good' : p >= 0.7 ? 'fair' : 'poor';
    return h('span', { class: `precision ${cls}` }, h('span', { class: 'bar' }, h('span', { style: { width: `${Math.max(0, Math.min(100, pct))}%` } })), `${pct}%`);
  }

  async function load() {
    abort?.abort();
    abort = new AbortController();
    try {
      const res = await api.scoreboard(rangeOf(range), { signal: abort.signal });
      if (disposed) return;
      rows = res?.rows ?? [];
      render();
    } catch (err) {
      if (disposed || err.name === 'AbortError') return;
      replace(table, errorBox(err, load));
    }
  }

  load();
  void ctx;
  return () => {
    disposed = true;
    abort?.abort();
  };
}
