// 统计分析: ECharts (global `echarts`, /vendor/echarts.min.js) over GET /api/analytics: hour of day × type
// (stacked bars), type share (pie), top zones, top streets and top shops / places (bars).
import { api } from '../api.js';
import { TYPES, t, tEnum } from '../i18n.js';
import { debounce, esc, h, replace } from '../util.js';
import { errorBox, rangeOf, rangeSelector, savedRange } from './common.js';

const TYPE_COLORS = { stall: '#f5a524', door_front: '#3ea6ff', stacking: '#e5484d' };
const AXIS = { axisLine: { lineStyle: { color: '#3a4660' } }, axisLabel: { color: '#9fb0cc' }, splitLine: { lineStyle: { color: '#1f2a40' } } };

export function mount(root, ctx) {
  let disposed = false;
  let range = savedRange('7d');
  let abort = null;
  const charts = [];
  const total = h('span', { class: 'total', 'data-testid': 'analytics-total' });
  const status = h('div');
  const box = (key, testid, wide) => {
    const el = h('div', { class: 'chart', 'data-testid': testid });
    const note = h('span', { class: 'muted small chart-note' });
    return { el, note, card: h('section', { class: `panel chart-card ${wide ? 'wide' : ''}` }, h('h3', null, t(key), note), el) };
  };
  const hour = box('analytics.byHour', 'chart-hour', true);
  const type = box('analytics.byType', 'chart-type');
  const zone = box('analytics.byZone', 'chart-zone');
  const street = box('analytics.byStreet', 'chart-street');
  const subject = box('analytics.bySubject', 'chart-subject');
  replace(
    root,
    h(
      'div',
      { class: 'toolbar' },
      h('h2', { class: 'view-title' }, t('analytics.title')),
      rangeSelector(range, (k) => {
        range = k;
        load();
      }),
      h('span', { class: 'spacer' }),
      total,
    ),
    status,
    h('div', { class: 'chart-grid', 'data-testid': 'analytics' }, hour.card, type.card, zone.card, street.card, subject.card),
  );

  function chart(el) {
    let c = window.echarts.getInstanceByDom(el);
    if (!c) {
      c = window.echarts.init(el, 'dark', { renderer: 'canvas' });
      charts.push(c);
    }
    return c;
  }

  const base = () => ({
    backgroundColor: 'transparent',
    textStyle: { fontFamily: 'inherit' },
    animationDuration: 400,
  });

  const noData = (empty) =>
    empty ? { graphic: [{ type: 'text', left: 'center', top: 'middle', style: { text: t('analytics.noData'), fill: '#6b7a96', fontSize: 14 } }] } : { graphic: [] };

  function hbar(el, rows, color) {
    const data = [...rows].reverse();
    chart(el).setOption(
      {
        ...base(),
        ...noData(!rows.length),
        // Names come from the data (zones, streets, shops): escaped, the tooltip is HTML.
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, formatter: (ps) => ps.map((p) => `${esc(p.name)}: ${esc(p.value)}`).join('<br>') },
        grid: { left: 8, right: 24, top: 8, bottom: 8, containLabel: true },
        xAxis: { type: 'value', minInterval: 1, ...AXIS },
        yAxis: { type: 'category', data: data.map((r) => r.label), ...AXIS, axisLabel: { color: '#c8d3e6', width: 110, overflow: 'truncate' } },
        series: [{ type: 'bar', name: t('analytics.count'), data: data.map((r) => r.value), itemStyle: { color, borderRadius: [0, 3, 3, 0] }, barMaxWidth: 18, label: { show: true, position: 'right', color: '#c8d3e6' } }],
      },
      true,
    );
  }

  function render(a) {
    total.textContent = t('analytics.total', { n: a.total ?? 0 });
    hour.note.textContent = a.timezone ? ` · ${a.timezone}` : '';
    const hours = a.byHourType?.hours?.length ? a.byHourType.hours : [...Array(24).keys()];
    const series = a.byHourType?.series ?? [];
    const types = [...TYPES.filter((x) => series.some((s) => s.type === x)), ...series.map((s) => s.type).filter((x) => !TYPES.includes(x))];
    const hourEmpty = !series.some((s) => (s.counts ?? []).some((n) => n > 0));
    chart(hour.el).setOption(
      {
        ...base(),
        ...noData(hourEmpty),
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, formatter: (ps) => [esc(ps[0]?.name), ...ps.filter((p) => p.value > 0).map((p) => `${p.marker}${esc(p.seriesName)}: ${esc(p.value)}`)].join('<br>') },
        legend: { top: 0, textStyle: { color: '#c8d3e6' } },
        grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
        xAxis: { type: 'category', data: hours.map((x) => t('analytics.hour', { h: x })), ...AXIS },
        yAxis: { type: 'value', minInterval: 1, ...AXIS },
        series: types.map((ty) => ({
          type: 'bar',
          stack: 'hour',
          name: tEnum('type', ty),
          data: series.find((s) => s.type === ty)?.counts ?? [],
          itemStyle: { color: TYPE_COLORS[ty] },
          emphasis: { focus: 'series' },
        })),
      },
      true,
    );
    const byType = (a.byType ?? []).filter((x) => x.count > 0);
    chart(type.el).setOption(
      {
        ...base(),
        ...noData(!byType.length),
        tooltip: { trigger: 'item', formatter: (p) => `${esc(p.name)}: ${esc(p.value)} (${esc(p.percent)}%)` },
        legend: { bottom: 0, textStyle: { color: '#c8d3e6' } },
        series: [
          {
            type: 'pie',
            radius: ['40%', '68%'],
            center: ['50%', '45%'],
            itemStyle: { borderColor: '#121a2b', borderWidth: 2 },
            label: { color: '#c8d3e6', formatter: '{b}\n{c}' },
            data: byType.map((x) => ({ name: tEnum('type', x.type), value: x.count, itemStyle: { color: TYPE_COLORS[x.type] } })),
          },
        ],
      },
      true,
    );
    hbar(zone.el, (a.byZone ?? []).slice(0, 10).map((z) => ({ label: z.name || `${z.cameraId}/${z.zoneId}`, value: z.count })), '#3ea6ff');
    hbar(street.el, (a.byStreet ?? []).slice(0, 10).map((s) => ({ label: s.street, value: s.count })), '#8e7cf0');
    hbar(subject.el, (a.bySubject ?? []).slice(0, 10).map((s) => ({ label: s.name || s.subject, value: s.count })), '#f5a524');
  }

  async function load() {
    abort?.abort();
    abort = new AbortController();
    status.replaceChildren();
    if (!window.echarts) {
      status.replaceChildren(errorBox(new Error('echarts not loaded (/vendor/echarts.min.js)')));
      return;
    }
    for (const c of charts) c.showLoading('default', { text: t('loading'), maskColor: 'rgba(10,15,26,0.6)', textColor: '#c8d3e6' });
    try {
      const a = await api.analytics(rangeOf(range), { signal: abort.signal });
      if (disposed) return;
      render(a);
    } catch (err) {
      if (disposed || err.name === 'AbortError') return;
      status.replaceChildren(errorBox(err, load));
    } finally {
      if (!disposed) for (const c of charts) c.hideLoading();
    }
  }

  const onResize = debounce(() => charts.forEach((c) => c.resize()), 100);
  window.addEventListener('resize', onResize);
  load();
  void ctx;

  return () => {
    disposed = true;
    abort?.abort();
    window.removeEventListener('resize', onResize);
    onResize.cancel();
    for (const c of charts) c.dispose();
  };
}
