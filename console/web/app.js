// The console's shell: login, header (navigation, live-connection light, language switch), hash router.
// Each view module exports mount(root, ctx) → cleanup().
import { api, events, getToken, setToken, setUnauthorizedHandler } from './api.js';
import { getLang, otherLang, setLang, t } from './i18n.js';
import { h, parseHash, replace, setTimeZone } from './util.js';
import * as feed from './views/feed.js';
import * as detail from './views/detail.js';
import * as wall from './views/wall.js';
import * as analytics from './views/analytics.js';
import * as plan from './views/plan.js';
import * as scoreboard from './views/scoreboard.js';
import * as squad from './views/squad.js';

const COMMAND_ROUTES = {
  feed: { view: feed, nav: 'nav.feed' },
  incident: { view: detail, nav: 'nav.feed' },
  wall: { view: wall, nav: 'nav.wall' },
  analytics: { view: analytics, nav: 'nav.analytics' },
  plan: { view: plan, nav: 'nav.plan' },
  scoreboard: { view: scoreboard, nav: 'nav.scoreboard' },
};
const COMMAND_NAV = ['feed', 'wall', 'analytics', 'plan', 'scoreboard'];

const SQUAD_ROUTES = {
  squad: { view: squad, nav: 'nav.squad' },
  incident: { view: detail, nav: 'nav.squad' },
};
const SQUAD_NAV = ['squad'];

const app = document.getElementById('app');
let me = null;
let cleanup = null;
let viewRoot = null;
let navEl = null;
let statusUnsub = null;

function roleInfo(role) {
  const r = String(role ?? '');
  if (r.startsWith('squad:')) return { isSquad: true, isCommand: false, squadId: r.slice(6) };
  if (r === 'squad') return { isSquad: true, isCommand: false, squadId: me?.squad ?? '' };
  return { isSquad: false, isCommand: r === 'command' || r === 'admin', squadId: undefined };
}

function routes() {
  return roleInfo(me?.role).isSquad ? SQUAD_ROUTES : COMMAND_ROUTES;
}

function defaultRoute() {
  return roleInfo(me?.role).isSquad ? 'squad' : 'feed';
}

function langButton() {
  return h(
    'button',
    {
      class: 'btn btn-ghost lang-switch',
      'data-testid': 'lang-switch',
      title: t('lang.switch'),
      onclick: () => {
        setLang(otherLang());
        document.title = t('app.title');
        if (me) renderShell();
        else renderLogin();
      },
    },
    t('lang.switch'),
  );
}

function renderLogin(message) {
  unmountView();
  statusUnsub?.();
  statusUnsub = null;
  events.stop();
  me = null;
  document.title = t('app.title');
  const input = h('input', { type: 'password', id: 'token', autocomplete: 'current-password', placeholder: t('login.placeholder'), 'data-testid': 'login-token', required: true });
  const err = h('div', { class: 'login-error', 'data-testid': 'login-error', role: 'alert' }, message ?? '');
  const form = h(
    'form',
    {
      class: 'login-card',
      'data-testid': 'login-form',
      onsubmit: async (e) => {
        e.preventDefault();
        const token = input.value.trim();
        if (!token) return;
        setToken(token);
        err.textContent = t('loading');
        try {
          me = await api.me({ noAuthRedirect: true });
    setTimeZone(me.timezone);
          if (!location.hash || location.hash === '#' || location.hash === '#/') history.replaceState(null, '', `#/${defaultRoute()}`);
          renderShell();
        } catch (e2) {
          setToken('');
          err.textContent = t('login.failed', { message: e2.message });
        }
      },
    },
    h('div', { class: 'login-brand' }, h('span', { class: 'brand-mark' }, '城'), h('h1', null, t('app.title'))),
    h('label', { for: 'token' }, t('login.token')),
    input,
    h('button', { class: 'btn btn-primary', type: 'submit', 'data-testid': 'login-submit' }, t('login.submit')),
    err,
    h('p', { class: 'muted small' }, t('login.hint')),
  );
  replace(app, h('div', { class: 'login-page' }, h('div', { class: 'login-top' }, langButton()), form));
  input.focus();
}

function renderShell() {
  unmountView();
  document.title = t('app.title');
  const info = roleInfo(me.role);
  const navKeys = info.isSquad ? SQUAD_NAV : COMMAND_NAV;
  const rt = routes();
  navEl = h(
    'nav',
    { class: 'nav' },
    navKeys.map((k) => h('a', { href: `#/${k}`, 'data-route': k, 'data-testid': `nav-${k}` }, t(rt[k].nav))),
  );
  const wsLight = h('span', { class: 'ws-status', 'data-testid': 'ws-status' });
  const roleText = info.isSquad ? t('role.squad', { id: info.squadId }) : t(`role.${me.role}`);
  const header = h(
    'header',
    { class: 'topbar' },
    h('div', { class: 'brand' }, h('span', { class: 'brand-mark' }, '城'), h('span', { class: 'brand-title' }, t('app.title'))),
    navEl,
    h(
      'div',
      { class: 'topbar-right' },
      wsLight,
      h('span', { class: 'user', 'data-testid': 'user' }, h('span', { class: 'user-name' }, me.name ?? ''), h('span', { class: 'user-role' }, roleText)),
      langButton(),
      h(
        'button',
        {
          class: 'btn btn-ghost',
          'data-testid': 'logout',
          onclick: () => {
            setToken('');
            location.hash = '';
            renderLogin();
          },
        },
        t('logout'),
      ),
    ),
  );
  viewRoot = h('main', { class: 'view', id: 'view' });
  replace(app, h('div', { class: 'shell' }, header, viewRoot));
  statusUnsub?.();
  statusUnsub = events.onStatus((s) => {
    wsLight.className = `ws-status ${s === 'open' ? 'on' : 'off'}`;
    wsLight.dataset.state = s;
    wsLight.textContent = s === 'open' ? t('ws.online') : t('ws.offline');
  });
  events.start();
  route();
}

function unmountView() {
  if (cleanup) {
    try {
      cleanup();
    } catch (err) {
      console.error(err);
    }
  }
  cleanup = null;
}

function route() {
  if (!me || !viewRoot) return;
  const { path, query } = parseHash(location.hash);
  const rt = routes();
  let name = path[0] ?? '';
  if (!rt[name]) {
    name = defaultRoute();
    history.replaceState(null, '', `#/${name}`);
  }
  unmountView();
  for (const a of navEl.querySelectorAll('a')) a.classList.toggle('active', t(rt[a.dataset.route].nav) === t(rt[name].nav));
  const info = roleInfo(me.role);
  viewRoot.replaceChildren();
  viewRoot.dataset.view = name;
  const ctx = { me, ...info, params: path.slice(1), query };
  try {
    cleanup = rt[name].view.mount(viewRoot, ctx) ?? null;
  } catch (err) {
    console.error(err);
    replace(viewRoot, h('div', { class: 'error' }, t('error', { message: err.message })));
  }
}

window.addEventListener('hashchange', route);

setUnauthorizedHandler((message) => {
  setToken('');
  renderLogin(message ? t('login.failed', { message }) : undefined);
});

async function boot() {
  setLang(getLang());
  if (!getToken()) return renderLogin();
  try {
    me = await api.me({ noAuthRedirect: true });
    setTimeZone(me.timezone);
    renderShell();
  } catch (err) {
    if (err.status === 401) setToken('');
    renderLogin(t('login.failed', { message: err.message }));
  }
}

boot();
