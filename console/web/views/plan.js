// 点位图: the district plan (GET /api/plan) with one marker per camera, sized by its incidents and coloured by
// its open ones; a click opens the camera's incidents in the feed. The background is the configured image
// (fetched with the token, shown from a blob URL), else slippy-map tiles for the bounds, else a plain grid.
import { api, events } from '../api.js';
import { t, tEnum } from '../i18n.js';
import { debounce, h, replace } from '../util.js';
import { errorBox, loading } from './common.js';

const TILE = 256;

function mercator(lat, lon, z) {
  const n = 2 ** z;
  const x = ((lon + 180) / 360) * n * TILE;
  const r = (lat * Math.PI) / 180;
  const y = ((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2) * n * TILE;
  return { x, y };
}

export function mount(root, ctx) {
  const abort = new AbortController();
  let disposed = false;
  let blobUrl = null;
  let plan = null;
  let project = null; // lat/lon → 0..1 on the tile mosaic, when tiles are the background
  const stage = h('div', { class: 'plan-stage', 'data-testid': 'plan' }, loading());
  replace(root, h('div', { class: 'toolbar' }, h('h2', { class: 'view-title' }, t('plan.title')), h('span', { class: 'spacer' }), h('span', { class: 'muted small' }, t('plan.legend'))), h('section', { class: 'panel plan-panel' }, stage));

  /** Camera → position in 0..1 of the background. */
  function positions(p, proj) {
    const cams = p.cameras ?? [];
    const b = p.bounds;
    let fallback = null;
    if (!b && cams.some((c) => c.x === undefined || c.y === undefined)) {
      // No bounds: spread the cameras over their own extent.
      const lats = cams.map((c) => c.lat);
      const lons = cams.map((c) => c.lon);
      const pad = 0.1;
      const [s, n, w, e] = [Math.min(...lats), Math.max(...lats), Math.min(...lons), Math.max(...lons)];
      const dy = n - s || 1e-3;
      const dx = e - w || 1e-3;
      fallback = (c) => ({ x: pad + ((c.lon - w) / dx) * (1 - 2 * pad), y: pad + ((n - c.lat) / dy) * (1 - 2 * pad) });
    }
    return cams.map((c) => {
      if (proj) return { cam: c, ...proj(c) };
      if (typeof c.x === 'number' && typeof c.y === 'number') return { cam: c, x: c.x, y: c.y };
      if (b) return { cam: c, x: (c.lon - b.west) / (b.east - b.west), y: (b.north - c.lat) / (b.north - b.south) };
      return { cam: c, ...fallback(c) };
    });
  }

  function marker({ cam, x, y }) {
    const size = Math.round(Math.min(56, 16 + 7 * Math.sqrt(cam.incidents ?? 0)));
    const heat = cam.open >= 3 ? 'hot' : cam.open > 0 ? 'warm' : 'calm';
    const name = cam.name || cam.id;
    return h(
      'a',
      {
        class: `marker marker-${heat} marker-state-${cam.state}`,
        href: `#/feed?camera=${encodeURIComponent(cam.id)}`,
        'data-testid': 'plan-marker',
        'data-camera': cam.id,
        title: `${t('plan.tip', { name, incidents: cam.incidents ?? 0, open: cam.open ?? 0 })} · ${tEnum('cam', cam.state)}`,
        style: { left: `${(x * 100).toFixed(3)}%`, top: `${(y * 100).toFixed(3)}%` },
      },
      h('span', { class: 'dot', style: { width: `${size}px`, height: `${size}px` } }, cam.open ? String(cam.open) : ''),
      h('span', { class: 'marker-label' }, name),
    );
  }

  function markersLayer(items) {
    return h('div', { class: 'markers' }, items.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)).map(marker));
  }

  async function renderImage(p) {
    const blob = await api.planImage(p.image, { signal: abort.signal });
    if (disposed) return;
    if (blobUrl) URL.revokeObjectURL(blobUrl);
    blobUrl = URL.createObjectURL(blob);
    const img = h('img', { class: 'plan-image', src: blobUrl, alt: t('plan.title'), 'data-testid': 'plan-image' });
    replace(stage, h('div', { class: 'plan-canvas' }, img, markersLayer(positions(p))));
  }

  function renderTiles(p) {
    const b = p.bounds;
    // The largest zoom at which the bounds fit the panel (width and the window's height).
    const width = Math.max(600, stage.clientWidth || 1000);
    const height = Math.max(400, window.innerHeight - 170);
    let z = 18;
    for (; z > 1; z--) {
      const a = mercator(b.north, b.west, z);
      const c = mercator(b.south, b.east, z);
      if (c.x - a.x <= width && c.y - a.y <= height) break;
    }
    const nw = mercator(b.north, b.west, z);
    const se = mercator(b.south, b.east, z);
    const w = se.x - nw.x;
    const hgt = se.y - nw.y;
    const tiles = [];
    for (let tx = Math.floor(nw.x / TILE); tx <= Math.floor(se.x / TILE); tx++) {
      for (let ty = Math.floor(nw.y / TILE); ty <= Math.floor(se.y / TILE); ty++) {
        const src = p.tileUrl.replace('{z}', String(z)).replace('{x}', String(tx)).replace('{y}', String(ty)).replace('{s}', 'a');
        tiles.push(h('img', { class: 'tile', src, alt: '', style: { left: `${((tx * TILE - nw.x) / w) * 100}%`, top: `${((ty * TILE - nw.y) / hgt) * 100}%`, width: `${(TILE / w) * 100}%`, height: `${(TILE / hgt) * 100}%` } }));
      }
    }
    project = (c) => {
      const m = mercator(c.lat, c.lon, z);
      return { x: (m.x - nw.x) / w, y: (m.y - nw.y) / hgt };
    };
    replace(stage, h('div', { class: 'plan-canvas plan-tiles', style: { width: `${Math.round(w)}px`, aspectRatio: `${w} / ${hgt}` } }, h('div', { class: 'tiles' }, tiles), markersLayer(positions(p, project))));
  }

  function renderPlain(p) {
    replace(stage, h('div', { class: 'plan-canvas plan-plain' }, markersLayer(positions(p))));
  }

  async function load() {
    try {
      const p = await api.plan({ signal: abort.signal });
      if (disposed) return;
      const first = !plan;
      const sameBackground = plan && plan.image === p.image && plan.tileUrl === p.tileUrl;
      plan = p;
      if (!(p.cameras ?? []).length && !p.image) return replace(stage, h('div', { class: 'empty' }, t('plan.noCameras')));
      const layer = stage.querySelector('.markers');
      if (!first && sameBackground && layer) {
        // Only the markers change: keep the background.
        layer.replaceWith(markersLayer(positions(p, project ?? undefined)));
        return;
      }
      if (p.image) await renderImage(p);
      else if (p.tileUrl && p.bounds) renderTiles(p);
      else renderPlain(p);
    } catch (err) {
      if (disposed || err.name === 'AbortError') return;
      replace(stage, errorBox(err, load));
    }
  }

  const refresh = debounce(load, 1500);
  const unsub = events.on((msg) => msg.type === 'incident' && refresh());
  load();
  void ctx;

  return () => {
    disposed = true;
    abort.abort();
    unsub();
    refresh.cancel();
    if (blobUrl) URL.revokeObjectURL(blobUrl);
  };
}
