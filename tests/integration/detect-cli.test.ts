import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { resolveAsset } from '../../core/assets.js';
import { PROJECT_ROOT } from '../../core/paths.js';

const run = promisify(execFile);
const cli = (...args: string[]) => run(process.execPath, [join(PROJECT_ROOT, 'bin/streetwatch.js'), ...args], { cwd: PROJECT_ROOT, maxBuffer: 1 << 24 });
const street = resolveAsset('nyc_times_square_foodcart_umbrellas.png');

describe('streetwatch detect / detectors', () => {
  it('detect --json finds people and umbrellas (PicoDet) with normalised and pixel boxes', async () => {
    const { stdout } = await cli('detect', street, '--detector', 'picodet-xs-320', '--json');
    const [r] = JSON.parse(stdout);
    expect(r.width).toBe(1441);
    const labels = r.detections.map((d: { label: string }) => d.label);
    expect(labels.filter((l: string) => l === 'umbrella').length).toBeGreaterThanOrEqual(2);
    expect(labels.filter((l: string) => l === 'person').length).toBeGreaterThanOrEqual(5);
    const d = r.detections[0];
    expect(d.pixelBox[2]).toBe(Math.round(d.box[2] * 1441));
    expect(d.semantic).toBeTruthy();
  });

  it('detect --draw writes an annotated image of the same size that differs from the original', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'sw-draw-')), 'out.png');
    await cli('detect', street, '--draw', out);
    const [a, b] = await Promise.all([sharp(out).raw().toBuffer({ resolveWithObject: true }), sharp(street).removeAlpha().raw().toBuffer({ resolveWithObject: true })]);
    expect([a.info.width, a.info.height]).toEqual([1441, 731]);
    let diff = 0;
    for (let i = 0; i < Math.min(a.data.length, b.data.length); i += 3) if (a.data[i] !== b.data[i]) diff++;
    expect(diff).toBeGreaterThan(1000);
  });

  it('a missing image exits 1 naming it', async () => {
    await expect(cli('detect', '/no/such/photo.jpg')).rejects.toMatchObject({ code: 1, stderr: expect.stringContaining('/no/such/photo.jpg') });
  });

  it('detectors --json lists the warehouse', async () => {
    const { stdout } = await cli('detectors', '--json');
    const ids = JSON.parse(stdout).map((d: { id: string }) => d.id);
    expect(ids).toEqual(expect.arrayContaining(['yolox-nano-416', 'picodet-xs-320', 'yolov8n-int8-640', 'static-object']));
  });

  it('detectors --config shows where each is enabled, shadow marked', async () => {
    const { stdout } = await cli('detectors', '--config', 'config/example.yaml', '--json');
    const yolox = JSON.parse(stdout).find((d: { id: string }) => d.id === 'yolox-nano-416');
    expect(yolox.enabledOn.map((e: { camera: string }) => e.camera)).toContain('hp-nanjingdong-0412');
  });
});
