import { isDeepStrictEqual } from 'node:util';
import { resolveCamera, type Config } from '../config/schema.js';
import type { Logger } from '../core/log.js';
import type { Metrics } from '../core/metrics.js';
import { evaluateRules } from '../rules/engine.js';
import type { FiredMap, Hit, RuleZone } from '../rules/types.js';
import { emptyVehicleState, evaluateVehicle, vehicleParams, type VehicleParams, type VehicleState } from '../rules/vehicle.js';
import type { FrameDetections } from './detect-stage.js';
import { pointInPolygon } from './zones.js';
import { DEFAULT_TRACKER, emptyTracker, updateTracks, type TrackedDetection, type TrackerParams, type TrackerState } from './tracker.js';

/**
 * A vehicle passes a stall in seconds: every detection the detector reports (it has its own thresholds)
 * starts a track, rather than waiting for a confident one as a fixed camera can afford to.
 */
const VEHICLE_TRACKER: TrackerParams = { ...DEFAULT_TRACKER, highScore: 0 };

export type HitListener = (hit: Hit) => void | Promise<void>;

interface RuleState {
  tracker: TrackerState;
  fired: FiredMap;
  /** Vehicle cameras: the spots sighted on earlier passes. */
  vehicle: VehicleState;
}

const freshState = (): RuleState => ({ tracker: emptyTracker(), fired: new Map(), vehicle: emptyVehicleState() });

interface CameraState {
  zones: RuleZone[];
  /**
   * Set for a vehicle camera: its rules are two passes at one place (rules/vehicle.ts), since stillness in
   * a moving image means nothing. The tracker still runs, for the track ids a hit names.
   */
  vehicle: VehicleParams | undefined;
  active: RuleState;
  /** Active plus shadow detectors' detections: what the camera would see with the shadow models enabled. */
  shadow: RuleState;
}

/**
 * Detections → tracks → rules → hits, per camera. Active detections drive the hits that become tickets. When a
 * camera runs shadow detectors, a second tracker sees active and shadow detections together and its hits are
 * marked shadow: evaluated (eval, scoreboard), never dispatched.
 */
export class RulesStage {
  private readonly cams = new Map<string, CameraState>();

  constructor(private readonly opts: { metrics: Metrics; log: Logger; onHit?: HitListener }) {}

  /** New zones reset a camera's state; unchanged cameras keep their tracks. */
  apply(config: Config): void {
    const seen = new Set<string>();
    for (const c of config.cameras.filter((x) => x.enabled)) {
      const cam = resolveCamera(config, c);
      const zones: RuleZone[] = cam.zones.map((z) => ({ ...z, timezone: z.timezone ?? config.site.timezone }));
      const vehicle = cam.source.kind === 'vehicle' ? vehicleParams(cam.source.revisit) : undefined;
      seen.add(cam.id);
      const old = this.cams.get(cam.id);
      if (old && isDeepStrictEqual(old.zones, zones) && isDeepStrictEqual(old.vehicle, vehicle)) continue;
      this.cams.set(cam.id, { zones, vehicle, active: freshState(), shadow: freshState() });
    }
    for (const id of this.cams.keys()) if (!seen.has(id)) this.cams.delete(id);
  }

  /**
   * When whatever now stands in one of the camera's zones was first seen still: a hit's evidence starts there
   * (its first still, the start of its clip), so the camera's ring keeps video from then on. Undefined when
   * nothing does; -Infinity for a vehicle camera, whose evidence spans passes minutes apart.
   */
  firstSightingMs(cameraId: string): number | undefined {
    const cam = this.cams.get(cameraId);
    if (!cam || cam.zones.length === 0) return undefined;
    if (cam.vehicle) return Number.NEGATIVE_INFINITY;
    let first: number | undefined;
    for (const t of cam.active.tracker.tracks) {
      if (first !== undefined && t.stillSinceMs >= first) continue;
      if (cam.zones.some((z) => z.polygon && pointInPolygon(t.anchor, z.polygon))) first = t.stillSinceMs;
    }
    return first;
  }

  forgetCamera(cameraId: string): void {
    const c = this.cams.get(cameraId);
    if (c) this.cams.set(cameraId, { zones: c.zones, vehicle: c.vehicle, active: freshState(), shadow: freshState() });
  }

  async process(fd: FrameDetections): Promise<Hit[]> {
    const cam = this.cams.get(fd.frame.cameraId);
    if (!cam || cam.zones.length === 0) return [];
    const collect = (mode: 'active' | 'both'): TrackedDetection[] =>
      fd.results
        .filter((r) => mode === 'both' || r.mode === 'active')
        .flatMap((r) => r.detections.filter((d) => d.semantic).map((d) => ({ ...d, semantic: d.semantic!, detector: r.detector })));
    const frame = { cameraId: fd.frame.cameraId, seq: fd.frame.seq, wallMs: fd.frame.wallMs, ptsSec: fd.frame.ptsSec };
    const t = fd.frame.wallMs;
    const hits: Hit[] = [];
    const step = (s: CameraState['active'], dets: TrackedDetection[], shadow: boolean) => {
      s.tracker = updateTracks(s.tracker, dets, t, cam.vehicle ? VEHICLE_TRACKER : DEFAULT_TRACKER);
      const input = { cameraId: frame.cameraId, zones: cam.zones, tracks: s.tracker.tracks, tMs: t, frame, shadow };
      if (cam.vehicle) {
        const r = evaluateVehicle({ ...input, position: fd.frame.position }, s.vehicle, cam.vehicle);
        s.vehicle = r.state;
        hits.push(...r.hits);
        return;
      }
      const r = evaluateRules(input, s.fired);
      s.fired = r.fired;
      hits.push(...r.hits);
    };
    step(cam.active, collect('active'), false);
    if (fd.results.some((r) => r.mode === 'shadow')) step(cam.shadow, collect('both'), true);
    for (const h of hits) {
      h.snapshot = { width: fd.frame.width, height: fd.frame.height, data: fd.frame.data };
      this.opts.metrics.hits.inc({ camera: h.cameraId, type: h.type, zone: h.zoneId, shadow: String(h.shadow) });
      this.opts.log.info({ camera: h.cameraId, type: h.type, zone: h.zoneId, shop: h.shop?.name, dwellSec: h.dwellSec, tracks: h.trackIds, shadow: h.shadow, ...(h.passes ? { passes: h.passes.length, position: h.position } : {}) }, `hit: ${h.type} in zone ${h.zoneId}`);
      await this.opts.onHit?.(h);
    }
    return hits;
  }
}
