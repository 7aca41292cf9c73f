import { describe, expect, it } from 'vitest';
import { configSchema } from '../../../config/schema.js';
import { shouldLabel, type LabelGateParams } from '../../../pipeline/label-gate.js';
import { DEFAULT_TRACKER } from '../../../pipeline/tracker.js';

const P: LabelGateParams = { enabled: true, trigger: 'static-object', everySec: 6 };
const T = 1_000_000;

describe('shouldLabel', () => {
  it.each<[string, number | undefined, number, boolean, LabelGateParams, boolean]>([
    ['the first frame of a camera', undefined, T, false, P, true],
    ['the static-object detector found something', T, T + 2000, true, P, true],
    ['nothing new, 2 s after the last labelling', T, T + 2000, false, P, false],
    ['nothing new, just under everySec', T, T + 5999, false, P, false],
    ['nothing new, everySec since the last labelling', T, T + 6000, false, P, true],
    ['the camera clock went back (restart, replay)', T, T - 2000, false, P, true],
    ['gating disabled', T, T + 2000, false, { ...P, enabled: false }, true],
  ])('%s', (_what, last, frameMs, found, p, want) => {
    expect(shouldLabel(last === undefined ? {} : { lastLabelledMs: last }, frameMs, found, p)).toBe(want);
  });
});

describe('detection.labelOnDemand.everySec', () => {
  // the config (which imports nothing from the pipeline) repeats the tracker's limit: this keeps them in step
  it("must stay below the tracker's time without a sighting, or followed objects would lose their tracks", () => {
    const parse = (everySec: number) => configSchema.safeParse({ version: 1, detection: { labelOnDemand: { everySec } } }).success;
    expect(parse(DEFAULT_TRACKER.maxMissedSec)).toBe(false);
    expect(parse(DEFAULT_TRACKER.maxMissedSec - 1)).toBe(true);
  });
});
