import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { DETECTOR_API, defineDetector, type DetectorDefinition, type DetectorManifest } from '../../../detectors/contract.js';
import { DetectorRegistry, parseDetectorOptions, validateDefinition } from '../../../detectors/registry.js';
import { fakeManifest } from '../../helpers/factories.js';
import { sleep } from '../../helpers/wait.js';

const options = z.strictObject({ threshold: z.number().min(0).max(1).default(0.4), classes: z.array(z.string()).optional() });

function fake(id = 'fake', over: Partial<DetectorManifest> = {}): DetectorDefinition {
  return defineDetector({
    manifest: fakeManifest({ id, version: '1.2.0', labels: ['crate', 'toothbrush'], labelMap: { crate: 'goods', toothbrush: null }, input: { width: 32, height: 32, pixelFormat: 'rgb24' }, options, ...over }),
    create: () => ({ detect: async (b) => b.map(() => []), close: async () => {} }),
  });
}

describe('DetectorRegistry: lazy loading', () => {
  it('does not call a loader until the detector is asked for, and loads it once for many askers', async () => {
    let calls = 0;
    const r = new DetectorRegistry().register('fake', async () => {
      calls++;
      await sleep(10);
      return fake();
    });
    expect(r.has('fake')).toBe(true);
    expect(r.list()).toEqual([{ id: 'fake', info: { source: 'plugin' } }]);
    expect(calls).toBe(0);
    const [a, b] = await Promise.all([r.get('fake'), r.get('fake')]);
    expect(a).toBe(b);
    await r.get('fake');
    expect(calls).toBe(1);
  });

  it('lists the catalogue info without loading anything', () => {
    let calls = 0;
    const r = new DetectorRegistry()
      .register('m1', async () => (calls++, fake('m1')), { source: 'model-manifest', version: '1.0.0', family: 'yolox', licence: 'Apache-2.0', labels: ['person'] })
      .register('b1', async () => (calls++, fake('b1')), { source: 'builtin' });
    expect(r.list().map((e) => [e.id, e.info.source, e.info.family])).toEqual([
      ['m1', 'model-manifest', 'yolox'],
      ['b1', 'builtin', undefined],
    ]);
    expect(calls).toBe(0);
  });

  it('accepts a module whose default export is the definition (a plug-in imported with import())', async () => {
    const r = new DetectorRegistry().register('fake', async () => ({ default: fake() }));
    expect((await r.get('fake')).manifest.id).toBe('fake');
  });

  it('retries a failed load on the next get instead of caching the failure', async () => {
    let calls = 0;
    const r = new DetectorRegistry().register('fake', async () => {
      calls++;
      if (calls === 1) throw new Error('model file still downloading');
      return fake();
    });
    await expect(r.get('fake')).rejects.toThrow('model file still downloading');
    await expect(r.get('fake')).resolves.toMatchObject({ manifest: { id: 'fake' } });
    expect(calls).toBe(2);
  });

  it('retries a load that failed validation too (the file may be fixed and the config reloaded)', async () => {
    let api = '^2.0.0';
    const r = new DetectorRegistry().register('fake', async () => fake('fake', { api }));
    await expect(r.get('fake')).rejects.toMatchObject({ code: 'DETECTOR_API_MISMATCH' });
    api = `^${DETECTOR_API}`;
    await expect(r.get('fake')).resolves.toBeDefined();
  });
});

