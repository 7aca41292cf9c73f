import { stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import pino from 'pino';
import sharp from 'sharp';
import { resolveAsset } from '../../core/assets.js';
import { StreetwatchError } from '../../core/errors.js';
import { createLogger } from '../../core/log.js';
import type { Box, SemanticLabel } from '../../detectors/contract.js';
import { drawDetections } from '../../detectors/draw.js';
import { DetectorHost } from '../../detectors/host.js';
import { loadImageFrame } from '../../detectors/image.js';
import { createRegistry } from '../../detectors/index.js';
import { loadModelDetectorManifests } from '../../detectors/onnx/manifest.js';
import { parseDetectorOptions } from '../../detectors/registry.js';
import { parseCli } from '../args.js';

export const summary = 'run a detector on images: labels, semantic labels, scores, boxes; optionally draw them';

const HELP = `usage: streetwatch detect <image…> [--detector <id>] [--threshold x] [--json] [--draw <out.png | folder/>]

Runs one detector of the warehouse (default: the model manifest marked default, YOLOX-Nano) on each image
(JPEG, PNG, WebP) and prints its detections: model label, semantic label, score, normalised box
[x1,y1,x2,y2] (0..1) and the box in the image's pixels.

  --detector, -d <id>  a warehouse id ('streetwatch detectors' lists them)
  --threshold <x>      score threshold 0..1 (the detector's 'threshold' option)
  --json               an array of { image, width, height, detections: [{ label, semantic, score, box, pixelBox }] }
  --draw <out>         write the image with the boxes drawn: out.png for one image; out-1.png, out-2.png, …
                       for several; a folder (existing, or ending in /) gets <image name>.detections.png each`;

/** Camera frames are at most 1080p; a 12-megapixel photo is shrunk to that before detection (boxes are normalised). */
const MAX_SIDE = 1920;

export interface ImageDetections {
  image: string;
  /** The image's own size (EXIF orientation applied), which pixelBox refers to. */
  width: number;
  height: number;
  detections: { label: string; semantic: SemanticLabel | null; score: number; box: Box; pixelBox: [number, number, number, number] }[];
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals: images } = parseCli(argv, {
    detector: { type: 'string', short: 'd' },
    threshold: { type: 'string' },
    json: { type: 'boolean' },
    draw: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help || images.length === 0) {
    (values.help ? process.stdout : process.stderr).write(HELP + '\n');
    return values.help ? 0 : 2;
  }
  const threshold = values.threshold === undefined ? undefined : Number(values.threshold);
  if (threshold !== undefined && !(values.threshold!.trim() !== '' && threshold >= 0 && threshold <= 1)) {
    throw new StreetwatchError('USAGE', `--threshold '${values.threshold}' is not a number between 0 and 1`);
  }
  // Every image is checked (a header read) and every output named before the model loads: a typo in the tenth
  // file name should not cost nine inferences first.
  const sizes = await Promise.all(images.map(imageSize));
  const outs = values.draw === undefined ? undefined : await drawTargets(values.draw, images);

  const id = values.detector ?? defaultDetectorId();
  const registry = createRegistry();
  const def = await registry.get(id);
  const options = parseDetectorOptions(def, threshold === undefined ? {} : { threshold }, '--threshold');
  const log = createLogger({ level: process.env.STREETWATCH_LOG_LEVEL ?? 'warn', destination: pino.destination({ fd: 2, sync: true }) });
  const host = new DetectorHost({ def, options, ctx: { log, resolveAsset: (n) => resolveAsset(n), threads: 1 }, deadlineMs: 60_000 });

  const results: ImageDetections[] = [];
  try {
    await host.start();
    for (const [i, image] of images.entries()) {
      const { width, height } = sizes[i]!;
      // Each image is its own camera: a detector with per-camera state must not treat two photos as one scene.
      const { frame } = await loadImageFrame(image, { maxSide: MAX_SIDE, cameraId: `image-${i + 1}` });
      const [found] = await host.detect([frame]);
      const detections = found!
        .map((d) => ({
          label: d.label,
          semantic: d.semantic ?? null,
          score: d.score,
          box: d.box,
          pixelBox: [Math.round(d.box[0] * width), Math.round(d.box[1] * height), Math.round(d.box[2] * width), Math.round(d.box[3] * height)] as [number, number, number, number],
        }))
        .sort((a, b) => b.score - a.score);
      results.push({ image, width, height, detections });
      if (outs) {
        await drawDetections(image, found!, outs[i]!, { caption: `${basename(image)} · ${def.manifest.id} ${def.manifest.version} · ${detections.length} detection${detections.length === 1 ? '' : 's'}` });
      }
    }
  } finally {
    await host.stop();
  }

  if (values.json) {
    process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  } else {
    process.stdout.write(formatResults(results, def.manifest.id, outs));
  }
  return 0;
}

function defaultDetectorId(): string {
  const marked = loadModelDetectorManifests().find((m) => m.default);
  if (marked) return marked.id;
  throw new StreetwatchError('USAGE', "no model manifest in models/ is marked \"default\": true; name one with --detector (see 'streetwatch detectors')");
}

async function imageSize(path: string): Promise<{ width: number; height: number }> {
  try {
    const m = await sharp(path).metadata();
    const width = m.autoOrient?.width ?? m.width;
    const height = m.autoOrient?.height ?? m.height;
    if (!width || !height) throw new Error('it has no image size');
    return { width, height };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const exists = await stat(path).then((s) => s.isFile(), () => false);
    const why = !exists ? 'no such file' : code ? String(code) : (e as Error).message.replace(/^Input file /, '');
    throw new StreetwatchError('IMAGE_INVALID', `cannot read image ${path}: ${why}. Give a JPEG, PNG or WebP file.`, { cause: e, details: { path } });
  }
}

/** Output file per image: the name itself for one image, numbered names for several, or files in a folder. */
async function drawTargets(draw: string, images: readonly string[]): Promise<string[]> {
  const isDir = draw.endsWith('/') || (await stat(draw).then((s) => s.isDirectory(), () => false));
  if (isDir) {
    const seen = new Map<string, number>();
    return images.map((img) => {
      const stem = basename(img, extname(img));
      const n = (seen.get(stem) ?? 0) + 1;
      seen.set(stem, n);
      return join(draw, `${stem}${n > 1 ? `-${n}` : ''}.detections.png`);
    });
  }
  const ext = extname(draw).toLowerCase();
  if (!['.png', '.jpg', '.jpeg', '.webp'].includes(ext)) {
    throw new StreetwatchError('USAGE', `--draw '${draw}': give a .png, .jpg or .webp file name, or a folder ending in /`);
  }
  if (images.length === 1) return [draw];
  const stem = draw.slice(0, -extname(draw).length);
  return images.map((_, i) => `${stem}-${i + 1}${extname(draw)}`);
}

function formatResults(results: readonly ImageDetections[], id: string, outs: readonly string[] | undefined): string {
  const lines: string[] = [];
  results.forEach((r, i) => {
    lines.push(`${r.image} (${r.width}×${r.height}): ${r.detections.length} detection${r.detections.length === 1 ? '' : 's'} by ${id}${outs ? ` → ${outs[i]}` : ''}`);
    for (const d of r.detections) {
      const box = d.box.map((v) => v.toFixed(3)).join(', ');
      lines.push(`  ${d.label.padEnd(14)} ${String(d.semantic ?? '-').padEnd(13)} ${d.score.toFixed(2)}  [${box}]  px [${d.pixelBox.join(', ')}]`);
    }
  });
  return lines.join('\n') + '\n';
}
