import { z } from 'zod';
import { allCollinear, doubleSignedArea, selfIntersection, type Point } from '../core/polygon.js';

/**
 * Zones: where each rule applies on a camera. A fixed camera draws its zones as polygons in normalised image
 * coordinates (0..1 of the frame, so they survive a change of stream resolution); a patrol vehicle's view
 * moves, so its zones are geofences on the map (GeoJSON, WGS 84 [lon, lat]) tested against the vehicle's fix.
 * config/loader.ts checks which of the two a camera may use, since that depends on the camera's source.
 */

export const ZONE_KINDS = ['no_vending', 'shopfront', 'no_stacking', 'legal_stall', 'mask'] as const;
export const RULE_IDS = ['stall', 'door_front', 'stacking'] as const;

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ID_HINT = 'use letters, digits, . _ - (at most 64)';

const HHMM = /^([01]\d|2[0-3]):[0-5]\d$/;

/** Minutes since midnight of an "HH:MM" string ("24:00" → 1440). Throws on anything else. */
export function hhmmToMinutes(s: string): number {
  if (s === '24:00') return 1440;
  if (!HHMM.test(s)) throw new RangeError(`not an HH:MM time: '${s}'`);
  return Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));
}

/** True when `tz` is a time zone name the runtime's ICU knows (e.g. Asia/Shanghai). */
export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export const timezoneSchema = z
  .string()
  .refine(isValidTimeZone, { error: (iss) => `unknown time zone '${String(iss.input)}'; use an IANA name such as Asia/Shanghai` });

// YAML 1.2 reads an unquoted 08:30 as a string, but a 24-hour clock is easy to get subtly wrong (8:30, 8.30),
// so the format is strict rather than guessed.
const timeOfDay = z.string({ error: 'expected a time "HH:MM" (24-hour, quote it in YAML)' }).regex(HHMM, 'expected a time "HH:MM" (24-hour), e.g. "08:30"');
const endOfWindow = z
  .string({ error: 'expected a time "HH:MM" (24-hour, quote it in YAML)' })
  .refine((s) => s === '24:00' || HHMM.test(s), 'expected a time "HH:MM" (24-hour, or "24:00" for midnight at the end of the day)');

const ALL_DAYS = [1, 2, 3, 4, 5, 6, 7];

/**
 * A daily time window. `to` earlier than `from` crosses midnight (a night market 18:00–02:00); `days` are the
 * ISO weekdays (1 = Monday … 7 = Sunday) on which the window STARTS. Times are local to the zone's timezone.
 */
export const timeWindowSchema = z
  .strictObject({
    days: z
      .array(z.number().int().min(1, 'days are ISO weekdays 1 (Monday) … 7 (Sunday)').max(7, 'days are ISO weekdays 1 (Monday) … 7 (Sunday)'))
      .min(1, 'days must list at least one weekday; leave it out for every day')
      .refine((d) => new Set(d).size === d.length, 'days lists a weekday twice')
      .default(ALL_DAYS),
    from: timeOfDay,
    to: endOfWindow,
  })
  .check((ctx) => {
    const w = ctx.value;
    if (HHMM.test(w.from) && (w.to === '24:00' || HHMM.test(w.to)) && hhmmToMinutes(w.from) === hhmmToMinutes(w.to)) {
      ctx.issues.push({
        code: 'custom',
        continue: true,
        input: w,
        path: ['to'],
        message: 'from and to are the same time; for the whole day write from: "00:00", to: "24:00"',
      });
    }
  });

export const ruleSchema = z.strictObject({
  /** Seconds the situation must persist before it is a violation (the violations are stationary: minutes). */
  dwell: z.number({ error: 'dwell must be a number of seconds' }).positive('dwell must be > 0 seconds'),
  /** When the rule is enforced; leave out for always. */
  activeHours: z.array(timeWindowSchema).min(1, 'activeHours needs at least one window; leave it out for always').optional(),
});

