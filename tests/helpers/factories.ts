import { z } from 'zod';
import { configSchema, type Config, type ResolvedCamera } from '../../config/schema.js';
import type { Frame } from '../../core/types.js';
import { DETECTOR_API, type Box, type DetectorManifest, type SemanticLabel } from '../../detectors/contract.js';
import { incidentFromHit } from '../../dispatcher/incidents/match.js';
import { IncidentStore } from '../../dispatcher/incidents/store.js';
import type { Incident } from '../../dispatcher/incidents/types.js';
import { TICKET_STATUS_SCHEMA_ID } from '../../dispatcher/ticket/schema.js';
import type { Track, TrackedDetection } from '../../pipeline/tracker.js';
import type { Hit } from '../../rules/types.js';

/**
 * Builders for the values many tests need: each takes what matters to the test and fills the rest with dull,
 * valid defaults. The defaults describe one scene — a pile of goods at PILE in zone z1 of camera cam-a, at T —
 * so a test only spells out what makes it different.
 *
 * Not here: fixtures made from real media or files (frames.ts: oxfordFrame; media.ts: test clips;
 * fixtures/: evidence packages, GPS sidecars, config files).
 */

/** Friday 2026-11-27 10:00 in Shanghai: inside business hours and the rules' default active hours. */
export const T = Date.UTC(2026, 10, 27, 2, 0);
export const MIN = 60_000;
export const TZ = 'Asia/Shanghai';

/** Where the default pile stands: a small box low in the left half of the frame. */
export const PILE: Box = [0.2, 0.6, 0.3, 0.8];

/** Incident matching as configured by default: a 30 min cool-down, 25 m for vehicle hits. */
export const MATCH_PARAMS = { cooldownMs: 30 * MIN, sameSpotMeters: 25 };

// --- hits ---

export type HitOverrides = Partial<Hit> & {
  /** The frame's sequence number (default 0). */
  seq?: number;
  /** The frame's time in its video, for hits whose evidence is cut from a recorded file. */
  ptsSec?: number;
};

/**
 * A stacking hit fired at `atMs` on cam-a/z1 by the static-object detector, first seen `dwellSec` (default 20)
 * before; the frame it fired on is of the hit's camera at `atMs`.
 */
export function hitAt(atMs: number, over: HitOverrides = {}): Hit {
  const { seq = 0, ptsSec, ...rest } = over;
  const cameraId = rest.cameraId ?? 'cam-a';
  const dwellSec = rest.dwellSec ?? 20;
  return {
    type: 'stacking',
    cameraId,
    zoneId: 'z1',
    box: PILE,
    score: 0.9,
    firstSeenMs: atMs - dwellSec * 1000,
    atMs,
    dwellSec,
    trackIds: [1],
    objects: [{ trackId: 1, semantic: 'static_object', detector: 'static-object' }],
    frame: { cameraId, seq, wallMs: atMs, ...(ptsSec === undefined ? {} : { ptsSec }) },
    shadow: false,
    ...rest,
  };
}

/** The default stacking hit at `box`, fired at T + `atMin` minutes (frame seq `atMin`): one sighting of a violation. */
export const hit = (atMin: number, over: Partial<Hit> = {}, box: Box = PILE): Hit => hitAt(T + atMin * MIN, { box, seq: atMin, ...over });

// --- what the rules see ---

/**
 * A track as the tracker hands it to the rules: `semantic` at `box`, seen last at `atMs` (default T) and
 * standing still for `stillForSec` before that.
 */
export function track(id: number, semantic: SemanticLabel, box: Box, stillForSec = 0, over: Partial<Track> & { atMs?: number } = {}): Track {
  const { atMs = T, ...rest } = over;
  const since = atMs - stillForSec * 1000;
  return {
    id,
    semantic,
    label: semantic,
    detector: 'd',
    box,
    lastBox: box,
    score: 0.8,
    firstSeenMs: since,
    lastSeenMs: atMs,
    hits: 10,
    anchor: [(box[0] + box[2]) / 2, box[3]],
    stillSinceMs: since,
    ...rest,
  };
}

