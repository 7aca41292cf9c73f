import { z } from 'zod';

/**
 * The command-room console (console/): who may use it (bearer tokens and their roles), the plan view's
 * background, and the on-demand live view's encoding.
 */

/** `command` (指挥室: everything), `admin` (everything plus /api/admin), `squad:<id>` (its own tickets only). */
export const ROLE_PATTERN = /^(command|admin|squad:[A-Za-z0-9][A-Za-z0-9_.-]{0,63})$/;

export const consoleTokenSchema = z
  .strictObject({
    /** Who holds it: shown in the console and recorded on every operator action. */
    name: z.string().min(1),
    role: z.string().regex(ROLE_PATTERN, "role must be 'command', 'admin' or 'squad:<squad id>'"),
    /** The secret itself: for demos and tests only; a real deployment names an environment variable instead. */
    token: z.string().min(16, 'a token must be at least 16 characters').optional(),
    /** The environment variable holding the secret (e.g. STREETWATCH_TOKEN_COMMAND). */
    tokenEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name: A-Z, 0-9, _').optional(),
  })
  .refine((t) => (t.token === undefined) !== (t.tokenEnv === undefined), { message: 'give exactly one of token and tokenEnv' });

export const planSchema = z.strictObject({
  /** Background image of the district (PNG, JPEG or SVG), relative to the config file: no map tiles needed. */
  image: z.string().min(1).optional(),
  /** The WGS 84 box the image (or the tiles) covers; cameras are placed by their location in it. */
  bounds: z
    .strictObject({ west: z.number().min(-180).max(180), south: z.number().min(-90).max(90), east: z.number().min(-180).max(180), north: z.number().min(-90).max(90) })
    .refine((b) => b.west < b.east && b.south < b.north, { message: 'bounds need west < east and south < north' })
    .optional(),
  /** A slippy-map tile server for deployments that have one, e.g. https://tiles.example/{z}/{x}/{y}.png. */
  tileUrl: z.string().regex(/\{z\}.*\{x\}.*\{y\}/, 'a tile URL with {z}, {x} and {y}').optional(),
});

export const liveSchema = z.strictObject({
  /** Width of the live picture (height keeps the aspect ratio): live view is a preview, not evidence. */
  width: z.number().int().min(160).max(1920).default(640),
  /** MPEG-1 carries 24, 25 and 30 (and, as ffmpeg's unofficial rates, 5, 10, 12, 15); others are lowered to the next of those. */
  fps: z.number().int().min(1).max(30).default(15),
  bitrateKbps: z.number().int().min(100).max(8000).default(800),
  /** Streams running at once at most (each is one ffmpeg); more viewers of a running stream cost nothing. */
  maxStreams: z.number().int().min(1).max(64).default(8),
  /** Seconds to keep a stream after its last viewer left (a viewer reloading the page does not restart it). */
  lingerSec: z.number().min(0).max(300).default(5),
});

/**
 * Failed logins allowed per client address: beyond `max` unknown tokens within `windowSec`, the address's logins
 * are answered 429 until the window ends, except with tokens that already logged in from it (an operator
 * behind the same NAT as a misconfigured screen keeps working).
 */
export const authFailuresSchema = z.strictObject({
  max: z.number().int().min(1).max(100_000).default(20),
  windowSec: z.number().int().min(1).max(86_400).default(60),
});

/** `scheme://host[:port]` exactly as a browser sends it in Origin: no path, no trailing slash, lower case. */
export function isOrigin(s: string): boolean {
  try {
    const u = new URL(s);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.origin === s;
  } catch {
    return false;
  }
}

export const consoleSchema = z
  .strictObject({
    tokens: z.array(consoleTokenSchema).default([]),
    authFailures: authFailuresSchema.prefault({}),
    /**
     * Pages of other origins allowed to open the console's WebSockets (a wall display served elsewhere). The
     * console's own pages are always allowed; clients that send no Origin (scripts, squad apps) are not browsers.
     */
    allowedOrigins: z
      .array(z.string().refine(isOrigin, 'an origin as browsers send it: scheme://host[:port], no path or trailing slash, e.g. https://ops.example.gov.cn'))
      .default([]),
    plan: planSchema.prefault({}),
    live: liveSchema.prefault({}),
  })
  .prefault({});

export type ConsoleConfig = z.infer<typeof consoleSchema>;
export type ConsoleTokenConfig = z.infer<typeof consoleTokenSchema>;
export type PlanConfig = z.infer<typeof planSchema>;
export type LiveConfig = z.infer<typeof liveSchema>;
export type AuthFailuresConfig = z.infer<typeof authFailuresSchema>;
