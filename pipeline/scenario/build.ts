import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { resolveConfigPath } from '../../core/assets.js';
import { composeScene } from './compose.js';
import { loadScenarioSpec, type ScenarioSpec } from './spec.js';

/** What a scenario should produce: one item per object with a truth, distractors apart. */
export interface Truth {
  scenario: string;
  camera: string;
  duration: number;
  start: string;
  items: { type: string; zone: string; appear: number; leave: number; dwell: number; box: [number, number, number, number] }[];
  distractors: { appear: number; leave: number; box: [number, number, number, number] }[];
}

const DEFAULT_START = '2026-06-01T10:00:00+08:00';

/**
 * `streetwatch scenario build <spec.yaml> --out <dir>`: writes `<dir>/video.mp4` (the composed scene),
 * `<dir>/config.yaml` (a normal config with one file camera on that video and the spec's zones, read as fast
 * as possible and stamped from the spec's start time) and `<dir>/truth.json`.
 */
export async function buildScenario(specFile: string, outDir: string): Promise<{ video: string; config: string; truth: Truth }> {
  const { spec, baseDir } = await loadScenarioSpec(specFile);
  const out = resolve(outDir);
  await mkdir(out, { recursive: true });
  const video = join(out, 'video.mp4');
  const placed = await composeScene({
    background: resolveConfigPath(spec.background, baseDir),
    duration: spec.duration,
    out: video,
    size: { width: 960, height: 540 },
    objects: spec.objects.map((o) => ({ ...o, image: resolveConfigPath(o.image, baseDir) })),
  });
  const start = spec.start ?? DEFAULT_START;
  const truth: Truth = { scenario: spec.name ?? specFile, camera: spec.camera.id, duration: spec.duration, start, items: [], distractors: [] };
  spec.objects.forEach((o, i) => {
    const box = placed[i]!.box;
    if (!o.truth) return truth.distractors.push({ appear: o.appear, leave: o.leave, box });
    const zone = (spec.camera.zones ?? []).find((z) => z.id === o.truth!.zone)!;
    truth.items.push({ type: o.truth.type, zone: o.truth.zone, appear: o.appear, leave: o.leave, dwell: zone.rules?.[o.truth.type]?.dwell ?? 0, box });
  });
  const config = join(out, 'config.yaml');
  await writeFile(config, stringify(scenarioConfig(spec, start)));
  await writeFile(join(out, 'truth.json'), JSON.stringify(truth, null, 2) + '\n');
  return { video, config, truth };
}

function scenarioConfig(spec: ScenarioSpec, start: string): Record<string, unknown> {
  const { id, ...camera } = spec.camera;
  return {
    version: 1,
    site: { name: `scenario ${spec.name ?? id}`, timezone: 'Asia/Shanghai' },
    storage: { dataDir: './data' },
    http: { port: 0 },
    cameras: [
      {
        id,
        ...camera,
        source: { kind: 'file', path: './video.mp4', loop: false, realtime: false, startTime: start },
        sampling: camera.sampling ?? { mode: 'fps', fps: 2 },
      },
    ],
  };
}
