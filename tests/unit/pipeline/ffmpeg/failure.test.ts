import { describe, expect, it } from 'vitest';
import { classifyFfmpegFailure, parseInputVideoCodec } from '../../../../pipeline/ffmpeg/failure.js';

const ctx = (sourceKind: 'rtsp' | 'file', lines: string[]) => ({ cameraId: 'cam-1', sourceKind, input: 'x', code: 1, signal: null, stderrTail: lines });

describe('classifyFfmpegFailure', () => {
  it.each([
    ['rtsp', 'Connection to tcp://127.0.0.1:8554?timeout=0 failed: Connection refused', 'SOURCE_UNREACHABLE', true],
    ['rtsp', '[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized', 'SOURCE_AUTH_FAILED', true],
    ['rtsp', '[rtsp @ 0x1] method DESCRIBE failed: 404 Not Found', 'SOURCE_NOT_FOUND', true],
    ['file', '/x/y.mp4: No such file or directory', 'SOURCE_NOT_FOUND', false],
    ['file', '[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1] moov atom not found', 'SOURCE_CORRUPT', false],
    ['file', "Stream map '0:v:0' matches no streams.", 'SOURCE_NO_VIDEO', false],
    ['rtsp', 'something else entirely', 'DECODER_FAILED', true],
    ['file', 'something else entirely', 'DECODER_FAILED', false],
  ] as const)('%s: %s → %s', (kind, line, code, retriable) => {
    const e = classifyFfmpegFailure(ctx(kind, ['Input #0', line]));
    expect(e.code).toBe(code);
    expect(e.retriable).toBe(retriable);
    expect(e.message).toContain("camera 'cam-1'");
  });

  it('finds the input codec', () => {
    expect(parseInputVideoCodec('  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p')).toBe('h264');
    expect(parseInputVideoCodec('  Stream #0:0: Video: ffv1, yuv420p')).toBe('ffv1');
    expect(parseInputVideoCodec('  Stream #0:1(und): Audio: aac')).toBeUndefined();
  });
});
