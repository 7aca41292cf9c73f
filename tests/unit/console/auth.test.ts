import { describe, expect, it } from 'vitest';
import { consoleSchema } from '../../../config/console.js';
import { isStreetwatchError } from '../../../core/errors.js';
import { authFailureReason, KnownLogins, maySee, parseRole, presentedToken, requireRole, tokenIdOf, TokenTable, UrlSigner } from '../../../console/auth.js';
import { memoryLogger } from '../../helpers/pipeline.js';

const cfg = consoleSchema.parse({
  tokens: [
    { name: 'room', role: 'command', token: 'command-token-0000001' },
    { name: 'ops', role: 'admin', tokenEnv: 'SW_TEST_ADMIN' },
    { name: 'sq1', role: 'squad:sq-1', tokenEnv: 'SW_TEST_UNSET' },
  ],
});

const code = (fn: () => unknown) => {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return isStreetwatchError(e) ? e.code : 'other';
  }
};

describe('console tokens', () => {
  it('reads literal and environment tokens, skips unset ones with a warning naming the variable', () => {
    const { log, lines } = memoryLogger('warn');
    const t = new TokenTable(cfg, { SW_TEST_ADMIN: 'admin-token-from-env-01' }, log);
    expect(t.principals()).toHaveLength(2);
    expect(t.authenticate('Bearer command-token-0000001', undefined)).toMatchObject({ name: 'room', role: 'command' });
    expect(t.authenticate(undefined, 'admin-token-from-env-01')).toMatchObject({ name: 'ops', role: 'admin' });
    expect(JSON.stringify(lines)).toContain('SW_TEST_UNSET');
  });

  it('knows when a reload removed a token or changed its role', () => {
    const env = { SW_TEST_ADMIN: 'admin-token-from-env-01' };
    const p = new TokenTable(cfg, env, undefined).authenticate('Bearer command-token-0000001', undefined);
    expect(new TokenTable(cfg, env, undefined).isCurrent(p)).toBe(true);
    const demoted = consoleSchema.parse({ tokens: [{ name: 'room', role: 'squad:sq-1', token: 'command-token-0000001' }] });
    expect(new TokenTable(demoted, env, undefined).isCurrent(p)).toBe(false);
    expect(new TokenTable(consoleSchema.parse({}), env, undefined).isCurrent(p)).toBe(false);
  });

  it.each([
    ['no header', undefined, undefined],
    ['unknown token', 'Bearer nope-nope-nope-nope-nope', undefined],
    ['basic auth', 'Basic Y29tbWFuZDp4', undefined],
    ['a prefix of a real token', 'Bearer command-token', undefined],
  ])('refuses %s with 401', (_n, header, query) => {
    const t = new TokenTable(cfg, {}, undefined);
    expect(code(() => t.authenticate(header, query))).toBe('CONSOLE_UNAUTHORIZED');
  });

  it('says how to send a token, in words that survive log redaction', () => {
    const t = new TokenTable(cfg, {}, undefined);
    expect(() => t.authenticate(undefined, undefined)).toThrow('no token: send the token as `Authorization: Bearer <token>` (or `?token=` on WebSocket routes)');
  });

  it.each([
    ['no token', undefined, 'missing'],
    ['an unknown token', 'Bearer nope-nope-nope-nope-nope', 'unknown'],
  ])('gives the reason of a 401 for %s', (_n, header, reason) => {
    const t = new TokenTable(cfg, {}, undefined);
    let err: unknown;
    try {
      t.authenticate(header, undefined);
    } catch (e) {
      err = e;
    }
    expect(authFailureReason(err)).toBe(reason);
    expect(authFailureReason(new Error('x'))).toBeUndefined();
  });

  it('refuses everyone when no tokens are configured, and says how to add them', () => {
    const t = new TokenTable(consoleSchema.parse({}), {}, undefined);
    expect(() => t.authenticate('Bearer anything-anything-1', undefined)).toThrow(/console\.tokens/);
  });

  it('rejects bad token entries in the config', () => {
    expect(consoleSchema.safeParse({ tokens: [{ name: 'x', role: 'boss', token: 'long-enough-token-1' }] }).success).toBe(false);
    expect(consoleSchema.safeParse({ tokens: [{ name: 'x', role: 'command', token: 'short' }] }).success).toBe(false);
    expect(consoleSchema.safeParse({ tokens: [{ name: 'x', role: 'command' }] }).success).toBe(false);
    expect(consoleSchema.safeParse({ tokens: [{ name: 'x', role: 'command', token: 'long-enough-token-1', tokenEnv: 'X' }] }).success).toBe(false);
    expect(consoleSchema.safeParse({ tokens: [{ name: 'x', role: 'squad:sq-1', tokenEnv: 'SQ1' }] }).success).toBe(true);
  });
});

