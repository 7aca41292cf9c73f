import { describe, expect, it } from 'vitest';
import { resolveAsset } from '../../core/assets.js';
import { createLogger } from '../../core/log.js';
import type { Frame } from '../../core/types.js';
import type { DetectorDefinition, DetectorInstance } from '../../detectors/contract.js';
import { parseDetectorOptions, validateDefinition } from '../../detectors/registry.js';

/**
 * The shared contract suite: every detector in the warehouse — and every new one, from its scaffolded test —
 * must pass it. It checks what the host and the rules rely on, with real frames.
 */
export function describeDetectorContract(
  id: string,
  load: () => Promise<DetectorDefinition>,
  opts: { options?: unknown; frames: () => Frame[] | Promise<Frame[]> },
): void {
  describe(`detector contract: ${id}`, () => {
    const ctx = { log: createLogger({ level: 'error' }), resolveAsset: (n: string) => resolveAsset(n), threads: 1 };

    async function make(): Promise<{ def: DetectorDefinition; inst: DetectorInstance }> {
      const def = await load();
      const inst = await def.create(parseDetectorOptions(def, opts.options ?? {}, 'contract test'), ctx);
      return { def, inst };
    }

    it('has a valid manifest whose id matches', async () => {
      const def = await load();
      expect(() => validateDefinition(def, id)).not.toThrow();
      for (const l of def.manifest.labels) expect(def.manifest.labelMap).toHaveProperty([l]);
    });

    it('parses default options and rejects an unknown option', async () => {
      const def = await load();
      expect(() => parseDetectorOptions(def, {}, 'test')).not.toThrow();
      expect(() => parseDetectorOptions(def, { definitelyNotAnOption: 1 }, 'test')).toThrow(expect.objectContaining({ code: 'DETECTOR_OPTIONS_INVALID' }));
    });

    it('creates, warms up, detects on one frame and on a batch across two cameras, in order, within the contract', async () => {
      const { def, inst } = await make();
      try {
        await inst.warmup?.();
        const frames = await opts.frames();
        const single = await inst.detect([frames[0]!], new AbortController().signal);
        expect(single.length).toBe(1);
        const n = Math.min(def.manifest.maxBatch, 4, frames.length);
        const batch = frames.slice(0, n).map((f, i) => ({ ...f, cameraId: i % 2 ? 'contract-b' : 'contract-a', seq: i }));
        const lists = await inst.detect(batch, new AbortController().signal);
        expect(lists.length).toBe(n);
        for (const list of [...single, ...lists]) {
          expect(Array.isArray(list)).toBe(true);
          for (const d of list) {
            const [x1, y1, x2, y2] = d.box;
            expect(x1).toBeGreaterThanOrEqual(0);
            expect(y1).toBeGreaterThanOrEqual(0);
            expect(x2).toBeLessThanOrEqual(1);
            expect(y2).toBeLessThanOrEqual(1);
            expect(x2).toBeGreaterThan(x1);
            expect(y2).toBeGreaterThan(y1);
            expect(d.score).toBeGreaterThanOrEqual(0);
            expect(d.score).toBeLessThanOrEqual(1);
            expect(def.manifest.labels).toContain(d.label);
          }
        }
        inst.forgetCamera?.('contract-a');
      } finally {
        await inst.close();
        await inst.close();
      }
    });

    it('does not hang on an aborted signal', async () => {
      const { inst } = await make();
      const frames = await opts.frames();
      const ac = new AbortController();
      ac.abort();
      const settled = await Promise.race([
        inst.detect([frames[0]!], ac.signal).then(() => 'done', () => 'rejected'),
        new Promise((r) => setTimeout(() => r('hung'), 10_000)),
      ]);
      expect(settled).not.toBe('hung');
      await inst.close();
    });
  });
}