/** A detection as the tracker takes it: the model's label is the semantic one. */
export const detection = (box: Box, semantic: SemanticLabel = 'goods', over: Partial<TrackedDetection> = {}): TrackedDetection => ({
  box,
  score: 0.8,
  label: semantic,
  semantic,
  detector: 'd',
  ...over,
});

// --- frames ---

/**
 * A synthetic rgb24 frame of `cameraId` (8×8 by default), every pixel `fill` (a grey level or an [r, g, b]
 * triple, default black); its PTS and wall time are its seq, which is all the schedulers and hosts look at.
 */
export function frame(cameraId = 'cam', seq = 0, over: Partial<Frame> & { fill?: number | readonly [number, number, number] } = {}): Frame {
  const { fill = 0, ...rest } = over;
  const width = rest.width ?? 8;
  const height = rest.height ?? 8;
  const data = Buffer.alloc(width * height * 3, typeof fill === 'number' ? fill : 0);
  if (typeof fill !== 'number') for (let i = 0; i < width * height; i++) data.set(fill, i * 3);
  return { cameraId, seq, ptsSec: seq, wallMs: seq, width, height, format: 'rgb24', data, ...rest };
}

// --- incidents and tickets ---

/** The incident the default hit opens: inc-1, confirmed at T. */
export const incident = (over: Partial<Incident> = {}): Incident => ({ ...incidentFromHit('inc-1', hit(0), T), ...over });

/** A started incident store (in memory unless given a file) naming its incidents inc-1, inc-2, … */
export function incidentStore(file = ':memory:'): IncidentStore {
  let n = 0;
  const s = new IncidentStore(file, () => `inc-${++n}`);
  s.start();
  return s;
}

/** A squad's status report as it arrives on the status topic (the wire form, before parsing). */
export const statusReport = (over: Record<string, unknown> = {}) => ({
  schema: TICKET_STATUS_SCHEMA_ID,
  ticketId: 'inc-1',
  status: 'accepted',
  squad: 'sq-wt',
  at: '2026-11-27T10:20:00+08:00',
  ...over,
});

// --- detectors ---

/**
 * The manifest of a fake detector `fake` 1.0.0: one label `thing` → goods, 8×8 input, batches of 2, no
 * options. Give `options` to have create() typed with them.
 */
export function fakeManifest<O extends z.ZodType = z.ZodObject<Record<string, never>>>(over: Partial<DetectorManifest<O>> = {}): DetectorManifest<O> {
  return {
    id: 'fake',
    version: '1.0.0',
    api: `^${DETECTOR_API}`,
    labels: ['thing'],
    labelMap: { thing: 'goods' },
    input: { width: 8, height: 8, pixelFormat: 'rgb24' },
    maxBatch: 2,
    options: z.strictObject({}) as unknown as O,
    ...over,
  };
}

// --- config ---

/** A config parsed from `input` (version 1 filled in), with every default as a user's file would get it. */
export const testConfig = (input: Record<string, unknown> = {}): Config => configSchema.parse({ version: 1, ...input });

/** A camera entry for testConfig reading a file that need not exist: for tests that never start it. */
export const fileCamera = (id: string, over: Record<string, unknown> = {}) => ({ id, source: { kind: 'file', path: '/x.mp4' }, ...over });

/** A resolved camera with test-friendly defaults (short backoff, small frames) and the given overrides. */
export function testCamera(over: Partial<ResolvedCamera> & Pick<ResolvedCamera, 'id' | 'source'>): ResolvedCamera {
  return {
    enabled: true,
    zones: [],
    sampling: { mode: 'keyframes', minIntervalSec: 0 },
    frame: { width: 320, height: 180 },
    ring: { enabled: false, segmentSec: 2, keepMinutes: 1, idleKeepSec: 60 },
    watchdogSec: 8,
    reconnect: { initialSec: 0.5, maxSec: 2, factor: 2, jitter: 0.2 },
    ...over,
    detectors: over.detectors ?? [],
  };
}
