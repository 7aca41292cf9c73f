import sharp from 'sharp';
import { StreetwatchError } from '../core/errors.js';
import type { Frame } from '../core/types.js';

/**
 * An image file as a Frame (rgb24), for `streetwatch detect` and tests. Optionally shrunk so its longer side is
 * at most `maxSide` (camera frames are small; a 12-megapixel photo need not be).
 */
export async function loadImageFrame(path: string, opts: { maxSide?: number; cameraId?: string } = {}): Promise<{ frame: Frame; width: number; height: number }> {
  try {
    let img = sharp(path).rotate().removeAlpha().toColourspace('srgb');
    if (opts.maxSide) img = img.resize({ width: opts.maxSide, height: opts.maxSide, fit: 'inside', withoutEnlargement: true });
    const { data, info } = await img.raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels after conversion, got ${info.channels}`);
    const frame: Frame = { cameraId: opts.cameraId ?? 'image', seq: 0, ptsSec: 0, wallMs: 0, width: info.width, height: info.height, format: 'rgb24', data };
    return { frame, width: info.width, height: info.height };
  } catch (e) {
    throw new StreetwatchError('IMAGE_INVALID', `cannot read image ${path}: ${(e as Error).message}. Give a JPEG, PNG or WebP file.`, { cause: e, details: { path } });
  }
}
