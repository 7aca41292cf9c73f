// 监控墙: one card per camera (status, open incidents, newest alert still) and the on-demand live view: a
// JSMpeg player on WS /api/live/<camera>. Closing the live view (or leaving the page) destroys the player,
// which closes its socket, so the server can stop that camera's ffmpeg.
import { api, events, wsUrl } from '../api.js';
import { t, tEnum } from '../i18n.js';
import { debounce, fmtShortTime, h, replace } from '../util.js';
import { errorBox, loading, thumb } from './common.js';

export function mount(root, ctx) {
  const abort = new AbortController();
  let disposed = false;
  let live = null; // { player, overlay, cameraId }
  const grid = h('div', { class: 'wall-grid', 'data-testid': 'camera-wall' }, loading());
  replace(root, h('div', { class: 'toolbar' }, h('h2', { class: 'view-title' }, t('wall.title'))), grid);

  async function load() {
    try {
      const [cams, inc] = await Promise.all([api.cameras({ signal: abort.signal }), api.incidents({ limit: 300 }, { signal: abort.signal }).catch(() => ({ items: [] }))]);
      if (disposed) return;
      const list = Array.isArray(cams) ? cams : (cams?.items ?? []);
      const newest = new Map();
      for (const i of inc?.items ?? []) {
        const prev = newest.get(i.cameraId);
        if (i.thumbnail && (!prev || prev.confirmedMs < i.confirmedMs)) newest.set(i.cameraId, i);
      }
      if (!list.length) return replace(grid, h('div', { class: 'empty' }, t('wall.empty')));
      replace(grid, list.map((c) => card(c, newest.get(c.id))));
    } catch (err) {
      if (disposed || err.name === 'AbortError') return;
      replace(grid, errorBox(err, load));
    }
  }

  function card(c, latest) {
    const state = c.state ?? 'unknown';
    const liveOk = !!c.live?.available;
    return h(
      'div',
      { class: `cam-card cam-${state}`, 'data-testid': 'camera-card', 'data-camera': c.id, 'data-state': state },
      h(
        'div',
        { class: 'cam-media' },
        latest ? thumb(latest.thumbnail, latest.type, 'cam-thumb') : h('div', { class: 'cam-thumb cam-placeholder' }, h('span', null, '◉')),
        h('span', { class: `badge cam-state cam-state-${state}`, 'data-testid': 'camera-state' }, tEnum('cam', state)),
        latest ? h('span', { class: 'cam-latest' }, `${tEnum('type', latest.type)} · ${fmtShortTime(latest.confirmedMs)}`) : null,
      ),
      h(
        'div',
        { class: 'cam-body' },
        h('div', { class: 'cam-name' }, h('span', { class: 'strong' }, c.name || c.id), h('span', { class: 'muted small mono' }, ` ${c.id}`)),
        h('div', { class: 'muted small' }, [c.street ?? c.location?.jurisdiction, c.location?.address].filter(Boolean).join(' · ') || c.kind),
        c.zones?.length ? h('div', { class: 'small cam-zones', title: t('wall.zones') }, c.zones.map((z) => h('span', { class: 'chip' }, z.name || z.id))) : null,
        h(
          'div',
          { class: 'cam-foot' },
          h(
            'a',
            { class: `open-count ${c.openIncidents > 0 ? 'hot' : ''}`, href: `#/feed?camera=${encodeURIComponent(c.id)}`, 'data-testid': 'camera-open', title: t('wall.incidents') },
            h('span', { class: 'num-big' }, String(c.openIncidents ?? 0)),
            h('span', { class: 'small' }, ` ${t('wall.open')}`),
          ),
          h('span', { class: 'spacer' }),
          c.live?.viewers ? h('span', { class: 'muted small' }, t('wall.viewers', { n: c.live.viewers })) : null,
          h(
            'button',
            { class: 'btn btn-primary btn-small', 'data-testid': 'live-button', disabled: !liveOk, title: liveOk ? t('wall.live') : t('wall.liveUnavailable'), onclick: () => openLive(c) },
            `▶ ${t('wall.live')}`,
          ),
        ),
      ),
    );
  }

  function openLive(c) {
    closeLive();
    const canvas = h('canvas', { class: 'live-canvas', 'data-testid': 'live-canvas', width: 640, height: 360 });
    const status = h('div', { class: 'live-status', 'data-testid': 'live-status' }, t('wall.connecting'));
    const overlay = h(
      'div',
      {
        class: 'modal',
        'data-testid': 'live-modal',
        onclick: (e) => e.target === overlay && closeLive(),
      },
      h(
        'div',
        { class: 'modal-box' },
        h('div', { class: 'modal-head' }, h('span', { class: 'strong' }, `${t('wall.live')} · ${c.name || c.id}`), h('span', { class: 'spacer' }), h('button', { class: 'btn btn-ghost', 'data-testid': 'live-close', onclick: closeLive }, `✕ ${t('wall.close')}`)),
        h('div', { class: 'live-stage' }, canvas, status),
      ),
    );
    document.body.appendChild(overlay);
    let player = null;
    if (window.JSMpeg?.Player) {
      try {
        player = new window.JSMpeg.Player(
          wsUrl(`/api/live/${encodeURIComponent(c.id)}`),
          { canvas, autoplay: true, audio: false, loop: false, videoBufferSize: 1024 * 1024, onSourceEstablished: () => (status.hidden = true) },
          {},
        );
      } catch (err) {
        status.textContent = t('error', { message: err.message });
      }
    } else status.textContent = t('wall.liveUnavailable');
    live = { player, overlay, cameraId: c.id };
  }

  function closeLive() {
    if (!live) return;
    const { player, overlay } = live;
    live = null;
    try {
      player?.destroy();
    } catch (err) {
      console.warn(err);
    }
    overlay.remove();
  }

  const onKey = (e) => e.key === 'Escape' && closeLive();
  document.addEventListener('keydown', onKey);
  const refresh = debounce(load, 1000);
  const unsub = events.on((msg) => (msg.type === 'incident' || msg.type === 'reconnected') && refresh());
  const timer = setInterval(load, 10_000);
  load();
  void ctx;

  return () => {
    disposed = true;
    abort.abort();
    clearInterval(timer);
    refresh.cancel();
    unsub();
    document.removeEventListener('keydown', onKey);
    closeLive();
  };
}
