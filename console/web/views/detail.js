// 事件详情: evidence (annotated and original stills, the clip, the sealed revisions and their verification),
// the ticket and its history, and the actions of the viewer's role (command: false positive, re-dispatch,
// close; squad: accept, on site, resolve, reject). Re-fetched when an event for the incident arrives.
import { api, events } from '../api.js';
import { getLang, t, tEnum } from '../i18n.js';
import { debounce, fmtBytes, fmtDuration, fmtIso, fmtTime, h, replace } from '../util.js';
import { errorBox, loading, stateBadge, typeBadge } from './common.js';

const SQUAD_STATUSES = ['accepted', 'on_site', 'resolved', 'rejected_false_positive'];
const CLOSED = new Set(['resolved', 'rejected']);

export function mount(root, ctx) {
  const id = ctx.params[0];
  const abort = new AbortController();
  let disposed = false;
  let evidenceSig = '';
  let pollTimer = 0;
  let current = null;

  const backHref = ctx.isSquad ? '#/squad' : '#/feed';
  const titleEl = h('div', { class: 'detail-title' });
  const evidenceEl = h('section', { class: 'panel evidence', 'data-testid': 'detail-evidence' });
  const infoEl = h('section', { class: 'panel' });
  const ticketEl = h('section', { class: 'panel', 'data-testid': 'detail-ticket' });
  const actionsEl = h('section', { class: 'panel actions', 'data-testid': 'detail-actions' });
  const historyEl = h('section', { class: 'panel', 'data-testid': 'detail-history' });
  const verifyEl = h('section', { class: 'panel', 'data-testid': 'detail-verification' });
  const msgEl = h('div', { class: 'flash-msg', 'data-testid': 'action-message', role: 'status' });
  const body = h(
    'div',
    { class: 'detail-grid' },
    h('div', { class: 'detail-main' }, evidenceEl, verifyEl),
    h('div', { class: 'detail-side' }, infoEl, actionsEl, ticketEl, historyEl),
  );
  const page = h(
    'div',
    { class: 'detail', 'data-testid': 'incident-detail', 'data-id': id },
    h('div', { class: 'toolbar' }, h('a', { class: 'btn btn-ghost', href: backHref, 'data-testid': 'back' }, `← ${t('back')}`), titleEl, h('span', { class: 'spacer' }), msgEl),
    body,
  );
  replace(root, page);
  body.hidden = true;
  const status = h('div', null, loading());
  page.appendChild(status);

  async function load() {
    try {
      const d = await api.incident(id, { signal: abort.signal });
      if (disposed) return;
      status.replaceChildren();
      body.hidden = false;
      render(d);
    } catch (err) {
      if (disposed || err.name === 'AbortError') return;
      if (!current) {
        body.hidden = true;
        status.replaceChildren(errorBox(err, load));
      } else showMsg(t('error', { message: err.message }), true);
    }
  }
  const reload = debounce(load, 250);

  function showMsg(text, isError) {
    msgEl.textContent = text;
    msgEl.className = `flash-msg ${isError ? 'err' : 'ok'}`;
  }

  function render(d) {
    current = d;
    const inc = d.incident;
    page.dataset.state = inc.state;
    replace(titleEl, typeBadge(inc.type), stateBadge(inc.state), h('span', { class: 'mono muted' }, inc.id));
    renderInfo(inc);
    renderEvidence(d.evidence);
    renderVerification(d.evidence?.verification ?? null, inc.evidenceLost ?? []);
    renderTicket(d.ticket, inc);
    renderHistory(d.history ?? []);
    renderActions(inc);
    schedulePoll(d);
  }

  // Until the full evidence (a clip) is there, look again every 4 s for up to 3 minutes after the last
  // sighting, in case an evidence-only change sends no event.
  function schedulePoll(d) {
    clearTimeout(pollTimer);
    const files = (d.evidence?.revisions ?? []).flatMap((r) => r.files ?? []);
    const hasClip = files.some((f) => f.kind === 'clip');
    const recent = Date.now() - (d.incident.lastSeenMs ?? 0) < 180_000;
    if (!hasClip && recent && !disposed) pollTimer = setTimeout(load, 4000);
  }

  function kv(label, value, testid) {
    if (value === undefined || value === null || value === '') return null;
    return h('div', { class: 'kv' }, h('dt', null, label), h('dd', testid ? { 'data-testid': testid } : null, value));
  }

  function renderInfo(inc) {
    replace(
      infoEl,
      h('h3', null, t('detail.title')),
      h(
        'dl',
        { class: 'kvs' },
        kv(t('detail.camera'), inc.cameraName ? `${inc.cameraName} (${inc.cameraId})` : inc.cameraId),
        kv(t('detail.zone'), inc.zoneName ? `${inc.zoneName} (${inc.zoneId})` : inc.zoneId),
        kv(t('detail.address'), inc.address),
        kv(t('detail.street'), inc.street),
        kv(t('detail.shop'), inc.shop ? `${inc.shop.name} (${inc.shop.id})` : undefined),
        kv(t('detail.firstSeen'), fmtTime(inc.firstSeenMs)),
        kv(t('detail.confirmed'), fmtTime(inc.confirmedMs)),
        kv(t('detail.lastSeen'), fmtTime(inc.lastSeenMs)),
        inc.closedMs ? kv(t('detail.closed'), fmtTime(inc.closedMs)) : null,
        kv(t('detail.dwell'), fmtDuration(inc.dwellSec)),
        kv(t('detail.hits'), String(inc.hits ?? '')),
        kv(t('detail.detectors'), (inc.detectors ?? []).join(', ')),
        inc.recurrenceOf ? kv(t('detail.recurrence'), h('a', { href: `#/incident/${encodeURIComponent(inc.recurrenceOf)}` }, inc.recurrenceOf)) : null,
      ),
    );
  }

  function latest(revisions, kind) {
    for (let i = revisions.length - 1; i >= 0; i--) {
      const f = (revisions[i].files ?? []).find((x) => x.kind === kind);
      if (f) return { file: f, revision: revisions[i].revision };
    }
    return null;
  }

  function figure(label, found, testid) {
    const img = h('img', { src: found.file.url, alt: label, 'data-testid': testid, 'data-revision': found.revision });
    return h(
      'figure',
      { class: 'still' },
      h('a', { href: found.file.url, target: '_blank', rel: 'noopener' }, img),
      h('figcaption', null, `${label} · ${t('detail.revision', { n: found.revision })}`),
    );
  }

  function renderEvidence(ev) {
    const revisions = [...(ev?.revisions ?? [])].sort((a, b) => a.revision - b.revision);
    // Signed URLs change on every fetch: only rebuild (and reload the images / clip) when the files change.
    const sig = JSON.stringify([getLang(), revisions.map((r) => [r.revision, r.sealedAt, (r.files ?? []).map((f) => f.name)])]);
    if (sig === evidenceSig) return;
    evidenceSig = sig;
    const annotated = latest(revisions, 'annotated');
    const still = latest(revisions, 'still');
    const snapshot = annotated || still ? null : latest(revisions, 'snapshot');
    const clip = latest(revisions, 'clip');
    const stills = [annotated && figure(t('detail.annotated'), annotated, 'still-annotated'), still && figure(t('detail.original'), still, 'still-original'), snapshot && figure(t('detail.snapshot'), snapshot, 'still-snapshot')].filter(Boolean);
    replace(
      evidenceEl,
      h('h3', null, t('detail.evidence')),
      stills.length ? h('div', { class: 'stills' }, stills) : h('div', { class: 'empty', 'data-testid': 'evidence-pending' }, h('span', { class: 'spinner' }), t('detail.noEvidence')),
      h(
        'div',
        { class: 'clip' },
        h('h4', null, t('detail.clip')),
        clip
          ? h('video', { controls: true, preload: 'metadata', src: clip.file.url, 'data-testid': 'evidence-clip', playsinline: true })
          : h('div', { class: 'muted' }, t('detail.noClip')),
      ),
      revisions.length
        ? h(
            'details',
            { class: 'revisions', 'data-testid': 'revisions' },
            h('summary', null, `${t('detail.revisions')} (${revisions.length})`),
            revisions.map((r) =>
              h(
                'div',
                { class: 'revision' },
                h('div', { class: 'strong' }, t('detail.revision', { n: r.revision }), r.sealedAt ? h('span', { class: 'muted small' }, ` · ${t('detail.sealed', { at: fmtIso(r.sealedAt) })}`) : null),
                r.manifestSha256 ? h('div', { class: 'mono small muted hash' }, `manifest sha256 ${r.manifestSha256}`) : null,
                h(
                  'table',
                  { class: 'files' },
                  (r.files ?? []).map((f) =>
                    h('tr', null, h('td', null, h('a', { href: f.url, target: '_blank', rel: 'noopener' }, f.name)), h('td', { class: 'muted' }, f.kind), h('td', { class: 'num' }, fmtBytes(f.bytes)), h('td', { class: 'mono small muted hash', title: f.sha256 ?? '' }, f.sha256 ? `${f.sha256.slice(0, 16)}…` : '')),
                  ),
                ),
              ),
            ),
          )
        : null,
    );
  }

  function renderVerification(v, lost) {
    const state = v ? (v.ok ? 'ok' : 'fail') : 'none';
    verifyEl.dataset.verify = state;
    replace(
      verifyEl,
      h('h3', null, t('detail.verification')),
      h(
        'div',
        { class: `verify verify-${state}`, 'data-testid': 'verification' },
        h('span', { class: 'verify-icon' }, v ? (v.ok ? '✔' : '✖') : '…'),
        h('span', { class: 'strong' }, v ? (v.ok ? t('detail.verifyOk') : t('detail.verifyFail')) : t('detail.verifyNone')),
        v?.checkedAtMs ? h('span', { class: 'muted small' }, ` ${t('detail.checkedAt', { at: fmtTime(v.checkedAtMs) })}`) : null,
      ),
      v && !v.ok && v.problems?.length
        ? h(
            'ul',
            { class: 'problems', 'data-testid': 'verification-problems' },
            v.problems.map((p) => h('li', null, h('span', { class: 'mono' }, p.item), ': ', h('strong', null, p.problem), p.detail ? ` — ${p.detail}` : '')),
          )
        : null,
      // owed packages that could not be made: the operator must know the evidence is incomplete, and why
      lost.length
        ? h(
            'div',
            { class: 'verify verify-fail', 'data-testid': 'evidence-lost' },
            h('strong', null, t('detail.evidenceLost')),
            h('ul', { class: 'problems' }, lost.map((l) => h('li', null, `${t(`detail.lost.${l.kind}`)}${l.revision ? ` (${t('detail.revision', { n: l.revision })})` : ''}: ${l.reason} — ${fmtTime(l.atMs)}`))),
          )
        : null,
    );
  }

  function renderTicket(ticket, inc) {
    const tk = ticket && typeof ticket === 'object' ? ticket : null;
    if (!tk && !inc.squad) {
      replace(ticketEl, h('h3', null, t('detail.ticket')), h('div', { class: 'muted' }, t('detail.noTicket')));
      return;
    }
    const squad = tk?.squad ?? inc.squad;
    const priority = tk?.priority ?? inc.priority;
    const deadline = tk?.deadline ?? inc.deadline;
    const ra = tk?.recommendedAction;
    const raText = ra ? (getLang() === 'zh-CN' && ra.label ? ra.label : tEnum('recommend', ra.action) || ra.label) : undefined;
    const v = tk?.violation;
    const subject = tk?.subject;
    replace(
      ticketEl,
      h('h3', null, t('detail.ticket')),
      h(
        'dl',
        { class: 'kvs' },
        kv(t('detail.squad'), squad ? (squad.name ? `${squad.name} (${squad.id})` : squad.id) : undefined, 'ticket-squad'),
        kv(t('detail.priority'), priority ? h('span', { class: `badge prio-${priority}` }, tEnum('priority', priority)) : undefined),
        kv(t('detail.deadline'), deadline ? fmtIso(deadline) : undefined),
        kv(t('detail.issuedAt'), tk?.issuedAt ? fmtIso(tk.issuedAt) : undefined),
        kv(t('detail.action'), raText ? h('span', null, raText, typeof ra.priorOffences12m === 'number' ? h('span', { class: 'muted small' }, ` · ${t('detail.prior', { n: ra.priorOffences12m })}`) : null) : undefined, 'ticket-action'),
        kv(t('detail.category'), v?.code ? `${v.code} ${v.name ?? ''}${v.standard ? ` (${v.standard})` : ''}` : undefined),
        subject ? kv(t('detail.shop'), `${subject.name ?? ''} (${subject.id ?? ''})`) : null,
        subject?.licence ? kv(t('detail.licence'), subject.licence) : null,
      ),
    );
  }

  function renderHistory(history) {
    const items = [...history].sort((a, b) => a.atMs - b.atMs);
    replace(
      historyEl,
      h('h3', null, t('detail.history')),
      items.length
        ? h(
            'ol',
            { class: 'timeline', 'data-testid': 'history' },
            items.map((e) =>
              h(
                'li',
                { class: `tl-item tl-${e.kind}`, 'data-kind': e.kind },
                h('div', { class: 'tl-time' }, fmtTime(e.atMs)),
                h('div', { class: 'tl-body' }, h('span', { class: 'strong' }, tEnum('history', e.kind)), e.by ? h('span', { class: 'muted' }, ` · ${e.by}`) : null, e.note ? h('div', { class: 'tl-note' }, e.note) : null),
              ),
            ),
          )
        : h('div', { class: 'muted' }, t('detail.noHistory')),
    );
  }

  async function act(fn) {
    const buttons = actionsEl.querySelectorAll('button');
    buttons.forEach((b) => (b.disabled = true));
    showMsg(t('loading'), false);
    try {
      const res = await fn();
      if (disposed) return;
      const state = res?.incident?.state;
      showMsg(state ? t('detail.updated', { state: tEnum('state', state) }) : t('action.done'), false);
      note.value = '';
      squad.value = '';
      if (res?.incident && current) render({ ...current, incident: res.incident });
      await load();
    } catch (err) {
      if (disposed) return;
      showMsg(t('action.failed', { message: err.message }), true);
      buttons.forEach((b) => (b.disabled = false));
    }
  }

  // Kept across re-renders (an event arriving must not wipe what the operator is typing).
  const note = h('input', { type: 'text', class: 'input', placeholder: t('detail.note'), maxlength: 2000, 'data-testid': 'action-note' });
  const squad = h('input', { type: 'text', class: 'input', placeholder: t('detail.squadId'), maxlength: 64, 'data-testid': 'action-squad' });

  function renderActions(inc) {
    if (ctx.isCommand) {
      const closed = CLOSED.has(inc.state);
      const btn = (key, testid, cls, fn, disabled) => {
        const b = h('button', { class: `btn ${cls}`, 'data-testid': testid, disabled: !!disabled }, t(key));
        b.addEventListener('click', () => act(fn));
        return b;
      };
      replace(
        actionsEl,
        h('h3', null, t('detail.actions')),
        note,
        h(
          'div',
          { class: 'btn-row' },
          btn('action.falsePositive', 'action-false-positive', 'btn-danger', () => api.falsePositive(id, note.value.trim()), inc.state === 'rejected'),
          btn('action.close', 'action-close', 'btn-primary', () => api.close(id, note.value.trim()), closed),
        ),
        h('div', { class: 'btn-row' }, squad, btn('action.redispatch', 'action-redispatch', 'btn-secondary', () => api.redispatch(id, squad.value.trim(), note.value.trim()))),
      );
    } else if (ctx.isSquad) {
      const closed = CLOSED.has(inc.state);
      replace(
        actionsEl,
        h('h3', null, t('detail.actions')),
        note,
        h(
          'div',
          { class: 'btn-row' },
          SQUAD_STATUSES.map((s) => {
            const b = h('button', { class: `btn ${s === 'rejected_false_positive' ? 'btn-danger' : s === 'resolved' ? 'btn-primary' : 'btn-secondary'}`, 'data-testid': `status-${s}`, disabled: closed }, t(`action.${s}`));
            b.addEventListener('click', () => act(() => api.status(id, s, note.value.trim())));
            return b;
          }),
        ),
      );
    } else {
      actionsEl.hidden = true;
    }
  }

  const unsub = events.on((msg) => {
    if (msg.type === 'reconnected') return reload();
    if (msg.type === 'incident' && msg.incident?.id === id) reload();
  });
  load();

  return () => {
    disposed = true;
    abort.abort();
    unsub();
    reload.cancel();
    clearTimeout(pollTimer);
    // Stop any playing clip so the browser drops its connection.
    for (const v of root.querySelectorAll('video')) {
      v.pause();
      v.removeAttribute('src');
      v.load();
    }
  };
}
