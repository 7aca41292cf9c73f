import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { resolveAsset } from '../../core/assets.js';
import { PROJECT_ROOT } from '../../core/paths.js';
import { drawDetections, renderDetections } from '../../detectors/draw.js';

const exec = promisify(execFile);
const cli = (...args: string[]) => exec(process.execPath, [join(PROJECT_ROOT, 'bin/streetwatch.js'), ...args], { cwd: PROJECT_ROOT, maxBuffer: 1 << 24 });
const street = resolveAsset('nyc_times_square_foodcart_umbrellas.png');
const market = resolveAsset('perth_fruit_market_stall.jpg');
const made: string[] = [];
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'sw-detect-'));
  made.push(dir);
  return dir;
};
afterAll(() => made.forEach((d) => rmSync(d, { recursive: true, force: true })));

interface Row {
  image: string;
  width: number;
  height: number;
  detections: { label: string; semantic: string; score: number; box: [number, number, number, number]; pixelBox: [number, number, number, number] }[];
}
const count = (r: Row, label: string) => r.detections.filter((d) => d.label === label).length;

/** Pixels (rgb) that differ between two same-sized images. */
async function changedPixels(a: string, b: string): Promise<{ changed: number; total: number }> {
  const [x, y] = await Promise.all([a, b].map((p) => sharp(p).removeAlpha().raw().toBuffer({ resolveWithObject: true })));
  expect([x!.info.width, x!.info.height]).toEqual([y!.info.width, y!.info.height]);
  let changed = 0;
  for (let i = 0; i < x!.data.length; i += 3) {
    if (x!.data[i] !== y!.data[i] || x!.data[i + 1] !== y!.data[i + 1] || x!.data[i + 2] !== y!.data[i + 2]) changed++;
  }
  return { changed, total: x!.data.length / 3 };
}

