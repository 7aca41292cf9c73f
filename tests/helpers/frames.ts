import { execFileSync } from 'node:child_process';
import { resolveAsset } from '../../core/assets.js';
import type { Frame } from '../../core/types.js';

/** Frame `index` of the real Oxford street video as an rgb24 Frame of the given size, decoded by ffmpeg. */
export function oxfordFrame(width = 640, height = 360, index = 0, cameraId = 'oxford'): Frame {
  const data = execFileSync(
    'ffmpeg',
    ['-v', 'error', '-i', resolveAsset('oxford_towncentre_pedestrians.mp4'), '-vf', `select=eq(n\\,${index}),scale=${width}:${height}`, '-frames:v', '1', '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-'],
    { maxBuffer: 1 << 26 },
  );
  return { cameraId, seq: index, ptsSec: index / 25, wallMs: index * 40, width, height, format: 'rgb24', data };
}
