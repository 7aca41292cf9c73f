import { randomUUID } from 'node:crypto';
import { readdirSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startConsoleFixture, type ConsoleFixture } from '../helpers/console.js';
import { waitFor } from '../helpers/wait.js';

// The console API over a real pipeline: a composed scene (real video, real YOLOX/static-object detection,
// real rules) makes a real incident with real signed evidence; every route is called with every role.

let fx: ConsoleFixture;
let incidentId = '';
const feeds: Record<'command' | 'squad' | 'otherSquad', { msgs: { type: string; change?: string; incident?: { id: string; createdMs?: number } }[]; at: number[]; ws: WebSocket }> = {} as never;
let scenarioDone = 0;

type Role = keyof ConsoleFixture['tokens'];
const api = async (path: string, role?: Role, init: RequestInit = {}) => {
  const headers: Record<string, string> = { ...(init.headers as Record<string, string>) };
  if (role) headers.authorization = `Bearer ${fx.tokens[role]}`;
  if (init.body) headers['content-type'] = 'application/json';
  return fetch(`${fx.url}${path}`, { ...init, headers });
};
const json = async <T = any>(path: string, role?: Role, init?: RequestInit): Promise<T> => {
  const r = await api(path, role, init);
  if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
  return r.json() as Promise<T>;
};
const post = (path: string, role: Role, body: unknown = {}) => api(path, role, { method: 'POST', body: JSON.stringify(body) });

/** A raw GET, so `..` reaches the server as sent (fetch would normalise it away). */
function rawGet(path: string, token?: string): Promise<number> {
  const u = new URL(fx.url);
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: u.hostname, port: u.port, path, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

function openFeed(role: Role): Promise<(typeof feeds)['command']> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${fx.url.replace('http', 'ws')}/api/events?token=${fx.tokens[role]}`);
    const f = { msgs: [] as never[], at: [] as number[], ws };
    ws.on('message', (d) => {
      f.msgs.push(JSON.parse(String(d)) as never);
      f.at.push(Date.now());
    });
    ws.on('open', () => resolve(f));
    ws.on('error', reject);
  });
}

beforeAll(async () => {
  fx = await startConsoleFixture();
  feeds.command = await openFeed('command');
  feeds.squad = await openFeed('squad');
  feeds.otherSquad = await openFeed('otherSquad');
  await fx.runScenario();
  scenarioDone = Date.now();
  const { items } = await json<{ items: { id: string }[] }>('/api/incidents', 'command');
  incidentId = items[0]!.id;
}, 180_000);

afterAll(async () => {
  for (const f of Object.values(feeds)) f?.ws.close();
  await fx?.stop();
});

describe('console API: access', () => {
  it('needs a known token on every /api route; /healthz and /metrics are open', async () => {
    expect((await api('/api/incidents')).status).toBe(401);
    expect((await api('/api/incidents', undefined, { headers: { authorization: 'Bearer not-a-real-token-at-all' } })).status).toBe(401);
    // a token in the query is for WebSockets only: elsewhere it would end up in logs and history
    expect((await api(`/api/incidents?token=${fx.tokens.command}`)).status).toBe(401);
    const body = (await (await api('/api/me')).json()) as { error: string; message: string };
    expect(body.error).toBe('CONSOLE_UNAUTHORIZED');
    expect(body.message).toMatch(/Authorization: Bearer/);
    expect((await api('/healthz')).status).toBe(200);
    // the web app and its vendor scripts are served without a token, from this server only
    const page = await api('/');
    expect(await page.text()).toContain('/vendor/echarts.min.js');
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect((await api('/vendor/echarts.min.js')).status).toBe(200);
    expect((await api('/vendor/../package.json')).status).toBe(404);
    expect(((await (await api('/web/no-such-file.js')).json()) as { error: string }).error).toBe('CONSOLE_NOT_FOUND');
    expect(await (await api('/metrics')).text()).toMatch(/streetwatch_incident_hits_total/);
  });

  it('tells each token its role', async () => {
    expect(await json('/api/me', 'command')).toMatchObject({ name: '指挥室', role: 'command' });
    expect(await json('/api/me', 'admin')).toMatchObject({ role: 'admin' });
    expect(await json('/api/me', 'squad')).toMatchObject({ role: 'squad:sq-1', squad: 'sq-1' });
  });

  it('keeps operator routes from squads and admin routes from command', async () => {
    for (const path of ['/api/cameras', '/api/detectors', '/api/analytics', '/api/scoreboard', '/api/plan', '/api/plan/image', '/api/false-positives']) {
      expect((await api(path, 'squad')).status, path).toBe(403);
      expect((await api(path, 'command')).status, path).toBe(200);
    }
    expect((await api('/api/admin/tokens', 'command')).status).toBe(403);
    const tokens = await json<{ name: string; role: string }[]>('/api/admin/tokens', 'admin');
    expect(tokens.map((t) => t.role).sort()).toEqual(['admin', 'command', 'squad:sq-1', 'squad:sq-2']);
    expect(JSON.stringify(tokens)).not.toContain(fx.tokens.command);
    expect((await post(`/api/incidents/${incidentId}/false-positive`, 'squad')).status).toBe(403);
    expect((await post(`/api/incidents/${incidentId}/status`, 'command', { status: 'accepted' })).status).toBe(403);
  });

  it('refuses WebSockets without a token', async () => {
    for (const path of ['/api/events', '/api/live/cam-a']) {
      const status = await new Promise<number>((resolve) => {
        const ws = new WebSocket(`${fx.url.replace('http', 'ws')}${path}`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => resolve(101));
        ws.on('error', () => resolve(-1));
      });
      expect(status, path).toBe(401);
    }
  });

  it('streams live video to command (MPEG-1 for JSMpeg), refuses squads', async () => {
    const wsStatus = (token: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${fx.url.replace('http', 'ws')}/api/live/cam-a?token=${token}`);
        ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        ws.on('open', () => (ws.close(), resolve(101)));
      });
    expect(await wsStatus(fx.tokens.squad)).toBe(403);
    const first = await new Promise<Buffer>((resolve, reject) => {
      const ws = new WebSocket(`${fx.url.replace('http', 'ws')}/api/live/cam-a?token=${fx.tokens.command}`);
      ws.on('message', (d: Buffer) => (ws.close(), resolve(d)));
      ws.on('error', reject);
    });
    expect(first.subarray(0, 4).toString()).toBe('jsmp');
    expect(first.readUInt16BE(4)).toBe(640);
  });
});