describe('streetwatch detect', () => {
  it('--json with the default detector (YOLOX-Nano) finds the pedestrians, with normalised and pixel boxes', async () => {
    const { stdout } = await cli('detect', street, '--json');
    const rows = JSON.parse(stdout) as Row[];
    expect(rows).toHaveLength(1);
    const [r] = rows as [Row];
    expect(r).toMatchObject({ image: street, width: 1441, height: 731 });
    expect(count(r, 'person')).toBeGreaterThanOrEqual(5);
    for (const d of r.detections) {
      expect(Object.keys(d).sort()).toEqual(['box', 'label', 'pixelBox', 'score', 'semantic']);
      expect(d.pixelBox).toEqual([Math.round(d.box[0] * 1441), Math.round(d.box[1] * 731), Math.round(d.box[2] * 1441), Math.round(d.box[3] * 731)]);
      expect(d.score).toBeGreaterThanOrEqual(0.2);
    }
    expect(r.detections.find((d) => d.label === 'person')!.semantic).toBe('person');
    // People stand on the pavement in the lower half of the picture, not in the sky or on the billboards.
    for (const d of r.detections.filter((d) => d.label === 'person')) expect((d.box[1] + d.box[3]) / 2).toBeGreaterThan(0.5);
  });

  it('--detector picodet-xs-320 finds the food-cart umbrellas and the persons', async () => {
    // YOLOX-Nano at 416 px misses these umbrellas (they are ~60 px wide in a 1441 px photo); PicoDet sees them.
    const { stdout } = await cli('detect', street, '--detector', 'picodet-xs-320', '--json');
    const [r] = JSON.parse(stdout) as [Row];
    expect(count(r, 'umbrella')).toBeGreaterThanOrEqual(1);
    expect(count(r, 'person')).toBeGreaterThanOrEqual(5);
    for (const u of r.detections.filter((d) => d.label === 'umbrella')) {
      expect(u.semantic).toBe('umbrella');
      // The umbrellas are over the cart right of centre, at head height.
      expect((u.box[0] + u.box[2]) / 2).toBeGreaterThan(0.6);
      expect((u.box[1] + u.box[3]) / 2).toBeGreaterThan(0.45);
      expect((u.box[1] + u.box[3]) / 2).toBeLessThan(0.7);
    }
  });

  it('prints a readable line per detection, and --threshold raises the bar', async () => {
    const { stdout: all } = await cli('detect', street);
    expect(all).toMatch(/1441×731\): \d+ detections by yolox-nano-416/);
    expect(all).toMatch(/\n {2}person +person +0\.\d\d {2}\[0\.\d{3}, 0\.\d{3}, 0\.\d{3}, 0\.\d{3}\] {2}px \[\d+, \d+, \d+, \d+\]/);
    const { stdout: strict } = await cli('detect', street, '--threshold', '0.7', '--json');
    const [r] = JSON.parse(strict) as [Row];
    expect(r.detections.length).toBeGreaterThan(0);
    expect(r.detections.every((d) => d.score >= 0.7)).toBe(true);
    expect(r.detections.length).toBeLessThan(Number(/(\d+) detections/.exec(all)![1]));
  });

  it('--draw writes a PNG of the image size with the boxes drawn on it', async () => {
    const out = join(tmp(), 'out.png');
    await cli('detect', street, '--draw', out);
    const meta = await sharp(out).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['png', 1441, 731]);
    const { changed, total } = await changedPixels(out, street);
    // Boxes, tags and a caption: thousands of pixels, but an overlay, not a different picture.
    expect(changed).toBeGreaterThan(5000);
    expect(changed / total).toBeLessThan(0.25);
  });

  it('--draw with several images writes out-1.png, out-2.png, each at its own size; a folder gets one file per image', async () => {
    const dir = tmp();
    await cli('detect', street, market, '--draw', join(dir, 'out.png'));
    expect(await sharp(join(dir, 'out-1.png')).metadata()).toMatchObject({ width: 1441, height: 731 });
    expect(await sharp(join(dir, 'out-2.png')).metadata()).toMatchObject({ width: 1000, height: 750 });
    await cli('detect', street, market, '--draw', join(dir, 'drawn') + '/');
    expect(await sharp(join(dir, 'drawn', 'perth_fruit_market_stall.detections.png')).metadata()).toMatchObject({ width: 1000, height: 750 });
    expect((await changedPixels(join(dir, 'drawn', 'perth_fruit_market_stall.detections.png'), market)).changed).toBeGreaterThan(1000);
  });

  it('a missing image exits 1 naming it, before any output', async () => {
    const err = await cli('detect', street, '/no/such/photo.jpg', '--json').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 1, stdout: '' });
    expect((err as { stderr: string }).stderr).toContain('/no/such/photo.jpg');
    expect((err as { stderr: string }).stderr).toContain('no such file');
  });

  it('a file that is not an image exits 1 naming it', async () => {
    const bogus = join(tmp(), 'holiday.jpg');
    writeFileSync(bogus, 'not a jpeg at all');
    await expect(cli('detect', bogus)).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining(bogus) });
  });

  it('an unknown detector, a bad threshold or a bad --draw name exits 1 with the reason', async () => {
    await expect(cli('detect', street, '--detector', 'yolo9000')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('DETECTOR_NOT_FOUND') });
    await expect(cli('detect', street, '--threshold', 'high')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining("--threshold 'high'") });
    await expect(cli('detect', street, '--draw', join(tmp(), 'out.gif'))).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('.png') });
  });
});

