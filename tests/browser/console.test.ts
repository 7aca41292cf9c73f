// The command-room console in a real browser (Debian's Chromium driven by playwright-core) against the real
// console server and pipeline: an alert from a real scenario (real video, real ONNX detection) appears live
// in the feed, its evidence loads, the analytics charts render, the English switch works, and a squad sees
// only its own tickets. Screenshots go to tmp/screenshots/console-*.png.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startConsoleFixture } from '../helpers/console.js';

const CHROMIUM = '/usr/bin/chromium';
const SHOTS = join(process.cwd(), 'tmp', 'screenshots');
const VIEWPORT = { width: 1366, height: 768 };

type Fixture = Awaited<ReturnType<typeof startConsoleFixture>>;

/**
 * The page's globals, typed just enough for the in-page checks (the project compiles without the DOM lib).
 * In-page checks are functions, not strings: the console's CSP has no 'unsafe-eval'.
 */
interface PageGlobals {
  document: { querySelector(sel: string): unknown; querySelectorAll(sel: string): ArrayLike<{ complete?: boolean; naturalWidth?: number }> };
  echarts: { getInstanceByDom(el: unknown): { getOption(): { series: { data: (number | { value: number })[] }[] } } | undefined };
}

interface IncidentLite {
  id: string;
  type: string;
  state: string;
  squad?: { id: string };
}

async function apiGet<T>(fx: Fixture, path: string, token: string): Promise<T> {
  const res = await fetch(new URL(path, fx.url), { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

async function login(page: Page, fx: Fixture, token: string): Promise<void> {
  await page.goto(fx.url);
  await page.fill('[data-testid=login-token]', token);
  await page.click('[data-testid=login-submit]');
  // The event socket is up before anything happens, so no event can be missed.
  await page.waitForSelector('[data-testid=ws-status][data-state=open]', { timeout: 10_000 });
}

function watchErrors(page: Page, errors: string[]): void {
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) errors.push(`console: ${m.text()}`);
  });
}