export const zoneRulesSchema = z
  .strictObject({
    stall: ruleSchema.optional(),
    door_front: ruleSchema.optional(),
    stacking: ruleSchema.optional(),
  })
  .refine((r) => RULE_IDS.some((k) => r[k] !== undefined), 'rules must set at least one of stall, door_front, stacking');

const unit = z.number().min(0, 'coordinates are normalised to 0..1 of the frame').max(1, 'coordinates are normalised to 0..1 of the frame');
export const normalisedPointSchema = z.tuple([unit, unit], { error: 'a point is [x, y] with x, y in 0..1' });

/**
 * Why a ring of points is unusable as a zone, or undefined. A bow-tie (self-crossing) outline makes
 * "is the box's foot inside?" depend on the point-in-polygon algorithm, and a zero-area one never matches, so
 * both are rejected rather than silently detecting nothing. A repeated closing point is tolerated.
 */
export function polygonProblem(points: readonly Point[]): string | undefined {
  let pts = points;
  const first = pts[0];
  const last = pts[pts.length - 1];
  if (pts.length > 1 && first && last && first[0] === last[0] && first[1] === last[1]) pts = pts.slice(0, -1);
  if (pts.length < 3) return 'needs at least 3 distinct points';
  // Asked before the crossing test, which would call a ring folded onto one line "crossing" (its edges overlap).
  if (allCollinear(pts)) return 'has no area (its points are on one line)';
  // Asked before the area: a symmetric bow-tie's two lobes cancel out to a signed area of zero, yet its fault
  // is the order of its points, not their place.
  const crossing = selfIntersection(pts);
  if (crossing) {
    const [i, j] = crossing;
    const n = pts.length;
    return `crosses itself (edge ${i + 1}–${((i + 1) % n) + 1} meets edge ${j + 1}–${((j + 1) % n) + 1}); list the points in order around the outline`;
  }
  if (Math.abs(doubleSignedArea(pts)) < 1e-9) return 'has no area (it encloses almost nothing)';
  return undefined;
}

export const normalisedPolygonSchema = z
  .array(normalisedPointSchema)
  .min(3, 'a polygon needs at least 3 points [x, y]')
  .check((ctx) => {
    // Fewer than 3 points is already reported by min().
    if (ctx.value.length < 3) return;
    const problem = polygonProblem(ctx.value);
    if (problem) ctx.issues.push({ code: 'custom', continue: true, input: ctx.value, message: `polygon ${problem}` });
  });

const lon = z.number().min(-180, 'longitude must be in -180..180').max(180, 'longitude must be in -180..180');
const lat = z.number().min(-90, 'latitude must be in -90..90').max(90, 'latitude must be in -90..90');
/** GeoJSON positions are [longitude, latitude] (an optional altitude is accepted and ignored). */
export const positionSchema = z.tuple([lon, lat, z.number().optional()], { error: 'a position is [longitude, latitude]' });

const linearRingSchema = z
  .array(positionSchema)
  .min(4, 'a GeoJSON ring needs at least 4 positions (the first repeated as the last)')
  .check((ctx) => {
    const ring = ctx.value;
    const a = ring[0];
    const b = ring[ring.length - 1];
    if (!a || !b || a[0] !== b[0] || a[1] !== b[1]) {
      ctx.issues.push({ code: 'custom', continue: true, input: ring, message: 'a GeoJSON ring must end with its first position (closed ring)' });
      return;
    }
    const problem = polygonProblem(ring.map((p) => [p[0], p[1]] as const));
    if (problem) ctx.issues.push({ code: 'custom', continue: true, input: ring, message: `ring ${problem}` });
  });

/**
 * A GeoJSON Polygon geometry (RFC 7946): the outer ring first, then any holes. WGS 84 like the vehicles' GNSS
 * fixes; outlines drawn on Chinese web maps (GCJ-02, BD-09) are offset by hundreds of metres and need converting.
 */
export const geofenceSchema = z.strictObject({
  type: z.literal('Polygon', { error: "geofence.type must be 'Polygon' (a GeoJSON Polygon geometry)" }),
  coordinates: z.array(linearRingSchema).min(1, 'a GeoJSON Polygon needs its outer ring'),
});

