// 中队工单 (role squad:<id>): the squad's own tickets (the server only returns those), open ones first;
// a click opens the incident detail with the squad's status buttons. Live: re-fetched on every event.
import { api, events } from '../api.js';
import { OPEN_STATES, t, tEnum } from '../i18n.js';
import { debounce, fmtIso, fmtShortTime, fmtTime, h, replace } from '../util.js';
import { errorBox, loading, stateBadge, thumb, typeBadge } from './common.js';

const PRIORITY_RANK = { high: 0, normal: 1, low: 2 };

export function mount(root, ctx) {
  const abort = new AbortController();
  let disposed = false;
  let known = null; // ids seen so far: new ones get highlighted
  const openList = h('div', { class: 'ticket-list', 'data-testid': 'squad-open' });
  const doneList = h('div', { class: 'ticket-list', 'data-testid': 'squad-closed' });
  const body = h('div', { class: 'squad-body' }, loading());
  replace(root, h('div', { class: 'toolbar' }, h('h2', { class: 'view-title' }, t('squad.title')), h('span', { class: 'chip' }, t('role.squad', { id: ctx.squadId ?? '' }))), body);

  function item(inc, isNew) {
    return h(
      'a',
      {
        class: `ticket-card ${isNew ? 'is-new' : ''} ${inc.priority === 'high' ? 'prio-high-card' : ''}`,
        href: `#/incident/${encodeURIComponent(inc.id)}`,
        'data-testid': 'squad-ticket',
        'data-id': inc.id,
        'data-state': inc.state,
        'data-squad': inc.squad?.id ?? '',
      },
      thumb(inc.thumbnail, inc.type),
      h(
        'div',
        { class: 'ticket-main' },
        h('div', null, typeBadge(inc.type), ' ', stateBadge(inc.state), h('span', { class: 'new-tag' }, t('feed.new')), inc.priority ? h('span', { class: `badge prio-${inc.priority}` }, tEnum('priority', inc.priority)) : null),
        h('div', { class: 'strong' }, inc.address || inc.zoneName || inc.zoneId),
        h('div', { class: 'muted small' }, [inc.cameraName || inc.cameraId, inc.street, inc.shop?.name].filter(Boolean).join(' · ')),
      ),
      h(
        'div',
        { class: 'ticket-side' },
        h('div', { class: 'small', title: fmtTime(inc.confirmedMs) }, fmtShortTime(inc.confirmedMs)),
        inc.deadline ? h('div', { class: `small ${Date.parse(inc.deadline) < Date.now() && OPEN_STATES.includes(inc.state) ? 'overdue' : 'muted'}` }, `${t('detail.deadline')} ${fmtIso(inc.deadline)}`) : null,
        h('div', { class: 'muted small mono' }, inc.id),
      ),
    );
  }

  async function load() {
    try {
      const res = await api.incidents({ limit: 500 }, { signal: abort.signal });
      if (disposed) return;
      const items = res?.items ?? [];
      const open = items.filter((i) => OPEN_STATES.includes(i.state)).sort((a, b) => (PRIORITY_RANK[a.priority] ?? 1) - (PRIORITY_RANK[b.priority] ?? 1) || b.confirmedMs - a.confirmedMs);
      const done = items.filter((i) => !OPEN_STATES.includes(i.state)).sort((a, b) => b.updatedMs - a.updatedMs);
      const isNew = (i) => known !== null && !known.has(i.id);
      replace(openList, open.length ? open.map((i) => item(i, isNew(i))) : h('div', { class: 'empty' }, t('squad.empty')));
      replace(doneList, done.length ? done.map((i) => item(i, false)) : h('div', { class: 'empty muted' }, '—'));
      known = new Set(items.map((i) => i.id));
      replace(
        body,
        h('section', { class: 'panel' }, h('h3', null, `${t('squad.open')} (${open.length})`), openList),
        h('section', { class: 'panel' }, h('h3', null, `${t('squad.closed')} (${done.length})`), doneList),
      );
    } catch (err) {
      if (disposed || err.name === 'AbortError') return;
      replace(body, errorBox(err, load));
    }
  }

  const refresh = debounce(load, 300);
  const unsub = events.on((msg) => (msg.type === 'incident' || msg.type === 'reconnected') && refresh());
  load();

  return () => {
    disposed = true;
    abort.abort();
    unsub();
    refresh.cancel();
  };
}