describe('console API: incidents and the live feed', () => {
  it('pushes the new incident live to command and its squad, not to another squad', () => {
    const created = feeds.command.msgs.findIndex((m) => m.type === 'incident' && m.change === 'created');
    expect(created).toBeGreaterThan(-1);
    const m = feeds.command.msgs[created]!;
    expect(m.incident!.id).toBe(incidentId);
    const latency = feeds.command.at[created]! - m.incident!.createdMs!;
    // the 1 s target is measured by `npm run bench -- console`; here: it came, after it was stored
    console.log(`console feed: created incident pushed ${latency} ms after it was stored`);
    expect(latency).toBeGreaterThanOrEqual(0);
    expect(feeds.command.msgs[0]).toEqual({ type: 'hello', role: 'command' });
    expect(feeds.squad.msgs.some((x) => x.incident?.id === incidentId)).toBe(true); // once its ticket exists
    expect(feeds.otherSquad.msgs.filter((x) => x.type === 'incident')).toEqual([]);
    expect(scenarioDone).toBeGreaterThan(0);
  });

  it('lists and filters incidents', async () => {
    const ids = async (q: string, role: Role = 'command') => (await json<{ items: { id: string }[] }>(`/api/incidents${q}`, role)).items.map((i) => i.id);
    expect(await ids('')).toEqual([incidentId]);
    const [item] = (await json<{ items: Record<string, any>[] }>('/api/incidents', 'command')).items;
    expect(item).toMatchObject({ type: 'stacking', cameraId: 'cam-a', cameraName: '测试摄像机 A / test camera A', zoneId: 'z1', street: '南京东路街道', squad: { id: 'sq-1', name: '一中队' } });
    expect(item!.state).toBe('dispatched'); // embedded: delivered to the squads' console inbox once stored
    expect(item!.thumbnail).toMatch(/^\/api\/evidence\/.+\?exp=\d+&r=command&sig=/);
    expect(await ids('?type=stacking')).toEqual([incidentId]);
    expect(await ids('?type=stall,door_front')).toEqual([]);
    expect(await ids('?state=rejected')).toEqual([]);
    expect(await ids('?camera=cam-a&zone=z1&squad=sq-1')).toEqual([incidentId]);
    expect(await ids('?zone=z2')).toEqual([]);
    expect(await ids('?squad=sq-2')).toEqual([]);
    expect(await ids(`?from=${Date.now() - 3600_000}&to=${Date.now()}`)).toEqual([incidentId]);
    expect(await ids(`?to=${Date.now() - 3600_000}`)).toEqual([]);
    expect(await ids('', 'squad')).toEqual([incidentId]);
    expect(await ids('', 'otherSquad')).toEqual([]);
    expect(await ids('?squad=sq-1', 'otherSquad')).toEqual([]);
    expect((await api('/api/incidents?type=parking', 'command')).status).toBe(400);
    expect((await api('/api/incidents?limit=0', 'command')).status).toBe(400);
    expect((await api('/api/incidents?from=yesterday', 'command')).status).toBe(400);
  });

  it('shows an incident with its evidence, verification and ticket; hides it from another squad', async () => {
    const d = await json<any>(`/api/incidents/${incidentId}`, 'command');
    expect(d.ticket).toMatchObject({ ticketId: incidentId, squad: { id: 'sq-1' } });
    expect(d.history.map((h: { kind: string }) => h.kind)).toEqual(expect.arrayContaining(['confirmed', 'ticket_issued']));
    expect(d.evidence.revisions.length).toBeGreaterThanOrEqual(2); // snapshot, then full resolution
    const kinds = d.evidence.revisions.flatMap((r: any) => r.files.map((f: any) => f.kind));
    expect(kinds).toEqual(expect.arrayContaining(['snapshot', 'still', 'annotated', 'clip', 'manifest']));
    expect(d.evidence.verification).toMatchObject({ ok: true, problems: [] });
    expect((await json(`/api/incidents/${incidentId}`, 'squad')).incident.id).toBe(incidentId);
    expect((await api(`/api/incidents/${incidentId}`, 'otherSquad')).status).toBe(404);
    expect((await api(`/api/incidents/${randomUUID()}`, 'command')).status).toBe(404);
  });

  it('serves evidence by signed URL or token, to those allowed only, and refuses traversal and guesses', async () => {
    const d = await json<any>(`/api/incidents/${incidentId}`, 'command');
    const still = d.evidence.revisions.flatMap((r: any) => r.files).find((f: any) => f.kind === 'annotated');
    const signed = await fetch(`${fx.url}${still.url}`);
    expect(signed.status).toBe(200);
    expect(signed.headers.get('content-type')).toBe('image/jpeg');
    // pictures of people: no shared cache, no disk copy (sendFile's own `public` must not win)
    expect(signed.headers.get('cache-control')).toBe('private, no-store');
    expect((await signed.arrayBuffer()).byteLength).toBe(still.bytes);
    const path = still.url.split('?')[0];
    expect((await api(path)).status).toBe(401); // unsigned, no token
    expect((await api(`${path}?exp=9999999999&sig=${'A'.repeat(43)}`)).status).toBe(401); // forged signature
    expect((await api(path, 'squad')).status).toBe(200);
    expect((await api(path, 'otherSquad')).status).toBe(404);
    const clip = d.evidence.revisions.flatMap((r: any) => r.files).find((f: any) => f.kind === 'clip');
    const part = await fetch(`${fx.url}${clip.url}`, { headers: { range: 'bytes=0-99' } });
    expect(part.status).toBe(206);
    expect((await part.arrayBuffer()).byteLength).toBe(100);
    expect(part.headers.get('cache-control')).toBe('private, no-store');
    const thumb = (await json<{ items: { thumbnail: string }[] }>('/api/incidents', 'command')).items[0]!.thumbnail;
    expect((await fetch(`${fx.url}${thumb}`)).headers.get('cache-control')).toBe('private, no-store');

    const t = fx.tokens.command;
    for (const p of [
      `/api/evidence/${incidentId}/r2/../../chain.jsonl`,
      `/api/evidence/${incidentId}/r2/..%2F..%2Fchain.jsonl`,
      `/api/evidence/..%2F..%2F..%2Fetc/r1/passwd`,
      `/api/evidence/${incidentId}/r2/%2e%2e%2fr1%2fmeta.json`,
      `/api/evidence/${incidentId}/..%2Fkeys/evidence-ed25519.key`,
      `/api/evidence/${incidentId}/r2/not-in-manifest.png`,
      `/api/evidence/${randomUUID()}/r1/meta.json`,
    ]) {
      expect([400, 404], p).toContain(await rawGet(p, t));
    }
  });

  it('shows a tampered evidence file as failed verification', async () => {
    const dir = join(fx.stage.evidenceRoot, incidentId, 'r1');
    const meta = readdirSync(dir).find((n) => n === 'meta.json')!;
    writeFileSync(join(dir, meta), '{"tampered":true}\n');
    const d = await json<any>(`/api/incidents/${incidentId}`, 'command');
    expect(d.evidence.verification.ok).toBe(false);
    expect(d.evidence.verification.problems).toEqual(expect.arrayContaining([expect.objectContaining({ item: 'r1/meta.json', problem: 'changed' })]));
  });
});

