import { extname } from 'node:path';
import { resolveAsset } from '../../core/assets.js';
import { createLogger } from '../../core/log.js';
import type { Detection } from '../../detectors/contract.js';
import { drawDetections } from '../../detectors/draw.js';
import { DetectorHost } from '../../detectors/host.js';
import { loadImageFrame } from '../../detectors/image.js';
import { createRegistry } from '../../detectors/index.js';
import { loadModelDetectorManifests } from '../../detectors/onnx/manifest.js';
import { parseDetectorOptions } from '../../detectors/registry.js';
import { parseCli } from '../args.js';

export const summary = 'run a detector on images: labels, semantic labels, scores, boxes; optionally draw them';

const HELP = `usage: streetwatch detect <image…> [--detector <id>] [--threshold x] [--json] [--draw <out.png>]

Runs one detector of the warehouse (default: the default model, YOLOX-Nano) on each image and prints its
detections: model label, semantic label, score, normalised box [x1,y1,x2,y2] and pixel box. --draw writes the
image with the boxes drawn (with several images: out-1.png, out-2.png, …).`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseCli(argv, {
    detector: { type: 'string', short: 'd' },
    threshold: { type: 'string' },
    json: { type: 'boolean' },
    draw: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help || positionals.length === 0) {
    (values.help ? process.stdout : process.stderr).write(HELP + '\n');
    return values.help ? 0 : 2;
  }
  const id = values.detector ?? loadModelDetectorManifests().find((m) => m.default)?.id ?? 'yolox-nano-416';
  const registry = createRegistry();
  const def = await registry.get(id);
  const raw: Record<string, unknown> = {};
  if (values.threshold !== undefined) raw.threshold = Number(values.threshold);
  const options = parseDetectorOptions(def, raw, 'command line');
  const host = new DetectorHost({ def, options, ctx: { log: createLogger({ level: 'warn', destination: process.stderr as never }), resolveAsset: (n) => resolveAsset(n), threads: 2 }, deadlineMs: 60_000 });
  await host.start();
  const results: { image: string; width: number; height: number; detections: (Detection & { pixelBox: number[] })[] }[] = [];
  try {
    for (const [i, image] of positionals.entries()) {
      const { frame, width, height } = await loadImageFrame(image);
      const [dets] = await host.detect([frame]);
      const detections = dets!.map((d) => ({ ...d, pixelBox: [d.box[0] * width, d.box[1] * height, d.box[2] * width, d.box[3] * height].map(Math.round) }));
      results.push({ image, width, height, detections });
      if (values.draw) {
        const out = positionals.length === 1 ? values.draw : values.draw.replace(new RegExp(`${extname(values.draw)}$`), `-${i + 1}${extname(values.draw) || '.png'}`);
        await drawDetections(image, detections, out, { caption: `${def.manifest.id} ${def.manifest.version} · ${detections.length} detections` });
      }
    }
  } finally {
    await host.stop();
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    return 0;
  }
  for (const r of results) {
    process.stdout.write(`${r.image} (${r.width}×${r.height}): ${r.detections.length} detections by ${id}\n`);
    for (const d of r.detections.sort((a, b) => b.score - a.score)) {
      process.stdout.write(`  ${d.label.padEnd(14)} ${String(d.semantic).padEnd(13)} ${d.score.toFixed(2)}  [${d.box.map((v) => v.toFixed(3)).join(', ')}]  px [${d.pixelBox.join(', ')}]\n`);
    }
  }
  return 0;
}
