import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { loadImageFrame } from '../../../detectors/image.js';

const dir = mkdtempSync(join(tmpdir(), 'sw-image-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('loadImageFrame', () => {
  it('reads a PNG with alpha as rgb24, pixel for pixel', async () => {
    const path = join(dir, 'rgba.png');
    // 3×2 RGBA: red, green, blue / white, black, grey
    const px = [255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 255, 255, 255, 255, 255, 0, 0, 0, 255, 100, 100, 100, 0];
    await sharp(Buffer.from(px), { raw: { width: 3, height: 2, channels: 4 } }).png().toFile(path);
    const { frame, width, height } = await loadImageFrame(path);
    expect([width, height, frame.width, frame.height, frame.format]).toEqual([3, 2, 3, 2, 'rgb24']);
    expect([...frame.data]).toEqual([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255, 0, 0, 0, 100, 100, 100]);
  });

  it('shrinks to maxSide, keeping the aspect', async () => {
    const path = join(dir, 'big.png');
    await sharp({ create: { width: 400, height: 100, channels: 3, background: { r: 10, g: 20, b: 30 } } }).png().toFile(path);
    const { frame } = await loadImageFrame(path, { maxSide: 200 });
    expect([frame.width, frame.height, frame.data.length]).toEqual([200, 50, 200 * 50 * 3]);
    expect([...frame.data.subarray(0, 3)]).toEqual([10, 20, 30]);
  });

  it.each([
    ['a file that is not an image', 'notes.png', 'hello'],
    ['a missing file', 'missing.jpg', undefined],
  ])('%s → IMAGE_INVALID naming the file', async (_n, name, content) => {
    const path = join(dir, name);
    if (content !== undefined) writeFileSync(path, content);
    await expect(loadImageFrame(path)).rejects.toMatchObject({ code: 'IMAGE_INVALID', message: expect.stringContaining(path) });
  });
});
