import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, it } from 'vitest';
import { resolveAsset } from '../../core/assets.js';
import { createLogger } from '../../core/log.js';
import type { Frame } from '../../core/types.js';
import { SEMANTIC_LABELS, type Detection, type DetectorContext, type DetectorDefinition, type DetectorInstance } from '../../detectors/contract.js';
import { parseDetectorOptions, validateDefinition } from '../../detectors/registry.js';

/**
 * The shared contract suite (detectors/contract.ts, as a test). Every detector of the warehouse runs it
 * (tests/contract/warehouse.test.ts), and `streetwatch new-detector` scaffolds a test that runs it for the new
 * plug-in. It checks what the host, the scheduler and the rules rely on, with real frames: they mix cameras in
 * one batch, expect one list per frame in order, and trust boxes, scores and labels without looking again.
 *
 * This file must only import from core/ and detectors/: the new-detector integration test runs it inside a copy
 * of just those folders.
 */
export interface ContractSuiteOptions {
  /** Options to create the detector with (they must parse); default: `{}`, i.e. the detector's defaults. */
  options?: unknown;
  /** At least one real frame; default: frames of the Oxford street video ({@link oxfordFrames}). */
  frames?: () => Promise<Frame[]>;
  /** How long a detect call on an already-aborted signal may take before it counts as a hang. Default 15 s. */
  abortGraceMs?: number;
}

const WIDTH = 640;
const HEIGHT = 360;
let oxford: Promise<Frame[]> | undefined;

/**
 * Frames 0, 24, 48 and 72 of the real Oxford town-centre video (pedestrians, a street) as rgb24 640×360, the
 * pipeline's default frame size — decoded once per test file by ffmpeg.
 */
export function oxfordFrames(): Promise<Frame[]> {
  return (oxford ??= (async () => {
    const { stdout } = await promisify(execFile)(
      'ffmpeg',
      ['-v', 'error', '-i', resolveAsset('oxford_towncentre_pedestrians.mp4'), '-vf', `select='not(mod(n\\,24))',scale=${WIDTH}:${HEIGHT}`, '-fps_mode', 'passthrough', '-frames:v', '4', '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-'],
      { encoding: 'buffer', maxBuffer: 1 << 26 },
    );
    const size = WIDTH * HEIGHT * 3;
    if (stdout.length < size || stdout.length % size) throw new Error(`ffmpeg gave ${stdout.length} bytes for 640×360 rgb24 frames of the Oxford video`);
    return Array.from({ length: stdout.length / size }, (_, i) => ({
      cameraId: 'contract-oxford',
      seq: i,
      ptsSec: (i * 24) / 25,
      wallMs: Date.UTC(2026, 0, 5, 2, 0, 0) + i * 960,
      width: WIDTH,
      height: HEIGHT,
      format: 'rgb24' as const,
      data: Buffer.from(stdout.subarray(i * size, (i + 1) * size)),
    }));
  })());
}

/**
 * Every way `lists` (the answer to a batch of `frames` frames) breaks the contract, as readable lines. Empty
 * when it keeps it. Exported so a detector's own tests can check results of their special frames too.
 */
export function contractProblems(def: DetectorDefinition, lists: unknown, frames: number): string[] {
  const m = def.manifest;
  if (!Array.isArray(lists)) return [`detect resolved with ${typeof lists}, not an array of lists`];
  const problems: string[] = [];
  if (lists.length !== frames) problems.push(`${lists.length} result lists for ${frames} frames`);
  const labels = new Set(m.labels);
  const semantics = new Set<string>(SEMANTIC_LABELS);
  lists.forEach((list: unknown, f) => {
    if (!Array.isArray(list)) return void problems.push(`frame ${f}: result is ${typeof list}, not an array`);
    list.forEach((d: Detection, k) => {
      const at = `frame ${f} detection ${k} (${JSON.stringify(d)})`;
      const b = d?.box;
      if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v))) {
        problems.push(`${at}: box is not four finite numbers`);
      } else {
        const [x1, y1, x2, y2] = b;
        if (!(x1 >= 0 && y1 >= 0 && x2 <= 1 && y2 <= 1)) problems.push(`${at}: box is not within 0..1`);
        if (!(x1 < x2 && y1 < y2)) problems.push(`${at}: box does not have x1 < x2 and y1 < y2`);
      }
      if (!(typeof d?.score === 'number' && d.score >= 0 && d.score <= 1)) problems.push(`${at}: score is not in 0..1`);
      if (!labels.has(d?.label)) problems.push(`${at}: label is not in manifest.labels`);
      else if (!Object.hasOwn(m.labelMap, d.label)) problems.push(`${at}: labelMap has no entry for the label`);
      if (d?.semantic !== undefined) {
        if (!semantics.has(d.semantic)) problems.push(`${at}: semantic label is not one of ${SEMANTIC_LABELS.join(', ')}`);
        else if (m.labelMap[d.label] !== d.semantic) problems.push(`${at}: semantic '${d.semantic}' differs from labelMap's '${m.labelMap[d.label]}'`);
      }
      if (d?.sinceMs !== undefined && !Number.isFinite(d.sinceMs)) problems.push(`${at}: sinceMs is not a finite number`);
    });
  });
  return problems;
}