describe('command-room console (browser)', () => {
  let fx: Fixture;
  let browser: Browser;
  let stacking: IncidentLite | undefined;

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
    mkdirSync(SHOTS, { recursive: true });
    fx = await startConsoleFixture();
    // launch() runs Chromium on a fresh temporary profile of its own (deleted on close).
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await fx?.stop();
  });

  it('shows a scenario alert live, its evidence, the charts, and switches to English', async () => {
    const ctx: BrowserContext = await browser.newContext({ viewport: VIEWPORT, locale: 'zh-CN' });
    const page = await ctx.newPage();
    const errors: string[] = [];
    watchErrors(page, errors);

    await login(page, fx, fx.tokens.command);
    await page.waitForSelector('[data-testid=feed-list]');
    expect(await page.textContent('[data-testid=nav-feed]')).toBe('实时告警');
    const before = await page.$$eval('[data-testid=feed-item]', (els) => els.map((e) => (e as unknown as { dataset: { id: string } }).dataset.id));
    // A marker on the window: still there after the alert arrives means the page was not reloaded.
    await page.evaluate(() => {
      (globalThis as unknown as { __noReload: number }).__noReload = 1;
    });

    // The fixture's scenario is tests/scenarios/stacking-crates.yaml: one stacking incident ~10 s in.
    const scenario = fx.runScenario();
    scenario.catch(() => {}); // awaited below; keep an early failure from being unhandled meanwhile

    const item = await page.waitForSelector('[data-testid=feed-item][data-type=stacking]', { timeout: 75_000 });
    const id = (await item.getAttribute('data-id')) ?? '';
    expect(before).not.toContain(id);
    expect(await page.evaluate(() => (globalThis as unknown as { __noReload?: number }).__noReload)).toBe(1);
    // New alerts go on top, highlighted.
    expect(await page.$eval('[data-testid=feed-item]', (e) => e.getAttribute('data-id'))).toBe(id);
    // (The row is re-rendered in place on every update of the incident: select it anew each time.)
    const row = `[data-testid=feed-item][data-id="${id}"]`;
    expect(await page.getAttribute(row, 'class')).toContain('is-new');
    await page.screenshot({ path: join(SHOTS, 'console-feed.png') });

    await page.click(row);
    await page.waitForSelector(`[data-testid=incident-detail][data-id="${id}"]`);
    // The evidence still (snapshot first, then the full-resolution annotated and original ones) loads.
    await page.waitForFunction(
      () => Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('[data-testid^="still-"]')).some((i) => !!i.complete && (i.naturalWidth ?? 0) > 0),
      null,
      { timeout: 60_000 },
    );
    await page.waitForSelector('[data-testid=history] li');

    // The scenario ends with the evidence sealed: the open page picks up revision 2 (annotated and original
    // stills, the clip) without a reload (on the incident's update event, or its own re-check while the clip is
    // missing), and shows the verification.
    await scenario;
    await page.waitForFunction(
      () => Array.from((globalThis as unknown as PageGlobals).document.querySelectorAll('[data-testid=still-annotated]')).some((i) => !!i.complete && (i.naturalWidth ?? 0) > 0),
      null,
      { timeout: 30_000 },
    );
    await page.waitForSelector('[data-testid=evidence-clip]');
    await page.waitForSelector('[data-testid=detail-verification][data-verify=ok]', { timeout: 15_000 });
    await page.waitForSelector('[data-testid=ticket-squad]');
    await page.screenshot({ path: join(SHOTS, 'console-detail.png'), fullPage: true });

    // An operator action: re-dispatch with a note; the history shows it.
    await page.fill('[data-testid=action-note]', '请尽快处置');
    await page.click('[data-testid=action-redispatch]');
    await page.waitForSelector('[data-testid=history] li[data-kind=redispatched]', { timeout: 15_000 });
    expect(await page.textContent('[data-testid=history] li[data-kind=redispatched]')).toContain('请尽快处置');
    expect(await page.getAttribute('[data-testid=action-message]', 'class')).toContain('ok');

    const mine = await apiGet<{ items: IncidentLite[] }>(fx, '/api/incidents?type=stacking', fx.tokens.command);
    stacking = mine.items.find((i) => i.id === id);
    expect(stacking).toBeDefined();

    // Analytics over all time (the scenario's clock may not be today's): the charts have the incident.
    await page.click('[data-testid=nav-analytics]');
    await page.click('[data-testid=range-all]');
    await page.waitForFunction(
      () => {
        const g = globalThis as unknown as PageGlobals;
        const el = g.document.querySelector('[data-testid=chart-type]');
        const data = el ? g.echarts.getInstanceByDom(el)?.getOption().series[0]?.data : undefined;
        return !!data && data.some((d) => typeof d === 'object' && d.value > 0);
      },
      null,
      { timeout: 15_000 },
    );
    const canvas = await page.$eval('[data-testid=chart-hour] canvas', (c) => {
      const el = c as unknown as { width: number; height: number };
      return { w: el.width, h: el.height };
    });
    expect(canvas.w).toBeGreaterThan(0);
    expect(canvas.h).toBeGreaterThan(0);
    const hourTotal = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals;
      const series = g.echarts.getInstanceByDom(g.document.querySelector('[data-testid=chart-hour]'))?.getOption().series ?? [];
      return series.reduce((n, s) => n + s.data.reduce<number>((a, b) => a + (typeof b === 'number' ? b : b.value), 0), 0);
    });
    expect(hourTotal).toBeGreaterThan(0);
    await page.waitForTimeout(700); // let the charts' entry animation finish for the picture
    await page.screenshot({ path: join(SHOTS, 'console-analytics.png'), fullPage: true });

    // The other command-room views render.
    await page.click('[data-testid=nav-wall]');
    await page.waitForSelector('[data-testid=camera-card]');
    await page.screenshot({ path: join(SHOTS, 'console-wall.png') });
    await page.click('[data-testid=nav-plan]');
    await page.waitForSelector('[data-testid=plan-marker], [data-testid=plan] .empty');
    await page.screenshot({ path: join(SHOTS, 'console-plan.png') });
    // A camera's marker opens its incidents in the feed, filtered.
    await page.click('[data-testid=plan-marker][data-camera=cam-a]');
    await page.waitForSelector(`[data-testid=feed-item][data-id="${id}"]`);
    expect(await page.$eval('[data-testid=filter-camera]', (e) => (e as unknown as { value: string }).value)).toBe('cam-a');
    expect(await page.$$eval('[data-testid=feed-item]', (els) => els.every((e) => e.getAttribute('data-camera') === 'cam-a'))).toBe(true);
    await page.click('[data-testid=nav-scoreboard]');
    await page.waitForSelector('[data-testid=scoreboard], [data-testid=scoreboard-empty]');
    await page.screenshot({ path: join(SHOTS, 'console-scoreboard.png') });

    // English, kept in localStorage.
    await page.click('[data-testid=lang-switch]');
    await page.click('[data-testid=nav-analytics]');
    await page.waitForSelector('text=Peak hours');
    expect(await page.textContent('[data-testid=nav-feed]')).toBe('Alerts');
    expect(await page.evaluate(() => (globalThis as unknown as { localStorage: { getItem(k: string): string | null } }).localStorage.getItem('streetwatch.lang'))).toBe('en');
    await page.click('[data-testid=nav-feed]');
    await page.waitForSelector(`[data-testid=feed-item][data-id="${id}"] .type-stacking`);
    expect(await page.textContent(`[data-testid=feed-item][data-id="${id}"] .type-stacking`)).toBe('Stacking on road');
    await page.screenshot({ path: join(SHOTS, 'console-feed-en.png') });

    expect(errors).toEqual([]);
    await ctx.close();
  }, 150_000);

  it("keeps the page's sockets on its own origin (CSP connect-src 'self'), its own feed socket open", async () => {
    const ctx = await browser.newContext({ viewport: VIEWPORT });
    const page = await ctx.newPage();
    // login() waits for the event socket to be open: 'self' lets Chromium connect ws: to the page's own origin
    await login(page, fx, fx.tokens.command);
    const other = new URL(fx.url);
    other.port = String(Number(other.port) === 65535 ? 65534 : Number(other.port) + 1);
    const blocked = await page.evaluate(async (target) => {
      const g = globalThis as unknown as {
        document: { addEventListener(t: string, f: (e: { blockedURI: string; effectiveDirective: string }) => void): void };
        WebSocket: new (url: string) => { close(): void };
      };
      const violation = new Promise<string>((resolve) => g.document.addEventListener('securitypolicyviolation', (e) => resolve(`${e.effectiveDirective} ${e.blockedURI}`)));
      try {
        new g.WebSocket(target).close();
      } catch (e) {
        return `threw ${(e as Error).name}`;
      }
      return Promise.race([violation, new Promise<string>((resolve) => setTimeout(() => resolve('allowed'), 3000))]);
    }, `ws://${other.host}/api/events`);
    expect(blocked).toMatch(/^(connect-src ws:\/\/|threw SecurityError)/);
    expect(await page.getAttribute('[data-testid=ws-status]', 'data-state')).toBe('open');
    await ctx.close();
  }, 60_000);

  it('a squad sees only its own tickets', async () => {
    const me = await apiGet<{ role: string }>(fx, '/api/me', fx.tokens.squad);
    const squadId = fx.squadId;
    expect(me.role).toBe(`squad:${squadId}`);
    const own = await apiGet<{ items: IncidentLite[] }>(fx, '/api/incidents', fx.tokens.squad);
    const others = await apiGet<{ items: IncidentLite[] }>(fx, '/api/incidents', fx.tokens.otherSquad);

    const ctx = await browser.newContext({ viewport: VIEWPORT });
    const page = await ctx.newPage();
    const errors: string[] = [];
    watchErrors(page, errors);
    await login(page, fx, fx.tokens.squad);
    await page.waitForSelector('[data-testid=squad-open]');
    // Only the squad view in the navigation; command-room routes fall back to it.
    expect(await page.$$eval('nav a', (as) => as.map((a) => a.getAttribute('data-route')))).toEqual(['squad']);
    await page.goto(`${fx.url}#/analytics`);
    await page.waitForSelector('[data-testid=squad-open]');

    const shown = await page.$$eval('[data-testid=squad-ticket]', (els) => els.map((e) => ({ id: e.getAttribute('data-id'), squad: e.getAttribute('data-squad') })));
    expect(shown.map((s) => s.id).sort()).toEqual(own.items.map((i) => i.id).sort());
    for (const s of shown) expect(s.squad).toBe(squadId);
    const otherIds = new Set(others.items.map((i) => i.id));
    for (const s of shown) expect(otherIds.has(s.id ?? '')).toBe(false);
    // The scenario's ticket is this squad's (the fixture routes it to sq-1), and not the other squad's.
    expect(stacking).toBeDefined();
    expect(shown.map((s) => s.id)).toContain(stacking?.id);
    expect(otherIds.has(stacking?.id ?? '')).toBe(false);
    await page.screenshot({ path: join(SHOTS, 'console-squad.png'), fullPage: true });

    // Its own open ticket: accept it from the detail page.
    const open = own.items.find((i) => i.state === 'confirmed' || i.state === 'dispatched');
    expect(open, 'the scenario\'s ticket is still open for the squad').toBeDefined();
    await page.goto(`${fx.url}#/incident/${encodeURIComponent(open!.id)}`);
    await page.waitForSelector('[data-testid=status-accepted]:not([disabled])');
    await page.click('[data-testid=status-accepted]');
    await page.waitForSelector(`[data-testid=incident-detail][data-state=acknowledged]`, { timeout: 15_000 });
    await page.screenshot({ path: join(SHOTS, 'console-squad-detail.png'), fullPage: true });
    expect(errors).toEqual([]);
    await ctx.close();

    // The other squad does not get this squad's ticket in its view either.
    const ctx2 = await browser.newContext({ viewport: VIEWPORT });
    const page2 = await ctx2.newPage();
    await login(page2, fx, fx.tokens.otherSquad);
    await page2.waitForSelector('[data-testid=squad-open]');
    const shown2 = await page2.$$eval('[data-testid=squad-ticket]', (els) => els.map((e) => e.getAttribute('data-id')));
    expect(shown2.sort()).toEqual(others.items.map((i) => i.id).sort());
    expect(shown2).not.toContain(stacking?.id);
    // and opening it directly shows an error, not the incident
    await page2.goto(`${fx.url}#/incident/${encodeURIComponent(stacking!.id)}`);
    await page2.waitForSelector('[data-testid=incident-detail] .error');
    expect(await page2.$('[data-testid^="still-"]')).toBeNull();
    await ctx2.close();
  }, 90_000);
});