describe('roles', () => {
  it.each([
    ['command', 'command', ['command', 'admin'], 'ok'],
    ['admin', 'admin', ['command', 'admin'], 'ok'],
    ['squad:sq-1', 'squad', ['command', 'admin'], 'CONSOLE_FORBIDDEN'],
    ['command', 'command', ['admin'], 'CONSOLE_FORBIDDEN'],
    ['squad:sq-1', 'squad', ['squad'], 'ok'],
  ] as const)('%s on a route for %j', (role, _r, needs, want) => {
    expect(code(() => requireRole({ name: 'x', ...parseRole(role) }, ...needs))).toBe(want);
  });

  it.each([
    [{ role: 'command' }, undefined, true],
    [{ role: 'command' }, 'sq-2', true],
    [{ role: 'squad', squad: 'sq-1' }, 'sq-1', true],
    [{ role: 'squad', squad: 'sq-1' }, 'sq-2', false],
    [{ role: 'squad', squad: 'sq-1' }, undefined, false],
  ] as const)('%j sees an incident of squad %s: %s', (p, squad, want) => {
    expect(maySee({ name: 'x', ...p }, squad)).toBe(want);
  });
});

describe('signed evidence URLs', () => {
  const s = new UrlSigner(Buffer.alloc(32, 7), 60_000);
  const path = '/api/evidence/abc/r1/still-first.png';
  const parts = (url: string) => Object.fromEntries(new URL(url, 'http://x').searchParams) as { exp: string; r: string; sig: string };

  it('accepts its own signature until it expires, and says for which role it was signed', () => {
    const { exp, r, sig } = parts(s.sign(path, 'squad:sq-1', 1_000_000));
    expect(r).toBe('squad:sq-1');
    expect(s.verify(path, exp, r, sig, 1_000_000)).toBe('squad:sq-1');
    expect(s.verify(path, exp, r, sig, 1_000_000 + 61_000)).toBeUndefined();
  });

  it('refuses another path or role, an altered expiry, a forged or missing signature, another key', () => {
    const { exp, r, sig } = parts(s.sign(path, 'squad:sq-1', 1_000_000));
    expect(s.verify('/api/evidence/abc/r1/still-latest.png', exp, r, sig, 1_000_000)).toBeUndefined();
    expect(s.verify(path, exp, 'command', sig, 1_000_000)).toBeUndefined();
    expect(s.verify(path, String(Number(exp) + 3600), r, sig, 1_000_000)).toBeUndefined();
    expect(s.verify(path, exp, r, 'A'.repeat(43), 1_000_000)).toBeUndefined();
    expect(s.verify(path, exp, r, undefined, 1_000_000)).toBeUndefined();
    expect(s.verify(path, 'soon', r, sig, 1_000_000)).toBeUndefined();
    expect(new UrlSigner(Buffer.alloc(32, 8)).verify(path, exp, r, sig, 1_000_000)).toBeUndefined();
  });
});

describe('failed-login limit helpers', () => {
  it('presentedToken: the bearer header first, then the query value; nothing for an empty one', () => {
    expect(presentedToken('Bearer abc', 'def')).toBe('abc');
    expect(presentedToken(undefined, 'def')).toBe('def');
    expect(presentedToken('Basic Y29tbWFuZDp4', undefined)).toBeUndefined();
    expect(presentedToken(undefined, '')).toBeUndefined();
  });

  it('KnownLogins remembers token ids per address, the most recently used addresses only', () => {
    const k = new KnownLogins(2);
    k.add('10.0.0.1', tokenIdOf('token-a-0000000001'));
    k.add('10.0.0.2', tokenIdOf('token-b-0000000001'));
    expect(k.has('10.0.0.1', tokenIdOf('token-a-0000000001'))).toBe(true);
    expect(k.has('10.0.0.2', tokenIdOf('token-a-0000000001'))).toBe(false);
    k.add('10.0.0.1', tokenIdOf('token-c-0000000001')); // 10.0.0.1 is now the most recent
    k.add('10.0.0.3', tokenIdOf('token-a-0000000001')); // 10.0.0.2 is forgotten
    expect(k.has('10.0.0.2', tokenIdOf('token-b-0000000001'))).toBe(false);
    expect(k.has('10.0.0.1', tokenIdOf('token-a-0000000001'))).toBe(true);
    expect(k.has('10.0.0.1', tokenIdOf('token-c-0000000001'))).toBe(true);
  });

  it('console config: the limit and the allowed origins', () => {
    expect(consoleSchema.parse({}).authFailures).toEqual({ max: 20, windowSec: 60 });
    expect(consoleSchema.parse({}).allowedOrigins).toEqual([]);
    expect(consoleSchema.safeParse({ authFailures: { max: 0 } }).success).toBe(false);
    expect(consoleSchema.safeParse({ allowedOrigins: ['https://wall.example.gov.cn', 'http://10.0.0.5:8080'] }).success).toBe(true);
    for (const bad of ['https://wall.example.gov.cn/', 'wall.example.gov.cn', 'https://wall.example.gov.cn/console', 'HTTPS://WALL.example.gov.cn', 'ftp://x', '*']) {
      expect(consoleSchema.safeParse({ allowedOrigins: [bad] }).success, bad).toBe(false);
    }
  });
});
