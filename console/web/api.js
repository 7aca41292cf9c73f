// The console API (console/API.md): bearer-token fetches and the event WebSocket.

const TOKEN_KEY = 'streetwatch.token';

export function getToken() {
  try {
    return sessionStorage.getItem(TOKEN_KEY) || '';
  } catch {
    return '';
  }
}

export function setToken(token) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    /* ignore */
  }
}

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code || `HTTP ${status}`);
    this.status = status;
    this.code = code;
  }
}

/** Called on any 401: the app goes back to the login screen. */
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

async function request(method, path, body, opts = {}) {
  const headers = { Authorization: `Bearer ${getToken()}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: opts.signal });
  if (!res.ok) {
    let code;
    let message;
    try {
      const j = await res.json();
      code = j.error;
      message = j.message || j.error;
    } catch {
      /* not JSON */
    }
    if (res.status === 401 && !opts.noAuthRedirect) onUnauthorized(message);
    throw new ApiError(res.status, code, message || `HTTP ${res.status} ${res.statusText}`);
  }
  if (opts.blob) return res.blob();
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

/** '/api/incidents' + { type: 'stall', state: undefined } → '/api/incidents?type=stall'. */
export function withQuery(path, query) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export const api = {
  me: (opts) => request('GET', '/api/me', undefined, opts),
  incidents: (query, opts) => request('GET', withQuery('/api/incidents', query), undefined, opts),
  incident: (id, opts) => request('GET', `/api/incidents/${encodeURIComponent(id)}`, undefined, opts),
  falsePositive: (id, note) => request('POST', `/api/incidents/${encodeURIComponent(id)}/false-positive`, note ? { note } : {}),
  redispatch: (id, squad, note) => request('POST', `/api/incidents/${encodeURIComponent(id)}/redispatch`, { ...(squad ? { squad } : {}), ...(note ? { note } : {}) }),
  close: (id, note) => request('POST', `/api/incidents/${encodeURIComponent(id)}/close`, note ? { note } : {}),
  status: (id, status, note) => request('POST', `/api/incidents/${encodeURIComponent(id)}/status`, { status, ...(note ? { note } : {}) }),
  cameras: (opts) => request('GET', '/api/cameras', undefined, opts),
  analytics: (query, opts) => request('GET', withQuery('/api/analytics', query), undefined, opts),
  scoreboard: (query, opts) => request('GET', withQuery('/api/scoreboard', query), undefined, opts),
  plan: (opts) => request('GET', '/api/plan', undefined, opts),
  planImage: (path, opts) => request('GET', path || '/api/plan/image', undefined, { ...opts, blob: true }),
};

/** ws(s)://<this host><path>?token=<token> */
export function wsUrl(path) {
  const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const sep = path.includes('?') ? '&' : '?';
  return `${proto}//${location.host}${path}${sep}token=${encodeURIComponent(getToken())}`;
}

/**
 * The one event socket (WS /api/events): reconnects on drop (1 s, doubling to 15 s). Listeners get every
 * message; status listeners get 'open' / 'closed'. On a reconnect listeners also get { type: 'reconnected' }
 * so lists can re-fetch what they missed.
 */
class EventSocket {
  constructor() {
    this.listeners = new Set();
    this.statusListeners = new Set();
    this.ws = null;
    this.delay = 1000;
    this.timer = 0;
    this.stopped = true;
    this.connectedOnce = false;
    this.status = 'closed';
  }

  start() {
    if (!this.stopped) return;
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    this.connectedOnce = false;
    if (this.ws) {
      this.ws.onclose = null;
      this.ws.close();
      this.ws = null;
    }
    this.setStatus('closed');
  }

  connect() {
    let ws;
    try {
      ws = new WebSocket(wsUrl('/api/events'));
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.delay = 1000;
      this.setStatus('open');
      if (this.connectedOnce) this.emit({ type: 'reconnected' });
      this.connectedOnce = true;
    };
    ws.onmessage = (ev) => {
      let msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      this.emit(msg);
    };
    ws.onclose = () => {
      if (this.ws === ws) this.ws = null;
      this.setStatus('closed');
      this.scheduleReconnect();
    };
    ws.onerror = () => {
      /* onclose follows */
    };
  }

  scheduleReconnect() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(15000, this.delay * 2);
  }

  emit(msg) {
    for (const fn of [...this.listeners]) {
      try {
        fn(msg);
      } catch (err) {
        console.error(err);
      }
    }
  }

  setStatus(s) {
    if (this.status === s) return;
    this.status = s;
    for (const fn of [...this.statusListeners]) fn(s);
  }

  /** Subscribe; returns the unsubscribe function. */
  on(fn) {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  onStatus(fn) {
    this.statusListeners.add(fn);
    fn(this.status);
    return () => this.statusListeners.delete(fn);
  }
}

export const events = new EventSocket();
