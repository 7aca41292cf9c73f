import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { configSchema, type Config } from '../../../config/schema.js';
import { createMetrics, type Metrics } from '../../../core/metrics.js';
import { EvidenceReader } from '../../../console/evidence.js';
import { sameOrigin, startHttpServer } from '../../../console/server.js';
import { IncidentStore } from '../../../dispatcher/incidents/store.js';
import { MANIFEST_FILE, sha256Hex } from '../../../dispatcher/evidence/manifest.js';
import { memoryLogger, metricValue } from '../../helpers/pipeline.js';
import { hit, T } from '../../helpers/factories.js';
import { sleep } from '../../helpers/wait.js';

// The console server on its own (no pipeline): an in-memory store with one incident, an evidence folder with
// one still, and the real fastify server on a free port. The API shape of errors, cache headers, the failed
// login limit and the WebSocket Origin rule are checked here; console-api.test.ts covers the routes end to end.

const TOKENS = { command: 'unit-command-token-00001', squad: 'unit-squad-1-token-00001' };
const INCIDENT = 'inc-1';

interface Server {
  url: string;
  app: FastifyInstance;
  metrics: Metrics;
  lines: Record<string, unknown>[];
  stillPath: string;
  stop: () => Promise<void>;
}

const running: Server[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

async function start(consoleOver: Record<string, unknown> = {}): Promise<Server> {
  const config: Config = configSchema.parse({
    version: 1,
    console: {
      tokens: [
        { name: '指挥室', role: 'command', token: TOKENS.command },
        { name: '一中队', role: 'squad:sq-1', token: TOKENS.squad },
      ],
      ...consoleOver,
    },
  });
  const store = new IncidentStore(':memory:', () => INCIDENT);
  store.start();
  store.recordHit(hit(0), { cooldownMs: 30 * 60_000, sameSpotMeters: 25 }, T);
  store.addTicket({ incidentId: INCIDENT, squad: 'sq-1', ticket: { squad: { id: 'sq-1' } }, topic: 'tickets' }, T);
  const root = mkdtempSync(join(tmpdir(), 'sw-console-unit-'));
  const dir = join(root, INCIDENT, 'r1');
  mkdirSync(dir, { recursive: true });
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 0xff, 0xd9]);
  writeFileSync(join(dir, 'still-1.jpg'), jpeg);
  const manifest = { version: 1, seq: 1, incidentId: INCIDENT, revision: 1, createdAt: '2026-11-27T10:00:00+08:00', files: [{ name: 'still-1.jpg', bytes: jpeg.length, sha256: sha256Hex(jpeg) }], previous: null, keyId: 'k' };
  writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest)}\n`);
  const { log, lines } = memoryLogger('info');
  const metrics = createMetrics(new Registry());
  const http = await startHttpServer({ host: '127.0.0.1', port: 0, metrics, log, config: () => config, baseDir: root, store, evidence: new EvidenceReader(root, () => undefined) });
  const s = {
    url: http.url,
    app: http.app,
    metrics,
    lines,
    stillPath: `/api/evidence/${INCIDENT}/r1/still-1.jpg`,
    stop: async () => {
      await http.stop();
      store.stop();
    },
  };
  running.push(s);
  return s;
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

/** A request as written, byte for byte (fetch would refuse or normalise what these tests send). */
function raw(url: string, head: string, body = ''): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, method: head.split(' ')[0], path: head.split(' ')[1], headers: body ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers as Record<string, string>, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('console server: evidence is never cached', () => {
  it('answers evidence files with Cache-Control: private, no-store (token, signed URL, range)', async () => {
    const s = await start();
    const byToken = await fetch(`${s.url}${s.stillPath}`, { headers: bearer(TOKENS.command) });
    expect(byToken.status).toBe(200);
    expect(byToken.headers.get('cache-control')).toBe('private, no-store');
    const detail = (await (await fetch(`${s.url}/api/incidents/${INCIDENT}`, { headers: bearer(TOKENS.command) })).json()) as { incident: { thumbnail: string } };
    const thumb = await fetch(`${s.url}${detail.incident.thumbnail}`);
    expect(thumb.status).toBe(200);
    expect(thumb.headers.get('cache-control')).toBe('private, no-store');
    const part = await fetch(`${s.url}${s.stillPath}`, { headers: { ...bearer(TOKENS.command), range: 'bytes=0-3' } });
    expect(part.status).toBe(206);
    expect(part.headers.get('cache-control')).toBe('private, no-store');
    const list = await fetch(`${s.url}/api/incidents`, { headers: bearer(TOKENS.squad) });
    expect(list.headers.get('cache-control')).toBe('private, no-store');
  });
});

describe('console server: the 401 message', () => {
  it('reads as written: redaction of log lines does not mangle the help text', async () => {
    const s = await start();
    const r = await fetch(`${s.url}/api/incidents`);
    expect(r.status).toBe(401);
    expect(await r.json()).toEqual({ error: 'CONSOLE_UNAUTHORIZED', message: 'no token: send the token as `Authorization: Bearer <token>` (or `?token=` on WebSocket routes)' });
  });
});

/** A request written byte for byte on a socket (node's client refuses what these tests send). */
function rawSocket(url: string, text: string): Promise<{ status: number; head: string; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = connect(Number(u.port), u.hostname, () => sock.write(text));
    sock.on('data', (c: Buffer) => chunks.push(c));
    sock.on('error', (e) => (chunks.length ? undefined : reject(e)));
    sock.on('close', () => {
      const all = Buffer.concat(chunks).toString('utf8');
      const [head = '', body = ''] = all.split('\r\n\r\n');
      resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0), head, body });
    });
  });
}

describe("console server: fastify's own refusals in the API's error shape", () => {
  const close = (s: Server, body: string, type = 'application/json') =>
    fetch(`${s.url}/api/incidents/${INCIDENT}/close`, { method: 'POST', headers: { ...bearer(TOKENS.command), 'content-type': type }, body });

  it('a path part too long for the router: 414 CONSOLE_URI_TOO_LONG', async () => {
    const s = await start();
    const r = await fetch(`${s.url}/api/incidents/${'a'.repeat(300)}`, { headers: bearer(TOKENS.command) });
    expect(r.status).toBe(414);
    expect(await r.json()).toEqual({ error: 'CONSOLE_URI_TOO_LONG', message: expect.stringMatching(/longer than/) });
    expect(r.headers.get('cache-control')).toBe('private, no-store');
  });

  it('a URL longer than the HTTP parser takes: 414 CONSOLE_URI_TOO_LONG; headers too large: 431', async () => {
    const s = await start();
    const url = await rawSocket(s.url, `GET /api/incidents?camera=${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`);
    expect(url.status).toBe(414);
    expect(url.head).toMatch(/content-type: application\/json/i);
    expect(JSON.parse(url.body)).toEqual({ error: 'CONSOLE_URI_TOO_LONG', message: expect.stringMatching(/URL/) });
    const headers = await rawSocket(s.url, `GET /api/incidents HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`);
    expect(headers.status).toBe(431);
    expect(JSON.parse(headers.body)).toMatchObject({ error: 'CONSOLE_HEADERS_TOO_LARGE' });
    const garbage = await rawSocket(s.url, 'NOT HTTP AT ALL\r\n\r\n');
    expect(garbage.status).toBe(400);
    expect(JSON.parse(garbage.body)).toMatchObject({ error: 'CONSOLE_BAD_REQUEST' });
  });

  it('a body too large: 413 CONSOLE_PAYLOAD_TOO_LARGE', async () => {
    const s = await start();
    const r = await close(s, JSON.stringify({ note: 'x'.repeat(2 * 1024 * 1024) }));
    expect(r.status).toBe(413);
    expect(await r.json()).toEqual({ error: 'CONSOLE_PAYLOAD_TOO_LARGE', message: expect.stringMatching(/larger than 1 MiB/) });
  });

  it('bad JSON: 400 CONSOLE_BAD_REQUEST saying so; another content type: 415', async () => {
    const s = await start();
    const r = await close(s, '{"note": ');
    expect(r.status).toBe(400);
    expect(await r.json()).toEqual({ error: 'CONSOLE_BAD_REQUEST', message: expect.stringMatching(/not valid JSON/) });
    const xml = await close(s, '<note/>', 'application/xml');
    expect(xml.status).toBe(415);
    expect(await xml.json()).toEqual({ error: 'CONSOLE_UNSUPPORTED_MEDIA_TYPE', message: expect.stringMatching(/application\/json/) });
  });

  it('a malformed URL: 400 CONSOLE_BAD_REQUEST; no such route: 404 CONSOLE_NOT_FOUND', async () => {
    const s = await start();
    const bad = await raw(s.url, `GET /api/incidents/%zz`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toEqual({ error: 'CONSOLE_BAD_REQUEST', message: expect.stringMatching(/percent/) });
    const none = await fetch(`${s.url}/api/nothing-here`);
    expect(none.status).toBe(404);
    expect(await none.json()).toEqual({ error: 'CONSOLE_NOT_FOUND', message: expect.stringMatching(/console\/API\.md/) });
    const file = await fetch(`${s.url}/web/no-such-file.js`);
    expect(file.status).toBe(404);
    expect(await file.json()).toMatchObject({ error: 'CONSOLE_NOT_FOUND' });
  });
});

describe('console server: content security policy', () => {
  it("lets the page connect to its own origin only (no ws: or wss: to any host)", async () => {
    const s = await start({ plan: { tileUrl: 'https://tiles.example.gov.cn/{z}/{x}/{y}.png' } });
    const csp = (await fetch(`${s.url}/`)).headers.get('content-security-policy') ?? '';
    const connect = /connect-src ([^;]*)/.exec(csp)?.[1]?.split(' ');
    expect(connect).toEqual(["'self'", 'https://tiles.example.gov.cn']);
  });
});

/** Opens a WebSocket: 101 when it opens, else the refusal's status and JSON body. */
function wsOpen(url: string, opts: { origin?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body?: { error: string; message: string } }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), { ...(opts.origin !== undefined && { origin: opts.origin }), ...(opts.headers && { headers: opts.headers }) });
    ws.on('open', () => {
      ws.close();
      resolve({ status: 101 });
    });
    ws.on('unexpected-response', (_req, res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += String(c)));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) }));
    });
    ws.on('error', reject);
  });
}

describe('console server: failed logins are limited per address', () => {
  const get = (s: Server, token?: string) => fetch(`${s.url}/api/me`, { headers: token ? bearer(token) : {} });

  it('answers 429 in the API shape past console.authFailures.max unknown tokens; counts them', async () => {
    const s = await start({ authFailures: { max: 3, windowSec: 60 } });
    // successful requests are never counted, however many
    for (let i = 0; i < 10; i++) expect((await get(s, TOKENS.command)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await get(s, `guess-guess-guess-000${i}`)).status).toBe(401);
    const limited = await get(s, 'guess-guess-guess-0003');
    expect(limited.status).toBe(429);
    expect(await limited.json()).toEqual({ error: 'CONSOLE_RATE_LIMITED', message: expect.stringMatching(/too many failed logins from this address \(3 within 60 s, console\.authFailures\); try again in \d+ s/) });
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    // a token never seen from this address is not even looked at: guessing is slowed, not answered differently
    expect((await get(s, TOKENS.squad)).status).toBe(429);
    expect((await wsOpen(`${s.url}/api/events?token=guess-guess-guess-0004`)).status).toBe(429);
    // the operator already working from this address is not locked out by someone else's failures
    expect((await get(s, TOKENS.command)).status).toBe(200);
    // nor is anyone at another address
    expect((await s.app.inject({ url: '/api/me', headers: bearer(TOKENS.squad), remoteAddress: '10.1.2.3' })).statusCode).toBe(200);
    expect((await s.app.inject({ url: '/api/me', headers: bearer('guess-guess-guess-0005'), remoteAddress: '10.1.2.3' })).statusCode).toBe(401);

    expect(await metricValue(s.metrics, 'streetwatch_console_auth_failures_total', { reason: 'unknown' })).toBe(4);
    expect(await metricValue(s.metrics, 'streetwatch_console_rate_limited_total', {})).toBe(3);
    const warned = s.lines.filter((l) => /failed logins from 127\.0\.0\.1/.test(String(l.msg)));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatchObject({ level: 40, address: '127.0.0.1', failures: 3 });
  });

  it('does not count requests without a token (a client to fix, not a guess); counts them by reason', async () => {
    const s = await start({ authFailures: { max: 2, windowSec: 60 } });
    for (let i = 0; i < 5; i++) expect((await get(s)).status).toBe(401);
    expect((await get(s, 'guess-guess-guess-0001')).status).toBe(401);
    expect(await metricValue(s.metrics, 'streetwatch_console_auth_failures_total', { reason: 'missing' })).toBe(5);
    expect(await metricValue(s.metrics, 'streetwatch_console_auth_failures_total', { reason: 'unknown' })).toBe(1);
  });

  it('lets the address try again when the window has passed', async () => {
    const s = await start({ authFailures: { max: 1, windowSec: 1 } });
    expect((await get(s, 'guess-guess-guess-0001')).status).toBe(401);
    expect((await get(s, TOKENS.squad)).status).toBe(429);
    await sleep(1100);
    expect((await get(s, TOKENS.squad)).status).toBe(200);
  });
});

describe('console server: WebSockets only from the console\'s own pages', () => {
  const events = (s: Server) => `${s.url}/api/events?token=${TOKENS.command}`;

  it('refuses an upgrade from a page of another origin with 403 in the API shape, and logs it', async () => {
    const s = await start();
    const r = await wsOpen(events(s), { origin: 'https://evil.example' });
    expect(r).toEqual({ status: 403, body: { error: 'CONSOLE_ORIGIN_FORBIDDEN', message: expect.stringMatching(/https:\/\/evil\.example.*console\.allowedOrigins/) } });
    expect((await wsOpen(events(s), { origin: 'null' })).status).toBe(403);
    expect((await wsOpen(`${s.url}/api/events`, { origin: 'https://evil.example' })).status).toBe(403); // before any token is looked at
    const line = s.lines.find((l) => l.origin === 'https://evil.example');
    expect(line).toMatchObject({ level: 40, path: '/api/events', msg: 'console: refused a WebSocket from a page at https://evil.example' });
    expect(JSON.stringify(s.lines)).not.toContain(TOKENS.command);
  });

  it("accepts the console's own pages, clients that send no Origin, and console.allowedOrigins", async () => {
    const s = await start({ allowedOrigins: ['https://wall.example.gov.cn'] });
    expect((await wsOpen(events(s), { origin: s.url })).status).toBe(101);
    expect((await wsOpen(events(s))).status).toBe(101);
    expect((await wsOpen(events(s), { origin: 'https://wall.example.gov.cn' })).status).toBe(101);
    expect((await wsOpen(events(s), { origin: 'https://wall.example.gov.cn.evil.example' })).status).toBe(403);
  });

  it.each<[string, string | undefined, boolean]>([
    ['http://127.0.0.1:8080', '127.0.0.1:8080', true],
    ['http://console.local', 'console.local:80', true],
    ['https://console.local', 'console.local:443', true],
    ['https://console.local', 'console.local', true],
    ['http://console.local:8080', 'console.local:8081', false],
    ['http://console.local.evil.example', 'console.local', false],
    ['http://evil.example', 'console.local', false],
    ['null', 'console.local', false],
    ['file://', 'console.local', false],
    ['http://console.local/path', 'console.local', false],
    ['http://console.local', undefined, false],
  ])('sameOrigin(%s, host %s) = %s', (origin, host, want) => {
    expect(sameOrigin(origin, host)).toBe(want);
  });
});