describe('console API: actions, squads, scoreboard, analytics, cameras, plan', () => {
  it('closes the loop: squad accepts, operator re-dispatches to another squad, marks a false positive, re-dispatches, squad resolves', async () => {
    expect((await post(`/api/incidents/${incidentId}/status`, 'otherSquad', { status: 'accepted' })).status).toBe(404);
    expect((await post(`/api/incidents/${incidentId}/status`, 'squad', { status: 'done' })).status).toBe(400);
    let r = await post(`/api/incidents/${incidentId}/status`, 'squad', { status: 'accepted', note: '已派人' });
    expect(r.status).toBe(200);
    expect((await r.json()) as any).toMatchObject({ via: 'local', incident: { state: 'acknowledged' } });
    // on site after accepted is a change of its own; accepted after on site is refused, and not stored either
    r = await post(`/api/incidents/${incidentId}/status`, 'squad', { status: 'on_site' });
    expect(r.status).toBe(200);
    expect((await r.json()) as any).toMatchObject({ incident: { state: 'on_site' } });
    expect((await post(`/api/incidents/${incidentId}/status`, 'squad', { status: 'accepted' })).status).toBe(409);
    const squadKinds = (await json<any>(`/api/incidents/${incidentId}`, 'command')).history.filter((e: any) => e.by === 'squad:sq-1').map((e: any) => e.kind);
    expect(squadKinds.filter((k: string) => k === 'accepted' || k === 'on_site')).toEqual(['accepted', 'on_site']);

    expect((await post(`/api/incidents/${incidentId}/redispatch`, 'command', { squad: 'sq-9' })).status).toBe(400);
    const squadUrl = (await json<any>(`/api/incidents/${incidentId}`, 'squad')).evidence.revisions[0].files[0].url as string;
    expect(squadUrl).toContain('r=squad%3Asq-1');
    expect((await fetch(`${fx.url}${squadUrl}`)).status).toBe(200);
    r = await post(`/api/incidents/${incidentId}/redispatch`, 'command', { squad: 'sq-2', note: '一中队无人' });
    expect(r.status).toBe(200);
    expect(((await r.json()) as any).incident).toMatchObject({ state: 'confirmed', squad: { id: 'sq-2' }, redispatches: 1 });
    expect((await api(`/api/incidents/${incidentId}`, 'squad')).status).toBe(404);
    expect((await fetch(`${fx.url}${squadUrl}`)).status).toBe(404); // the URL signed for sq-1 no longer opens it
    expect((await json(`/api/incidents/${incidentId}`, 'otherSquad')).ticket.squad.id).toBe('sq-2');

    r = await post(`/api/incidents/${incidentId}/false-positive`, 'command', { note: '是垃圾桶' });
    expect(((await r.json()) as any).incident).toMatchObject({ state: 'rejected', resolution: { status: 'rejected_false_positive', by: '指挥室', note: '是垃圾桶' } });
    expect((await post(`/api/incidents/${incidentId}/false-positive`, 'command')).status).toBe(409);
    expect((await post(`/api/incidents/${incidentId}/close`, 'command')).status).toBe(409);
    let board = await json<{ rows: any[] }>('/api/scoreboard', 'command');
    expect(board.rows).toContainEqual(expect.objectContaining({ detector: 'static-object', cameraId: 'cam-a', zoneId: 'z1', confirmed: 0, falsePositive: 1, precision: 0 }));
    expect((await json<any[]>('/api/false-positives', 'command')).some((f) => f.detector === 'static-object')).toBe(true);

    r = await post(`/api/incidents/${incidentId}/redispatch`, 'admin');
    expect(((await r.json()) as any).incident).toMatchObject({ state: 'confirmed', squad: { id: 'sq-2' }, redispatches: 2 });
    r = await post(`/api/incidents/${incidentId}/status`, 'otherSquad', { status: 'resolved' });
    expect(((await r.json()) as any).incident).toMatchObject({ state: 'resolved', resolution: { status: 'resolved', by: 'squad:sq-2' } });
    board = await json<{ rows: any[] }>('/api/scoreboard', 'command');
    expect(board.rows).toContainEqual(expect.objectContaining({ detector: 'static-object', zoneId: 'z1', confirmed: 1, falsePositive: 0, precision: 1 }));

    const d = await json<any>(`/api/incidents/${incidentId}`, 'command');
    expect(d.history.map((h: any) => h.kind)).toEqual(expect.arrayContaining(['accepted', 'note', 'redispatched', 'false_positive', 'resolved']));
    expect(d.history.find((h: any) => h.kind === 'false_positive')).toMatchObject({ by: '指挥室', note: '是垃圾桶' });
    // the changes reached the live feed of the squad now holding the ticket
    await waitFor(() => feeds.otherSquad.msgs.some((m) => m.type === 'incident'), 5000, 'the change on the new squad\'s feed');
  });

  it('counts hotspots by hour and type, zone, street and subject', async () => {
    const a = await json<any>('/api/analytics', 'command');
    expect(a.total).toBe(1);
    expect(a.timezone).toBe('Asia/Shanghai');
    expect(a.byType).toContainEqual({ type: 'stacking', count: 1 });
    expect(a.byType.map((t: any) => t.type).sort()).toEqual(['door_front', 'stacking', 'stall']);
    const hour = Number(new Intl.DateTimeFormat('en-US', { timeZone: 'Asia/Shanghai', hour: '2-digit', hourCycle: 'h23' }).format(new Date(a.to - 60_000)));
    const stacking = a.byHourType.series.find((s: any) => s.type === 'stacking').counts;
    expect(stacking.reduce((x: number, y: number) => x + y, 0)).toBe(1);
    expect([hour, (hour + 23) % 24]).toContain(stacking.findIndex((n: number) => n === 1));
    expect(a.byZone).toEqual([{ cameraId: 'cam-a', zoneId: 'z1', name: '测试摄像机 A / test camera A · z1', count: 1 }]);
    expect(a.byStreet).toEqual([{ street: '南京东路街道', count: 1 }]);
    expect(a.bySubject[0]).toMatchObject({ count: 1 });
    expect((await json<any>('/api/analytics?type=stall', 'command')).total).toBe(0);
    expect((await api('/api/analytics?from=10&to=5', 'command')).status).toBe(400);
  });

  it('lists cameras and places them on the plan', async () => {
    const cams = await json<any[]>('/api/cameras', 'command');
    expect(cams).toEqual([expect.objectContaining({ id: 'cam-a', kind: 'file', location: expect.objectContaining({ jurisdiction: 'ndl' }), zones: [{ id: 'z1', kind: 'no_stacking' }], openIncidents: 0, live: expect.objectContaining({ available: true }) })]);
    const plan = await json<any>('/api/plan', 'command');
    expect(plan.bounds).toEqual({ west: 121.46, south: 31.22, east: 121.49, north: 31.24 });
    const c = plan.cameras[0];
    expect(c).toMatchObject({ id: 'cam-a', incidents: 1, open: 0 });
    expect(c.x).toBeCloseTo((121.4737 - 121.46) / 0.03, 6);
    expect(c.y).toBeCloseTo((31.24 - 31.2304) / 0.02, 6);
  });
});

