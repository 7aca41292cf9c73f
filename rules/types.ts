import type { RuleId, Zone } from '../config/zones.js';
import type { Box, SemanticLabel } from '../detectors/contract.js';
import type { Track } from '../pipeline/tracker.js';

/**
 * The rules' shared vocabulary. A rule is a pure function of (tracks, zones, time, its own small state): it
 * never reads a clock or does I/O, so scenarios and table tests drive it with time as an argument.
 */
export type ViolationType = RuleId;

/** One observation of a rule holding: what the incident stage deduplicates and the dispatcher tickets. */
export interface Hit {
  type: ViolationType;
  cameraId: string;
  zoneId: string;
  /** Zones of several cameras sharing a site merge into one incident. */
  site?: string;
  /** The violation subject (the shop), for door_front. */
  shop?: Zone['shop'];
  box: Box;
  score: number;
  /** When the object was first seen standing there, ms. */
  firstSeenMs: number;
  /** When the rule fired (the frame's time), ms. */
  atMs: number;
  dwellSec: number;
  trackIds: number[];
  /** Semantic labels and detectors behind the hit (for evidence and the scoreboard). */
  objects: { trackId: number; semantic: SemanticLabel; detector: string }[];
  /** The frame it fired on; `ptsSec` (the frame's time in its video) lets evidence be cut from a recorded file. */
  frame: { cameraId: string; seq: number; wallMs: number; ptsSec?: number };
  /** From shadow detectors: evaluated, never dispatched. */
  shadow: boolean;
  /**
   * The frame it fired on, as the detectors saw it (rgb24, scaled): the instant evidence a ticket carries
   * before the full-resolution package is cut. Attached by the rules stage; never serialised.
   */
  snapshot?: { width: number; height: number; data: Buffer };
  /** Vehicle feeds: where the vehicle saw it (the mean of its positions at the sightings), WGS 84. */
  position?: { lat: number; lon: number };
  /** Vehicle feeds: the first sighting of each pass that made the violation (the first pass first). */
  passes?: { atMs: number; seq: number }[];
}

export interface RuleZone extends Zone {
  /** The zone's time zone, resolved (zone → site default). */
  timezone: string;
}

export interface RuleInput {
  cameraId: string;
  zones: readonly RuleZone[];
  tracks: readonly Track[];
  tMs: number;
  frame: Hit['frame'];
  shadow: boolean;
}

/**
 * What already fired, by (rule, zone, track): a still object alerts once, not on every frame; and another
 * track at the same spot (a pile seen as two boxes, or re-found after the detector lost it) is the same
 * violation, not a new one. Each entry holds the spot (box) it covers and when one of its tracks was last alive
 * (`liveMs`), so that a spot whose tracks all vanished for a moment does not alert again.
 */
export type FiredMap = ReadonlyMap<string, { type: ViolationType; zoneId: string; box: Box; liveMs: number }>;
export const firedKey = (type: ViolationType, zoneId: string, trackId: number) => `${type}|${zoneId}|${trackId}`;