/** Same detections, up to order within a list and float noise. */
function sameDetections(a: readonly Detection[], b: readonly Detection[]): boolean {
  if (a.length !== b.length) return false;
  const key = (d: Detection) => `${d.label}|${d.box.map((v) => v.toFixed(2)).join(',')}`;
  const sa = [...a].sort((p, q) => key(p).localeCompare(key(q)));
  const sb = [...b].sort((p, q) => key(p).localeCompare(key(q)));
  return sa.every((d, i) => {
    const e = sb[i]!;
    return d.label === e.label && Math.abs(d.score - e.score) < 1e-3 && d.box.every((v, j) => Math.abs(v - e.box[j]!) < 1e-3);
  });
}

const onCamera = (f: Frame, cameraId: string, seq: number): Frame => ({ ...f, cameraId, seq });
const digest = (frames: readonly Frame[]) => frames.map((f) => createHash('sha1').update(f.data).digest('hex'));

export function describeDetectorContract(id: string, load: () => Promise<DetectorDefinition>, opts: ContractSuiteOptions = {}): void {
  describe(`detector contract: ${id}`, () => {
    const ctx: DetectorContext = { log: createLogger({ level: 'silent' }), resolveAsset: (n) => resolveAsset(n), threads: 1 };
    let def: DetectorDefinition;
    let frames: Frame[];
    /** `n` frames for a batch: the given ones, repeated when there are fewer, each marked as the next frame. */
    const take = (n: number) => Array.from({ length: n }, (_, i) => onCamera(frames[i % frames.length]!, 'contract-a', i));
    const batchSize = () => Math.min(def.manifest.maxBatch, 4);

    beforeAll(async () => {
      def = await load();
      frames = await (opts.frames ?? oxfordFrames)();
      expect(frames.length, 'the suite needs at least one frame').toBeGreaterThan(0);
    });

    async function withInstance<T>(fn: (inst: DetectorInstance) => Promise<T>): Promise<T> {
      const inst = await def.create(parseDetectorOptions(def, opts.options, 'contract test'), ctx);
      try {
        return await fn(inst);
      } finally {
        await inst.close();
      }
    }

    async function detect(inst: DetectorInstance, batch: Frame[]): Promise<Detection[][]> {
      const before = digest(batch);
      const lists = await inst.detect(batch, new AbortController().signal);
      expect(contractProblems(def, lists, batch.length)).toEqual([]);
      // The frames of a camera go to each of its detectors in turn: a detector that writes into them corrupts the others' input.
      expect(digest(batch), 'detect changed the pixels of the frames it was given').toEqual(before);
      return lists;
    }

    it('has a manifest that validates, under the id it is registered as', () => {
      expect(() => validateDefinition(def, id)).not.toThrow();
      expect(def.manifest.id).toBe(id);
      expect(new Set(def.manifest.labels).size, 'labels are unique').toBe(def.manifest.labels.length);
      for (const l of def.manifest.labels) expect(Object.hasOwn(def.manifest.labelMap, l), `labelMap covers '${l}'`).toBe(true);
    });

    it('parses its default options (and the given ones) and rejects an unknown option with DETECTOR_OPTIONS_INVALID', () => {
      expect(() => parseDetectorOptions(def, {}, 'contract test')).not.toThrow();
      expect(() => parseDetectorOptions(def, undefined, 'contract test')).not.toThrow();
      if (opts.options !== undefined) expect(() => parseDetectorOptions(def, opts.options, 'contract test')).not.toThrow();
      expect(() => parseDetectorOptions(def, { surelyNotAnOptionOfAnyDetector: 1 }, 'contract test')).toThrow(expect.objectContaining({ code: 'DETECTOR_OPTIONS_INVALID' }));
    });

    it('creates an instance with detect and close, and warms up if it has a warmup', async () => {
      await withInstance(async (inst) => {
        expect(typeof inst.detect).toBe('function');
        expect(typeof inst.close).toBe('function');
        if (inst.warmup) await inst.warmup();
      });
    });

    it('returns one list for one frame', async () => {
      await withInstance(async (inst) => {
        await inst.warmup?.();
        const lists = await detect(inst, take(1));
        expect(lists).toHaveLength(1);
      });
    });

    it('returns one list per frame, in order, for a batch of maxBatch (at most 4) frames', async () => {
      const n = batchSize();
      // Each frame on its own camera, so a detector with per-camera state sees the same history in both orders.
      const batch = take(n).map((f, i) => onCamera(f, `contract-${i}`, 0));
      const forward = await withInstance((inst) => detect(inst, batch));
      const backward = await withInstance((inst) => detect(inst, [...batch].reverse()));
      expect(forward).toHaveLength(n);
      for (let i = 0; i < n; i++) {
        expect(sameDetections(forward[i]!, backward[n - 1 - i]!), `frame ${i}: its result depends on where it stood in the batch`).toBe(true);
      }
    });

    it('handles frames of two different cameras in one batch (or in turn, for maxBatch 1)', async () => {
      await withInstance(async (inst) => {
        const pairs = take(4).map((f, i) => onCamera(f, i % 2 ? 'contract-cam-b' : 'contract-cam-a', Math.floor(i / 2)));
        if (def.manifest.maxBatch >= 2) {
          for (let i = 0; i < pairs.length; i += 2) expect(await detect(inst, pairs.slice(i, i + 2))).toHaveLength(2);
        } else {
          for (const f of pairs) expect(await detect(inst, [f])).toHaveLength(1);
        }
      });
    });

    it('follows a sequence of frames from one camera', async () => {
      await withInstance(async (inst) => {
        const seq = take(Math.max(4, frames.length)).map((f, i) => ({ ...f, ptsSec: i, wallMs: f.wallMs + i * 1000 }));
        for (let i = 0; i < seq.length; i += batchSize()) await detect(inst, seq.slice(i, i + batchSize()));
      });
    });

    it('forgets a camera (if it keeps per-camera state) without throwing, and goes on detecting', async () => {
      await withInstance(async (inst) => {
        await detect(inst, take(1));
        inst.forgetCamera?.('contract-a');
        inst.forgetCamera?.('never-seen-camera');
        await detect(inst, take(1));
      });
    });

    it('can be closed twice, and closed without having detected anything', async () => {
      const used = await def.create(parseDetectorOptions(def, opts.options, 'contract test'), ctx);
      await detect(used, take(1));
      await used.close();
      await used.close();
      const unused = await def.create(parseDetectorOptions(def, opts.options, 'contract test'), ctx);
      await unused.close();
      await unused.close();
    });

    it('honours an already-aborted signal, or finishes: it does not hang', async () => {
      await withInstance(async (inst) => {
        const ac = new AbortController();
        ac.abort(new Error('deadline passed'));
        const grace = opts.abortGraceMs ?? 15_000;
        let timer: NodeJS.Timeout | undefined;
        const outcome = await Promise.race([
          inst.detect(take(1), ac.signal).then(
            (lists) => ({ kind: 'finished' as const, lists }),
            () => ({ kind: 'rejected' as const }),
          ),
          new Promise<{ kind: 'hung' }>((r) => (timer = setTimeout(() => r({ kind: 'hung' }), grace))),
        ]);
        clearTimeout(timer);
        expect(outcome.kind, `detect on an aborted signal neither settled within ${grace} ms`).not.toBe('hung');
        if (outcome.kind === 'finished') expect(contractProblems(def, outcome.lists, 1)).toEqual([]);
      });
    });
  });
}
