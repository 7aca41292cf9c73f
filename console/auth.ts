import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ConsoleConfig } from '../config/console.js';
import { StreetwatchError } from '../core/errors.js';
import type { Logger } from '../core/log.js';

/**
 * Who is asking: bearer tokens from `console.tokens` (literal, or an environment variable named by
 * `tokenEnv`), each with a role. Tokens are looked up by their SHA-256, so the comparison time does not
 * depend on how much of a guessed token is right, and no secret is kept in a map key.
 */

export type Role = 'command' | 'admin' | 'squad';

export interface Principal {
  /** The token's holder (console.tokens[].name): recorded on every action. */
  name: string;
  role: Role;
  /** For role 'squad': the squad id. */
  squad?: string;
  /** The token's hash: which token this is, to notice when a config reload removes or changes it. */
  tokenId?: string;
}

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

export function parseRole(role: string): { role: Role; squad?: string } {
  if (role.startsWith('squad:')) return { role: 'squad', squad: role.slice('squad:'.length) };
  return { role: role as Role };
}

export function roleLabel(p: Principal): string {
  return p.role === 'squad' ? `squad:${p.squad}` : p.role;
}

/** Why a request was not authenticated: no tokens configured, none sent, or one that is not in the table. */
export const AUTH_FAILURE_REASONS = ['unconfigured', 'missing', 'unknown'] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

const unauthorized = (reason: AuthFailureReason, message: string) => new StreetwatchError('CONSOLE_UNAUTHORIZED', message, { details: { reason } });

/** The reason of a 401 from `authenticate`, or undefined for any other error. */
export function authFailureReason(e: unknown): AuthFailureReason | undefined {
  const reason = e instanceof StreetwatchError && e.code === 'CONSOLE_UNAUTHORIZED' ? e.details.reason : undefined;
  return AUTH_FAILURE_REASONS.find((r) => r === reason);
}

export class TokenTable {
  private readonly byHash = new Map<string, Principal>();

  /** Tokens whose environment variable is unset are left out with a warning: the rest of the console works. */
  constructor(cfg: ConsoleConfig, env: NodeJS.ProcessEnv, log?: Logger) {
    cfg.tokens.forEach((t, i) => {
      const secret = t.token ?? (t.tokenEnv ? env[t.tokenEnv] : undefined);
      if (!secret) {
        log?.warn({ token: t.name, env: t.tokenEnv }, `console.tokens[${i}] (${t.name}): environment variable ${t.tokenEnv} is not set; this token cannot log in until it is set and streetwatch restarted`);
        return;
      }
      if (secret.length < 16) {
        log?.warn({ token: t.name, env: t.tokenEnv }, `console.tokens[${i}] (${t.name}): the token in ${t.tokenEnv} is shorter than 16 characters; refused, use a long random token`);
        return;
      }
      const tokenId = sha(secret);
      this.byHash.set(tokenId, { name: t.name, ...parseRole(t.role), tokenId });
    });
  }

  /** Whether the token behind `p` is still in this table with the same role (a reload may remove or change it). */
  isCurrent(p: Principal): boolean {
    const q = p.tokenId === undefined ? undefined : this.byHash.get(p.tokenId);
    return q !== undefined && q.role === p.role && q.squad === p.squad;
  }

  principals(): Principal[] {
    return [...this.byHash.values()];
  }

  /**
   * The principal of `Authorization: Bearer <token>` or of a `token` query value; throws 401 otherwise, with
   * `details.reason` (AUTH_FAILURE_REASONS) saying which way it failed.
   */
  authenticate(authorization: string | undefined, queryToken: string | undefined): Principal {
    if (this.byHash.size === 0) {
      throw unauthorized('unconfigured', 'no console tokens are configured; add console.tokens to the config (token or tokenEnv, with a role) and restart');
    }
    const token = presentedToken(authorization, queryToken);
    if (!token) throw unauthorized('missing', 'no token: send the token as `Authorization: Bearer <token>` (or `?token=` on WebSocket routes)');
    const p = this.byHash.get(sha(token));
    if (!p) throw unauthorized('unknown', 'unknown token; ask the administrator for a token from console.tokens');
    return p;
  }
}