export const shopSchema = z.strictObject({
  /** The violation subject's id in the bureau's shop register (门店/市场主体). */
  id: z.string().min(1),
  name: z.string().min(1),
  /** Business licence number (营业执照 / 统一社会信用代码), printed on the ticket. */
  licence: z.string().min(1).optional(),
});

export const zoneSchema = z
  .strictObject({
    id: z.string().regex(ID_PATTERN, ID_HINT),
    name: z.string().optional(),
    kind: z.enum(ZONE_KINDS, { error: `kind must be one of ${ZONE_KINDS.join(', ')}` }),
    polygon: normalisedPolygonSchema.optional(),
    geofence: geofenceSchema.optional(),
    /** Zones of different cameras with the same site id watch one place: their incidents merge into one. */
    site: z.string().min(1).optional(),
    shop: shopSchema.optional(),
    openingHours: z.array(timeWindowSchema).min(1, 'openingHours needs at least one window').optional(),
    rules: zoneRulesSchema.optional(),
    /** IANA time zone for activeHours and openingHours; default: site.timezone. */
    timezone: timezoneSchema.optional(),
  })
  .check((ctx) => {
    const zone = ctx.value;
    const issue = (path: PropertyKey[], message: string) => ctx.issues.push({ code: 'custom', continue: true, input: zone, path, message });
    if (zone.polygon === undefined && zone.geofence === undefined) {
      issue([], 'a zone needs a polygon (fixed camera, normalised [x, y] points) or a geofence (vehicle feed, GeoJSON Polygon)');
    } else if (zone.polygon !== undefined && zone.geofence !== undefined) {
      issue(['geofence'], 'a zone has either a polygon or a geofence, not both');
    }
    if (zone.kind === 'shopfront' && zone.shop === undefined) issue([], 'a shopfront zone needs shop: {id, name} (the shop is the ticket\'s subject)');
    if (zone.kind !== 'shopfront' && zone.shop !== undefined) issue(['shop'], `only shopfront zones carry a shop, this zone is ${zone.kind}`);
    if (zone.kind === 'legal_stall' && zone.openingHours === undefined) {
      issue([], 'a legal_stall zone needs openingHours (e.g. [{from: "17:00", to: "22:00"}]); outside them vending there is a violation');
    }
    if (zone.kind !== 'legal_stall' && zone.openingHours !== undefined) issue(['openingHours'], `only legal_stall zones have openingHours, this zone is ${zone.kind}`);
    if (zone.kind === 'mask' || zone.kind === 'legal_stall') {
      if (zone.rules !== undefined) {
        issue(['rules'], zone.kind === 'mask' ? 'a mask zone is ignored by detection, so it has no rules' : 'a legal_stall zone exempts vending, so it has no rules; the stall rules of the surrounding zones consult it');
      }
    } else if (zone.rules === undefined) {
      const example = zone.kind === 'shopfront' ? 'door_front' : zone.kind === 'no_vending' ? 'stall' : 'stacking';
      issue([], `a ${zone.kind} zone needs rules (e.g. rules: {${example}: {dwell: 300}}), otherwise it checks nothing`);
    }
    if (zone.rules?.door_front !== undefined && zone.kind !== 'shopfront') {
      issue(['rules', 'door_front'], 'the door_front rule needs the shop of a shopfront zone; move it to one');
    }
  });

export type ZoneKind = (typeof ZONE_KINDS)[number];
export type RuleId = (typeof RULE_IDS)[number];
export type TimeWindow = z.infer<typeof timeWindowSchema>;
export type RuleConfig = z.infer<typeof ruleSchema>;
export type ZoneRules = z.infer<typeof zoneRulesSchema>;
export type NormalisedPoint = z.infer<typeof normalisedPointSchema>;
export type Geofence = z.infer<typeof geofenceSchema>;
export type Shop = z.infer<typeof shopSchema>;
export type Zone = z.infer<typeof zoneSchema>;
