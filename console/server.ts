import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Config } from '../config/schema.js';
import { RULE_IDS } from '../config/zones.js';
import { StreetwatchError } from '../core/errors.js';
import { once } from '../core/lifecycle.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { PROJECT_ROOT } from '../core/paths.js';
import type { IncidentStore } from '../dispatcher/incidents/store.js';
import { INCIDENT_STATES, type Incident } from '../dispatcher/incidents/types.js';
import type { CameraStatus } from '../pipeline/camera.js';
import { operatorAction, redispatch, squadStatus, type ActionDeps } from './actions.js';
import { analytics } from './analytics.js';
import { authFailureReason, KnownLogins, maySee, parseRole, presentedToken, requireRole, roleLabel, tokenIdOf, TokenTable, UrlSigner, type Principal } from './auth.js';
import { EvidenceReader, type RevisionView } from './evidence.js';
import { IncidentFeed } from './events.js';
import { apiError, BODY_LIMIT_BYTES, clientErrorResponse, MAX_PARAM_LENGTH } from './http-errors.js';
import type { LiveHub } from './live/hub.js';
import { registerLiveRoute } from './live/route.js';
import { incidentView, placeNames, planXY, streetOf, type IncidentView } from './views.js';

/**
 * The process's HTTP endpoint and the command-room console (指挥室): /metrics and /healthz (no token), the
 * console API (console/API.md, bearer tokens with roles) and the web app (console/web, no build step; ECharts
 * and the JSMpeg player served from node_modules, nothing from a CDN).
 */
export interface HttpServerOptions {
  host: string;
  port: number;
  metrics: Metrics;
  log: Logger;
  /** The running config (it changes on reload): names, zones, tokens are read from it on each request. */
  config: () => Config;
  /** The config file's folder (plan image, relative paths). */
  baseDir: string;
  /** Live camera status; absent in `streetwatch console` (cameras then show state 'unknown'). */
  cameras?: () => CameraStatus[];
  /** Detector hosts' status for /api/detectors. */
  detectors?: () => unknown[];
  store: IncidentStore;
  evidence: EvidenceReader;
  live?: LiveHub;
  /** Publish outbox rows now (re-dispatch, squad status over Kafka); absent when this process has no relay. */
  wakeRelay?: () => void;
  now?: () => number;
  env?: NodeJS.ProcessEnv;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by a WebSocket route's access check (before the upgrade), for its handler. */
    principal?: Principal;
  }
}

const WEB_DIR = join(PROJECT_ROOT, 'console', 'web');
const require = createRequire(import.meta.url);
/** Vendor scripts the web app loads, from node_modules (pinned by package-lock). */
const VENDOR: Record<string, string> = {
  'echarts.min.js': join(dirname(require.resolve('echarts/package.json')), 'dist', 'echarts.min.js'),
  'jsmpeg.min.js': join(dirname(require.resolve('@cycjimmy/jsmpeg-player')), 'jsmpeg-player.umd.min.js'),
};

const DAY_MS = 24 * 3600 * 1000;

function list(v: unknown): string[] | undefined {
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new StreetwatchError('CONSOLE_BAD_REQUEST', 'filters are comma-separated lists');
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}

function ms(v: unknown, name: string): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new StreetwatchError('CONSOLE_BAD_REQUEST', `${name} must be a time in epoch milliseconds`);
  return n;
}

function oneOf(values: string[] | undefined, allowed: readonly string[], name: string): string[] | undefined {
  const bad = values?.filter((v) => !allowed.includes(v));
  if (bad?.length) throw new StreetwatchError('CONSOLE_BAD_REQUEST', `unknown ${name} '${bad.join(', ')}'; use ${allowed.join(', ')}`);
  return values;
}

/** Whether a browser's Origin is the site at `host` (the Host header, port included unless the default). */
export function sameOrigin(origin: string, host: string | undefined): boolean {
  if (!host) return false;
  try {
    const o = new URL(origin);
    if (o.protocol !== 'http:' && o.protocol !== 'https:') return false;
    // the Host header parsed with the origin's scheme, so that an explicit default port (:80, :443) compares equal
    return o.origin === origin.toLowerCase() && o.host === new URL(`${o.protocol}//${host}`).host;
  } catch {
    return false;
  }
}