/** The token a request presents: the bearer header's, else the query's (the caller passes it on WebSocket routes only). */
export function presentedToken(authorization: string | undefined, queryToken: string | undefined): string | undefined {
  const m = authorization ? /^Bearer\s+(\S+)$/i.exec(authorization) : null;
  return m?.[1] ?? (queryToken || undefined);
}

/** The id of a token (its SHA-256, as Principal.tokenId): what may be remembered about it without keeping it. */
export const tokenIdOf = (token: string): string => sha(token);

/**
 * Tokens that have logged in from each client address, so that when the address is refused for too many failed
 * logins (someone else behind the same NAT guessing, a wall screen with a revoked token) the people already
 * working from it are not locked out. Only ids are kept, for the most recently seen `maxAddresses` addresses.
 */
export class KnownLogins {
  private readonly byAddress = new Map<string, Set<string>>();

  constructor(private readonly maxAddresses = 10_000) {}

  add(address: string, tokenId: string): void {
    const ids = this.byAddress.get(address) ?? new Set<string>();
    this.byAddress.delete(address); // re-inserted: the map's order is the order of last use
    this.byAddress.set(address, ids.add(tokenId));
    if (this.byAddress.size > this.maxAddresses) this.byAddress.delete(this.byAddress.keys().next().value!);
  }

  has(address: string, tokenId: string): boolean {
    return this.byAddress.get(address)?.has(tokenId) ?? false;
  }
}

export function requireRole(p: Principal, ...roles: Role[]): void {
  if (!roles.includes(p.role)) {
    throw new StreetwatchError('CONSOLE_FORBIDDEN', `role ${roleLabel(p)} may not do this (needs ${roles.join(' or ')})`);
  }
}

/** Whether a principal may see an incident whose ticket is for `squad` (undefined: no ticket yet). */
export function maySee(p: Principal, squad: string | undefined): boolean {
  return p.role !== 'squad' || (squad !== undefined && squad === p.squad);
}

/**
 * Signed evidence URLs: `<img>` and `<video>` cannot send a bearer header, and a token in the URL would end up
 * in history and proxies. The server signs each evidence path it hands out for the principal's role, with a
 * per-process key, valid for `ttlMs`; a guessed or altered path or role fails the signature, and the server
 * checks the role may still see the incident when the URL is used.
 */
export class UrlSigner {
  private readonly key: Buffer;

  constructor(key: Buffer = randomBytes(32), private readonly ttlMs = 3600_000) {
    this.key = key;
  }

  sign(path: string, role: string, nowMs: number): string {
    const exp = Math.floor((nowMs + this.ttlMs) / 1000);
    return `${path}?exp=${exp}&r=${encodeURIComponent(role)}&sig=${this.mac(path, role, exp)}`;
  }

  /** The role the URL was signed for, or undefined when it is not a valid, unexpired signature. */
  verify(path: string, exp: string | undefined, role: string | undefined, sig: string | undefined, nowMs: number): string | undefined {
    if (!exp || !role || !sig || !/^\d{1,12}$/.test(exp) || !/^[A-Za-z0-9_-]{43}$/.test(sig)) return undefined;
    if (Number(exp) * 1000 < nowMs) return undefined;
    const want = Buffer.from(this.mac(path, role, Number(exp)));
    const got = Buffer.from(sig);
    return want.length === got.length && timingSafeEqual(want, got) ? role : undefined;
  }

  private mac(path: string, role: string, exp: number): string {
    return createHmac('sha256', this.key).update(`${exp}\n${role}\n${path}`).digest('base64url');
  }
}