describe('DetectorRegistry: refusals are coded and name the detector', () => {
  it('unknown id → DETECTOR_NOT_FOUND, listing the known ids', async () => {
    const r = new DetectorRegistry().register('yolox-nano-416', async () => fake('yolox-nano-416')).register('static-object', async () => fake('static-object'));
    const err = await r.get('yolo').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'DETECTOR_NOT_FOUND' });
    expect((err as Error).message).toMatch(/'yolo'.*yolox-nano-416, static-object/);
  });

  it('an id registered twice → DETECTOR_INVALID', () => {
    const r = new DetectorRegistry().register('fake', async () => fake());
    expect(() => r.register('fake', async () => fake())).toThrow(expect.objectContaining({ code: 'DETECTOR_INVALID' }));
  });

  it("API range that excludes the host's version (^2.0.0) → DETECTOR_API_MISMATCH, through get and validateDefinition", async () => {
    const def = fake('fake', { api: '^2.0.0' });
    const err = (() => {
      try {
        validateDefinition(def);
      } catch (e) {
        return e as Error & { code: string; details: Record<string, unknown> };
      }
    })();
    expect(err?.code).toBe('DETECTOR_API_MISMATCH');
    expect(err?.message).toContain("'fake'");
    expect(err?.details).toMatchObject({ api: '^2.0.0', host: DETECTOR_API });
    await expect(new DetectorRegistry().register('fake', async () => def).get('fake')).rejects.toMatchObject({ code: 'DETECTOR_API_MISMATCH' });
  });

  it('an API range that is not a range at all → DETECTOR_API_MISMATCH', () => {
    expect(() => validateDefinition(fake('fake', { api: 'latest' }))).toThrow(expect.objectContaining({ code: 'DETECTOR_API_MISMATCH' }));
  });

  it('the current API with a compatible range is accepted', () => {
    expect(() => validateDefinition(fake('fake', { api: '>=1.0.0 <2' }))).not.toThrow();
  });

  it('a label without a labelMap entry → DETECTOR_LABEL_MAP_MISSING, naming the label', async () => {
    const def = fake('fake', { labels: ['crate', 'toothbrush', 'basket'] });
    expect(() => validateDefinition(def)).toThrow(expect.objectContaining({ code: 'DETECTOR_LABEL_MAP_MISSING', message: expect.stringContaining('basket'), details: expect.objectContaining({ missing: ['basket'] }) }));
    await expect(new DetectorRegistry().register('fake', async () => def).get('fake')).rejects.toMatchObject({ code: 'DETECTOR_LABEL_MAP_MISSING' });
  });

  it('a labelMap onto a label the rules do not speak → DETECTOR_INVALID', () => {
    expect(() => validateDefinition(fake('fake', { labelMap: { crate: 'merchandise' as never, toothbrush: null } }))).toThrow(expect.objectContaining({ code: 'DETECTOR_INVALID', message: expect.stringContaining('crate→merchandise') }));
  });

  it('a version that is not semver → DETECTOR_INVALID', () => {
    expect(() => validateDefinition(fake('fake', { version: 'v2-final' }))).toThrow(expect.objectContaining({ code: 'DETECTOR_INVALID' }));
  });

  it('a module registered under another id than it declares → DETECTOR_INVALID', async () => {
    await expect(new DetectorRegistry().register('crates', async () => fake('crate-finder')).get('crates')).rejects.toMatchObject({ code: 'DETECTOR_INVALID', message: expect.stringContaining('crate-finder') });
  });

  it('a module without a definition → DETECTOR_INVALID', async () => {
    await expect(new DetectorRegistry().register('empty', async () => ({ default: undefined as never })).get('empty')).rejects.toMatchObject({ code: 'DETECTOR_INVALID' });
  });

  it('defineDetector refuses a malformed manifest at once, naming the detector', () => {
    expect(() => fake('Bad Id')).toThrow(/defineDetector\('Bad Id'\).*lowercase/);
    expect(() => fake('fake', { maxBatch: 0 })).toThrow(/maxBatch/);
    expect(() => fake('fake', { labels: [] })).toThrow(/labels/);
  });
});

describe('parseDetectorOptions', () => {
  it('fills the defaults for missing or empty options', () => {
    expect(parseDetectorOptions(fake(), undefined, 'test')).toEqual({ threshold: 0.4 });
    expect(parseDetectorOptions(fake(), {}, 'test')).toEqual({ threshold: 0.4 });
    expect(parseDetectorOptions(fake(), { threshold: 0.7 }, 'test')).toEqual({ threshold: 0.7 });
  });

  it('an unknown option → DETECTOR_OPTIONS_INVALID naming the option, the detector and where it was set', () => {
    const err = (() => {
      try {
        parseDetectorOptions(fake(), { treshold: 0.5 }, "camera 'hp-0412'");
      } catch (e) {
        return e as Error & { code: string };
      }
    })();
    expect(err?.code).toBe('DETECTOR_OPTIONS_INVALID');
    expect(err?.message).toContain('treshold');
    expect(err?.message).toContain("'fake'");
    expect(err?.message).toContain("camera 'hp-0412'");
  });

  it('a value out of range → DETECTOR_OPTIONS_INVALID with its path', () => {
    expect(() => parseDetectorOptions(fake(), { threshold: 1.5 }, 'test')).toThrow(expect.objectContaining({ code: 'DETECTOR_OPTIONS_INVALID', message: expect.stringContaining('threshold') }));
    expect(() => parseDetectorOptions(fake(), { classes: ['a', 3] }, 'test')).toThrow(expect.objectContaining({ message: expect.stringContaining('classes.1') }));
  });
});
