import { describe, expect, it } from 'vitest';
import { isStreetwatchError } from '../../../../core/errors.js';
import { checkRegistryCamera, encodeCamera } from '../../../../pipeline/cluster/registry.js';

const cam = (over: Record<string, unknown> = {}) => ({
  id: 'cam-7',
  source: { kind: 'rtsp', url: 'rtsp://10.0.0.7/stream1', transport: 'tcp', timeoutSec: 5 },
  zones: [{ id: 'kerb', kind: 'no_stacking', polygon: [[0.1, 0.5], [0.9, 0.5], [0.9, 0.9], [0.1, 0.9]], rules: { stacking: { dwell: 300 } } }],
  ...over,
});

/** The problems a refused camera is reported with (the test fails if it is accepted). */
function refusal(key: string, value: unknown): string[] {
  try {
    checkRegistryCamera(key, value);
  } catch (e) {
    if (isStreetwatchError(e, 'REGISTRY_CAMERA_INVALID')) return (e.details as { problems: string[] }).problems;
    throw e;
  }
  throw new Error(`camera '${key}' was accepted`);
}

describe('checkRegistryCamera', () => {
  it('accepts a camera of the config schema and fills its defaults, as the YAML would', () => {
    const c = checkRegistryCamera('cam-7', cam());
    expect(c).toMatchObject({ id: 'cam-7', enabled: true, source: { kind: 'rtsp' } });
    expect(c.zones[0]!.id).toBe('kerb');
  });

  it.each<[string, string, unknown, RegExp]>([
    ['no source', 'cam-7', cam({ source: undefined }), /^cameras\/cam-7\.source: /],
    ['a zone polygon with two points', 'cam-7', cam({ zones: [{ id: 'z', kind: 'no_stacking', polygon: [[0, 0], [1, 1]], rules: {} }] }), /^cameras\/cam-7\.zones\[0\]\.polygon/],
    ['an unknown key', 'cam-7', cam({ colour: 'red' }), /^cameras\/cam-7: .*colour/],
    ['a key that is not the camera id', 'cam-8', cam(), /^cameras\/cam-8\.id: the record key is 'cam-8' but the camera's id is 'cam-7'/],
    ['two zones with one id (a cross-check)', 'cam-7', cam({ zones: [cam().zones[0], cam().zones[0]] }), /^cameras\/cam-7\.zones\[1\]\.id: /],
    ['not an object', 'cam-7', 'rtsp://10.0.0.7', /^cameras\/cam-7/],
  ])('refuses %s, naming the key path', (_what, key, value, want) => {
    const problems = refusal(key, value);
    expect(problems.some((p) => want.test(p)), problems.join('\n')).toBe(true);
  });

  it('says that nothing was written and what to do, in the error message', () => {
    try {
      checkRegistryCamera('cam-7', cam({ source: undefined }));
      expect.unreachable();
    } catch (e) {
      expect((e as Error).message).toMatch(/camera 'cam-7' is refused, nothing was written for it — cameras\/cam-7\.source: .*put it again/);
    }
  });

  it('reads back what it encodes', () => {
    const c = checkRegistryCamera('cam-7', cam({ name: '黄浦路 7 号' }));
    expect(checkRegistryCamera('cam-7', JSON.parse(encodeCamera(c).toString('utf8')))).toEqual(c);
  });
});