export async function startHttpServer(opts: HttpServerOptions): Promise<{ app: FastifyInstance; url: string; stop: () => Promise<void> }> {
  const now = opts.now ?? Date.now;
  const { store, evidence } = opts;
  let tokens = new TokenTable(opts.config().console, opts.env ?? process.env, opts.log);
  let tokensOf = opts.config();
  /** Tokens follow config reloads (a new squad's token works without a restart). */
  const table = () => {
    const cfg = opts.config();
    if (cfg !== tokensOf) {
      tokensOf = cfg;
      tokens = new TokenTable(cfg.console, opts.env ?? process.env, opts.log);
    }
    return tokens;
  };
  const signer = new UrlSigner();
  const actions: ActionDeps = { store, config: opts.config, now, ...(opts.wakeRelay ? { wakeRelay: opts.wakeRelay } : {}) };

  const thumbnails = new Map<string, { updatedMs: number; path: string | undefined }>();
  /** The newest still of an incident (annotated first), from its revisions; remembered per incident change. */
  const rememberThumbnail = (inc: Incident, revs: RevisionView[]): string | undefined => {
    const files = revs.flatMap((r) => r.files);
    const path = ['annotated', 'snapshot', 'still'].map((k) => files.filter((f) => f.kind === k).at(-1)).find(Boolean)?.path;
    thumbnails.set(inc.id, { updatedMs: inc.updatedMs, path });
    if (thumbnails.size > 5000) thumbnails.delete(thumbnails.keys().next().value!);
    return path;
  };
  const thumbnailPath = async (inc: Incident): Promise<string | undefined> => {
    const hit = thumbnails.get(inc.id);
    return hit && hit.updatedMs === inc.updatedMs ? hit.path : rememberThumbnail(inc, await evidence.revisions(inc.id));
  };
  /** Evidence URLs are signed for the principal they are handed to (see UrlSigner). */
  const sign = (p: Principal, path: string) => signer.sign(path, roleLabel(p), now());
  const view = (p: Principal, inc: Incident, thumb: string | undefined, ticket: unknown = store.ticket(inc.id)?.ticket): IncidentView =>
    incidentView(opts.config(), inc, ticket, thumb && sign(p, thumb));
  const viewWithThumb = async (p: Principal, inc: Incident, ticket?: unknown) => view(p, inc, await thumbnailPath(inc), ticket);

  // The feed cannot wait for the disk: it sends the thumbnail last looked up (the list and detail look it up).
  const feed = new IncidentFeed({ store, view: (inc, p) => view(p, inc, thumbnails.get(inc.id)?.path), isCurrent: (p) => table().isCurrent(p), log: opts.log, now });

  /** Every refusal in the API's shape; anything else is our failure: logged, and answered without its text. */
  const sendError = (reply: FastifyReply, err: unknown) => {
    const e = apiError(err);
    if (e) return reply.code(e.status).headers(e.headers).send(e.body);
    opts.log.error({ err }, 'console: request failed');
    return reply.code(500).send({ error: 'INTERNAL', message: 'internal error; see the streetwatch log' });
  };

  /** Headers on every answer. */
  const policyHeaders = (url: string): Record<string, string> => {
    const h: Record<string, string> = { 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
    // Evidence shows people, and every API answer is for one token's eyes: no shared cache and no disk copy
    // may keep it.
    if (url.startsWith('/api/')) h['cache-control'] = 'private, no-store';
    if (!url.startsWith('/api/') && !url.startsWith('/metrics')) {
      const tile = opts.config().console.plan.tileUrl;
      const tileOrigin = tile ? ` ${new URL(tile.replace(/\{[xyz]\}/g, '0')).origin}` : '';
      // connect-src 'self' covers the console's own ws:/wss: (CSP 3; Chromium, Firefox, Safari): a page
      // script cannot open a socket to any other host.
      h['content-security-policy'] = `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:${tileOrigin}; media-src 'self' blob:; connect-src 'self'${tileOrigin}; worker-src 'self' blob:; frame-ancestors 'none'`;
    }
    return h;
  };

  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // a malformed or overlong path is refused by the router before any route or error handler runs
    frameworkErrors: (err, req, reply) => sendError(reply.headers(policyHeaders(req.url)), err),
    clientErrorHandler: (err, socket) => {
      const answer = clientErrorResponse(err);
      if (answer && socket.writable) socket.end(answer);
      else socket.destroy();
      opts.log.debug({ code: (err as NodeJS.ErrnoException).code }, 'console: a request that is not valid HTTP was refused');
    },
  });
  // global: false, no route is limited as such; `principal` uses it for failed logins only
  await app.register(fastifyRateLimit, { global: false });
  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });
  await app.register(fastifyStatic, { root: WEB_DIR, prefix: '/web/', index: false });

  app.addHook('onSend', async (req, reply, payload) => {
    // Set here, the last step before the headers go out, because sendFile writes its own Cache-Control
    // (public) after the route's handler has returned.
    reply.headers(policyHeaders(req.url));
    return payload;
  });

  app.setErrorHandler((err: unknown, _req, reply) => sendError(reply, err));

  app.setNotFoundHandler((req, reply) => reply.code(404).send({ error: 'CONSOLE_NOT_FOUND', message: `nothing at ${req.method} ${req.url.split('?')[0]}; the API is in console/API.md` }));

  const authFailures = () => opts.config().console.authFailures;
  /**
   * Failed logins per client address, in @fastify/rate-limit's store (addresses normalised, IPv6 by /64, a
   * bounded LRU). Only failures are counted: `principal` peeks before it checks a token and counts after.
   */
  const failedLogins = app.createRateLimit({ max: () => authFailures().max, timeWindow: () => authFailures().windowSec * 1000 });
  const knownLogins = new KnownLogins();

  /**
   * The bearer header; a `?token=` only on WebSocket routes (browsers cannot send headers there; elsewhere it
   * would end up in logs and history). An address past console.authFailures is answered 429 without its token
   * being looked at — so guessing is slowed, not merely answered differently — unless the token has logged in
   * from that address before.
   */
  const principal = async (req: FastifyRequest): Promise<Principal> => {
    const queryToken = req.ws ? (req.query as { token?: string } | undefined)?.token : undefined;
    const token = presentedToken(req.headers.authorization, queryToken);
    const before = await failedLogins(req, { increment: false });
    if (!before.isAllowed && before.remaining === 0 && !(token && knownLogins.has(before.key, tokenIdOf(token)))) {
      opts.metrics.consoleRateLimited.inc();
      throw new StreetwatchError('CONSOLE_RATE_LIMITED', `too many failed logins from this address (${before.max} within ${authFailures().windowSec} s, console.authFailures); try again in ${before.ttlInSeconds} s`, {
        details: { retryAfterSec: before.ttlInSeconds },
      });
    }
    try {
      const p = table().authenticate(req.headers.authorization, queryToken);
      if (p.tokenId) knownLogins.add(before.key, p.tokenId);
      return p;
    } catch (e) {
      const reason = authFailureReason(e);
      if (reason) opts.metrics.consoleAuthFailures.inc({ reason });
      // only a wrong token is a guess: no token, or none configured, is a client to fix, not an attack
      if (reason === 'unknown') {
        const after = await failedLogins(req);
        if (!after.isAllowed && after.remaining === 0 && !after.isExceeded) {
          opts.log.warn({ address: req.ip, failures: after.max, windowSec: authFailures().windowSec }, `console: ${after.max} failed logins from ${req.ip}; refusing its logins for ${after.ttlInSeconds} s (except tokens that logged in from it before)`);
        }
      }
      throw e;
    }
  };
  const operator = async (req: FastifyRequest) => {
    const p = await principal(req);
    requireRole(p, 'command', 'admin');
    return p;
  };
  /** An incident this principal may see, else 404 (a squad does not learn that another squad's incident exists). */
  const visible = (p: Principal, id: string): Incident => {
    const inc = store.get(id);
    if (!inc || !maySee(p, store.ticket(id)?.squad)) throw new StreetwatchError('CONSOLE_NOT_FOUND', `no incident ${id}`);
    return inc;
  };

  // --- unauthenticated: monitoring and the web app ---
  app.get('/metrics', async (_req, reply) => {
    if (opts.live) opts.metrics.liveStreams.set(Object.values(opts.live.stats()).filter((s) => s.running).length);
    reply.header('content-type', opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
  app.get('/healthz', async () => {
    const cams = opts.cameras?.() ?? [];
    const count = (s: CameraStatus['state']) => cams.filter((c) => c.state === s).length;
    return { ok: true, cameras: { total: cams.length, up: count('up'), down: count('down'), failed: count('failed'), starting: count('starting'), ended: count('ended') } };
  });
  app.get('/', async (_req, reply) => reply.sendFile('index.html'));
  app.get<{ Params: { file: string } }>('/vendor/:file', async (req, reply) => {
    const file = VENDOR[req.params.file];
    if (!file) throw new StreetwatchError('CONSOLE_NOT_FOUND', `no vendor file ${req.params.file}`);
    reply.header('cache-control', 'public, max-age=86400');
    return reply.sendFile(basename(file), dirname(file));
  });

  // --- API ---
  app.get('/api/me', async (req) => {
    const p = await principal(req);
    return { name: p.name, role: roleLabel(p), ...(p.squad ? { squad: p.squad } : {}), site: opts.config().site.name, timezone: opts.config().site.timezone };
  });

  app.get('/api/incidents', async (req) => {
    const p = await principal(req);
    const q = req.query as Record<string, unknown>;
    const limit = q.limit === undefined ? 100 : Number(q.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new StreetwatchError('CONSOLE_BAD_REQUEST', 'limit must be 1..1000');
    const squads = list(q.squad);
    if (p.role === 'squad' && squads && squads.some((s) => s !== p.squad)) return { items: [] };
    const fromMs = ms(q.from, 'from');
    const toMs = ms(q.to, 'to');
    const rows = store.search({
      ...(oneOf(list(q.type), RULE_IDS, 'type') && { types: list(q.type)! }),
      ...(oneOf(list(q.state), INCIDENT_STATES, 'state') && { states: list(q.state)! }),
      ...(list(q.camera) && { cameras: list(q.camera)! }),
      ...(list(q.zone) && { zones: list(q.zone)! }),
      ...(p.role === 'squad' ? { squads: [p.squad!] } : squads ? { squads } : {}),
      ...(fromMs !== undefined && { fromMs }),
      ...(toMs !== undefined && { toMs }),
      limit,
    });
    return { items: await Promise.all(rows.map((r) => viewWithThumb(p, r.incident, r.ticket ?? null))) };
  });

  app.get<{ Params: { id: string } }>('/api/incidents/:id', async (req) => {
    const p = await principal(req);
    const inc = visible(p, req.params.id);
    const revisions = await evidence.revisions(inc.id);
    const ticket = store.ticket(inc.id)?.ticket ?? null;
    return {
      incident: view(p, inc, rememberThumbnail(inc, revisions), ticket),
      ticket,
      history: [{ atMs: inc.confirmedMs, kind: 'confirmed' }, ...store.history(inc.id)],
      evidence: {
        revisions: revisions.map((r) => ({ revision: r.revision, sealedAt: r.sealedAt, manifestSha256: r.manifestSha256, files: r.files.map(({ path, ...f }) => ({ ...f, url: sign(p, path) })) })),
        verification: await evidence.verify(inc.id, now()),
      },
    };
  });

  for (const action of ['false-positive', 'close'] as const) {
    app.post<{ Params: { id: string } }>(`/api/incidents/:id/${action}`, async (req) => {
      const p = await operator(req);
      const inc = operatorAction(actions, p, req.params.id, action === 'close' ? 'close' : 'false_positive', req.body);
      opts.log.info({ incident: inc.id, by: p.name, action }, `console: ${action}`);
      return { incident: await viewWithThumb(p, inc) };
    });
  }
  app.post<{ Params: { id: string } }>('/api/incidents/:id/redispatch', async (req) => {
    const p = await operator(req);
    const inc = redispatch(actions, p, req.params.id, req.body);
    opts.log.info({ incident: inc.id, by: p.name, squad: store.ticket(inc.id)?.squad }, 'console: ticket re-dispatched');
    return { incident: await viewWithThumb(p, inc) };
  });
  app.post<{ Params: { id: string } }>('/api/incidents/:id/status', async (req, reply) => {
    const p = await principal(req);
    requireRole(p, 'squad');
    visible(p, req.params.id);
    const r = squadStatus(actions, p, req.params.id, req.body);
    opts.log.info({ incident: req.params.id, squad: p.squad, status: (req.body as { status: string }).status, via: r.via }, 'console: squad status');
    return reply.code(r.via === 'kafka' ? 202 : 200).send({ via: r.via, incident: await viewWithThumb(p, r.incident) });
  });

  app.get<{ Params: { id: string; rev: string; file: string }; Querystring: { exp?: string; r?: string; sig?: string } }>('/api/evidence/:id/:rev/:file', async (req, reply) => {
    const { id, rev, file } = req.params;
    const path = `/api/evidence/${id}/${rev}/${file}`;
    // a signed URL was handed to someone allowed to see it; otherwise the bearer token decides
    // a URL signed for a principal (still allowed to see the incident: a re-dispatch moves it away from a
    // squad), or the bearer token
    const signedFor = signer.verify(path, req.query.exp, req.query.r, req.query.sig, now());
    visible(signedFor ? { name: 'signed URL', ...parseRole(signedFor) } : await principal(req), id);
    const rel = await evidence.resolveFile(id, rev, file);
    if (!rel) throw new StreetwatchError('CONSOLE_NOT_FOUND', 'no such evidence file');
    return reply.sendFile(rel, evidence.root);
  });

  app.get('/api/cameras', async (req) => {
    await operator(req);
    const cfg = opts.config();
    const status = new Map((opts.cameras?.() ?? []).map((c) => [c.id, c]));
    const open = store.openByCamera();
    return cfg.cameras.map((c) => {
      const s = status.get(c.id);
      // the runtime's status minus `source`: an RTSP URL may hold credentials, and operators need none of it
      const { source: _source, ...runtime } = s ?? ({} as Partial<CameraStatus>);
      return {
        ...runtime,
        id: c.id,
        ...(c.name !== undefined && { name: c.name }),
        kind: s?.kind ?? c.source.kind,
        state: s?.state ?? (opts.cameras ? (c.enabled ? 'starting' : 'disabled') : 'unknown'),
        ...(c.location && { location: c.location }),
        ...(c.location?.jurisdiction !== undefined && { street: streetOf(cfg, c) }),
        zones: c.zones.map((z) => ({ id: z.id, ...(z.name !== undefined && { name: z.name }), kind: z.kind })),
        openIncidents: open.get(c.id)?.open ?? 0,
        live: opts.live ? opts.live.status(c.id) : { available: false, viewers: 0, running: false },
      };
    });
  });
  app.get('/api/detectors', async (req) => {
    await operator(req);
    return opts.detectors?.() ?? [];
  });

  /** Default window of analytics and the scoreboard: the last 30 days. */
  const window = (q: Record<string, unknown>) => {
    const to = ms(q.to, 'to') ?? now();
    const from = ms(q.from, 'from') ?? to - 30 * DAY_MS;
    if (from >= to) throw new StreetwatchError('CONSOLE_BAD_REQUEST', 'from must be before to');
    return { from, to };
  };
  app.get('/api/analytics', async (req) => {
    await operator(req);
    const q = req.query as Record<string, unknown>;
    const { from, to } = window(q);
    const type = oneOf(list(q.type), RULE_IDS, 'type')?.[0];
    const cfg = opts.config();
    return analytics(store.analyticsRows(from, to, type), { from, to, timezone: cfg.site.timezone, types: type ? [type] : RULE_IDS, names: placeNames(cfg) });
  });
  app.get('/api/scoreboard', async (req) => {
    await operator(req);
    const { from, to } = window(req.query as Record<string, unknown>);
    const cfg = opts.config();
    const zoneName = (cam: string, zone: string) => cfg.cameras.find((c) => c.id === cam)?.zones.find((z) => z.id === zone)?.name;
    return {
      from,
      to,
      rows: store.scoreboard(from, to).map((r) => {
        const zn = zoneName(r.cameraId, r.zoneId);
        const judged = r.confirmed + r.falsePositive;
        return { ...r, ...(zn !== undefined && { zoneName: zn }), precision: judged ? r.confirmed / judged : null };
      }),
    };
  });
  app.get('/api/false-positives', async (req) => {
    await operator(req);
    return store.falsePositives();
  });

  app.get('/api/plan', async (req) => {
    await operator(req);
    const cfg = opts.config();
    const { image, bounds, tileUrl } = cfg.console.plan;
    const status = new Map((opts.cameras?.() ?? []).map((c) => [c.id, c.state]));
    const counts = store.openByCamera();
    return {
      ...(image && { image: '/api/plan/image' }),
      ...(tileUrl && { tileUrl }),
      ...(bounds && { bounds }),
      cameras: cfg.cameras
        .filter((c) => c.location)
        .map((c) => ({
          id: c.id,
          ...(c.name !== undefined && { name: c.name }),
          lat: c.location!.lat,
          lon: c.location!.lon,
          ...(bounds && planXY(bounds, c.location!.lat, c.location!.lon)),
          incidents: counts.get(c.id)?.total ?? 0,
          open: counts.get(c.id)?.open ?? 0,
          state: status.get(c.id) ?? (opts.cameras ? 'starting' : 'unknown'),
        })),
    };
  });
  app.get('/api/plan/image', async (req, reply) => {
    await operator(req);
    const image = opts.config().console.plan.image;
    if (!image) throw new StreetwatchError('CONSOLE_NOT_FOUND', 'no plan image configured (console.plan.image)');
    const file = resolve(opts.baseDir, image);
    if (!existsSync(file)) throw new StreetwatchError('CONSOLE_NOT_FOUND', `the plan image ${file} (console.plan.image) does not exist; fix the path in the config`);
    return reply.sendFile(basename(file), dirname(file));
  });

  app.get('/api/admin/tokens', async (req) => {
    requireRole(await principal(req), 'admin');
    return table().principals().map((p) => ({ name: p.name, role: roleLabel(p) }));
  });

  // --- WebSockets ---
  /**
   * Browsers send Origin with every WebSocket and apply no CORS to it, so any page anywhere could open the
   * console's sockets with a token it got hold of (a shared link with ?token=). Only the console's own pages
   * (Origin = the Host asked for) and console.allowedOrigins may; a client without Origin is not a browser.
   */
  const checkOrigin = (req: FastifyRequest): void => {
    const origin = req.headers.origin;
    if (origin === undefined || opts.config().console.allowedOrigins.includes(origin)) return;
    if (sameOrigin(origin, req.headers.host)) return;
    opts.log.warn({ origin, path: req.url.split('?')[0], address: req.ip }, `console: refused a WebSocket from a page at ${origin}`);
    throw new StreetwatchError(
      'CONSOLE_ORIGIN_FORBIDDEN',
      `WebSockets are refused to pages of other origins (${origin}); open the console itself, or list the origin in console.allowedOrigins`,
    );
  };
  /** Refuses the upgrade with the usual JSON error: a foreign page, or a token missing or wrong. */
  const wsAuth = (roles: Principal['role'][]) => async (req: FastifyRequest, reply: FastifyReply) => {
    try {
      checkOrigin(req);
      const p = await principal(req);
      requireRole(p, ...roles);
      req.principal = p;
    } catch (e) {
      return sendError(reply, e);
    }
  };
  app.get('/api/events', { websocket: true, preValidation: wsAuth(['command', 'admin', 'squad']) }, (socket, req) => {
    const p = req.principal!;
    socket.send(JSON.stringify({ type: 'hello', role: roleLabel(p) }));
    const unsubscribe = feed.subscribe(
      p,
      (msg) => {
        if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(msg));
      },
      () => socket.close(1008, 'token revoked'),
    );
    opts.metrics.consoleClients.set(feed.subscribers);
    socket.on('close', () => {
      unsubscribe();
      opts.metrics.consoleClients.set(feed.subscribers);
    });
  });
  if (opts.live) registerLiveRoute(app, opts.live, wsAuth(['command', 'admin']));

  await feed.start();
  const address = await app.listen({ host: opts.host, port: opts.port });
  return {
    app,
    url: address,
    stop: once(async () => {
      await feed.stop();
      await app.close();
    }),
  };
}