describe('streetwatch detectors', () => {
  it('--json lists the warehouse with catalogue info', async () => {
    const { stdout } = await cli('detectors', '--json');
    const rows = JSON.parse(stdout) as { id: string; source: string; family: string; labelCount: number; labels: string[]; licence: string; version: string | null }[];
    expect(rows.map((r) => r.id)).toEqual(expect.arrayContaining(['yolox-nano-416', 'picodet-xs-320', 'yolov8n-int8-640', 'static-object']));
    expect(rows.find((r) => r.id === 'yolox-nano-416')).toMatchObject({ source: 'model-manifest', family: 'yolox', licence: 'Apache-2.0', version: '1.0.0', labelCount: 80 });
    expect(rows.find((r) => r.id === 'yolox-nano-416')!.labels).toContain('umbrella');
    expect(rows.find((r) => r.id === 'yolov8n-int8-640')!.licence).toMatch(/AGPL/);
    expect(rows.find((r) => r.id === 'static-object')).toMatchObject({ source: 'builtin', labels: ['static_object'] });
  });

  it('--config shows the cameras each detector runs on and the mode; disabled cameras do not count', async () => {
    const dir = tmp();
    writeFileSync(
      join(dir, 'streets.yaml'),
      `version: 1
defaults:
  detectors: [{ id: yolox-nano-416 }, { id: static-object }]
cameras:
  - id: street-a
    source: { kind: file, path: a.mp4 }
  - id: street-b
    source: { kind: file, path: b.mp4 }
    detectors: [{ id: yolox-nano-416 }, { id: picodet-xs-320, mode: shadow }]
  - id: street-c
    enabled: false
    source: { kind: file, path: c.mp4 }
    detectors: [{ id: yolov8n-int8-640 }]
`,
    );
    const { stdout } = await cli('detectors', '--config', join(dir, 'streets.yaml'), '--json');
    const rows = JSON.parse(stdout) as { id: string; enabledOn: { camera: string; mode: string }[] }[];
    const on = (id: string) => rows.find((r) => r.id === id)!.enabledOn;
    expect(on('yolox-nano-416')).toEqual([{ camera: 'street-a', mode: 'active' }, { camera: 'street-b', mode: 'active' }]);
    expect(on('picodet-xs-320')).toEqual([{ camera: 'street-b', mode: 'shadow' }]);
    expect(on('static-object')).toEqual([{ camera: 'street-a', mode: 'active' }]);
    expect(on('yolov8n-int8-640')).toEqual([]);

    const { stdout: text } = await cli('detectors', '--config', join(dir, 'streets.yaml'));
    expect(text).toMatch(/picodet-xs-320 .*\n.*80 labels: person, bicycle.*\n.*enabled on: street-b \(shadow\)/);
  });

  it('--config flags a detector a camera names that this warehouse lacks', async () => {
    const dir = tmp();
    writeFileSync(join(dir, 'c.yaml'), 'version: 1\ncameras:\n  - id: street-a\n    source: { kind: file, path: a.mp4 }\n    detectors: [{ id: crate-finder, mode: shadow }]\n');
    const { stdout } = await cli('detectors', '--config', join(dir, 'c.yaml'));
    expect(stdout).toMatch(/crate-finder .*NOT IN THIS WAREHOUSE.*\n.*enabled on: street-a \(shadow\)/);
  });

  it('a missing config exits 1 naming it', async () => {
    await expect(cli('detectors', '--config', '/no/such/streetwatch.yaml')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('/no/such/streetwatch.yaml') });
  });
});

describe('drawDetections / renderDetections (evidence stills)', () => {
  // A mid-grey 400×200 frame, as the pipeline hands raw rgb24 frames over.
  const frame = { data: Buffer.alloc(400 * 200 * 3, 128), width: 400, height: 200 };
  const at = (px: Buffer, x: number, y: number) => [...px.subarray((y * 400 + x) * 3, (y * 400 + x) * 3 + 3)];

  it('draws a coloured box, a tinted zone and a caption band on a raw frame, at its size', async () => {
    const { data, width, height, format } = await renderDetections(
      frame,
      [{ box: [0.5, 0.5, 0.75, 0.9], score: 0.9, label: 'static_object', semantic: 'static_object', colour: '#ff0000', emphasis: true, text: '堆物 goods 35 s' }],
      { zones: [{ points: [[0.05, 0.3], [0.4, 0.3], [0.4, 0.95], [0.05, 0.95]], label: 'no-vending zone', colour: '#00ff00' }], caption: ['cam hp-0412 · 2026-01-05 10:03:12', 'stacking (乱堆物)'] },
    );
    expect([width, height, format]).toEqual([400, 200, 'png']);
    const { data: px, info } = await sharp(data).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([info.width, info.height]).toEqual([400, 200]);
    // Left edge of the box (x = 200) is red; inside the box the frame is untouched.
    const edge = at(px, 200, 150);
    expect(edge[0]).toBeGreaterThan(200);
    expect(edge[1]).toBeLessThan(60);
    expect(at(px, 250, 150)).toEqual([128, 128, 128]);
    // Inside the zone the grey is tinted green, not replaced.
    const tint = at(px, 80, 150);
    expect(tint[1]).toBeGreaterThan(tint[0]! + 10);
    expect(tint[0]).toBeGreaterThan(90);
    // The caption band darkens the top (two lines).
    expect(at(px, 399, 2)[0]).toBeLessThan(80);
    expect(at(px, 399, 34)[0]).toBeLessThan(80);
    expect(at(px, 399, 80)).toEqual([128, 128, 128]);
  });

  it('writes JPEG by extension, and refuses a raw frame of the wrong size or an unknown extension', async () => {
    const out = join(tmp(), 'still.jpg');
    await drawDetections(frame, [], out, { caption: 'x' });
    expect(await sharp(out).metadata()).toMatchObject({ format: 'jpeg', width: 400, height: 200 });
    await expect(renderDetections({ ...frame, width: 401 }, [])).rejects.toMatchObject({ code: 'IMAGE_INVALID' });
    await expect(drawDetections(frame, [], join(tmp(), 'still.bmp'))).rejects.toMatchObject({ code: 'USAGE' });
  });
});
