import { describe, expect, it } from 'vitest';
import { DECODER_THREADS, decoderArgs, ENCODER_THREADS, FILTER_THREADS, frameFilter, sharedDecoderArgs, type DecoderArgsSpec } from '../../../../pipeline/ffmpeg/args.js';

const base: DecoderArgsSpec = {
  input: { kind: 'rtsp', url: 'rtsp://u:p@cam/1', transport: 'tcp', timeoutSec: 5 },
  sampling: { mode: 'keyframes', minIntervalSec: 0 },
  frame: { width: 640, height: 360 },
  ring: { enabled: true, segmentSec: 2, keepMinutes: 10, idleKeepSec: 20, dir: '/data/ring/cam-1' },
};

function after(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i >= 0 ? args[i + 1] : undefined;
}

describe('decoderArgs', () => {
  it('rtsp keyframes: tcp, socket timeout in µs, skip_frame before -i, passthrough, ring first then pipe', () => {
    const a = decoderArgs(base);
    const i = a.indexOf('-i');
    expect(a[i + 1]).toBe('rtsp://u:p@cam/1');
    expect(a.slice(0, i)).toEqual(expect.arrayContaining(['-rtsp_transport', 'tcp', '-timeout', '5000000', '-skip_frame', 'nokey']));
    expect(a.indexOf('-skip_frame')).toBeLessThan(i);
    expect(after(a, '-fps_mode')).toBe('passthrough');
    expect(a.at(-1)).toBe('pipe:1');
    expect(a).toContain('/data/ring/cam-1/%Y%m%dT%H%M%S.ts');
    expect(a.indexOf('/data/ring/cam-1/%Y%m%dT%H%M%S.ts')).toBeLessThan(a.indexOf('pipe:1'));
    // the ring is a stream copy: no decoding, no re-encoding
    const ringPart = a.slice(i + 2, a.indexOf('/data/ring/cam-1/%Y%m%dT%H%M%S.ts'));
    expect(after(ringPart, '-c:v')).toBe('copy');
    expect(after(ringPart, '-segment_time')).toBe('2');
  });

  it.each<[string, DecoderArgsSpec]>([
    ['rtsp keyframes', base],
    ['file at 2 fps', { ...base, input: { kind: 'file', path: '/v.mp4', loop: false, realtime: true }, sampling: { mode: 'fps', fps: 2 } }],
  ])('%s: one decoder thread and one filter thread, set before -i', (_what, spec) => {
    const a = decoderArgs(spec);
    const i = a.indexOf('-i');
    expect(a.indexOf('-threads')).toBeLessThan(i);
    expect(after(a, '-threads')).toBe(String(DECODER_THREADS));
    expect(after(a, '-filter_threads')).toBe(String(FILTER_THREADS));
    expect([DECODER_THREADS, FILTER_THREADS]).toEqual([1, 1]);
    // and one thread for the frame output's rawvideo encoder (after -i): a frame-threaded one holds each frame
    // back until the next arrives
    const frameOut = a.slice(a.lastIndexOf('-map'));
    expect(after(frameOut, '-threads')).toBe(String(ENCODER_THREADS));
    expect(ENCODER_THREADS).toBe(1);
  });

  it('keyframes skip the deblocking filter (input option); fps mode keeps it, its frames are references', () => {
    const a = decoderArgs(base);
    expect(after(a, '-skip_loop_filter')).toBe('all');
    expect(a.indexOf('-skip_loop_filter')).toBeLessThan(a.indexOf('-i'));
    expect(decoderArgs({ ...base, sampling: { mode: 'fps', fps: 2 } })).not.toContain('-skip_loop_filter');
  });

  it('a receiver (decode shared) decodes nothing: no skip_frame/scale; ring, then every keyframe as FLV flushed at once', () => {
    const a = decoderArgs({ ...base, decode: 'shared' });
    const i = a.indexOf('-i');
    expect(a).not.toContain('-skip_frame');
    expect(a).not.toContain('-vf');
    expect(after(a, '-threads')).toBe('1');
    const out = a.slice(a.indexOf('/data/ring/cam-1/%Y%m%dT%H%M%S.ts') + 1);
    expect(out).toEqual(['-map', '0:v:0', '-c:v', 'copy', '-an', '-sn', '-dn', '-bsf:v', 'noise=drop=not(key)', '-flush_packets', '1', '-f', 'flv', 'pipe:1']);
    expect(i).toBeLessThan(a.indexOf('-f'));
  });

  it('minIntervalSec when the camera decodes itself: select after decoding (the shared decoders skip before it)', () => {
    expect(frameFilter({ ...base, sampling: { mode: 'keyframes', minIntervalSec: 4 } })).toBe(
      'select=isnan(prev_selected_t)+lt(t-prev_selected_t\\,0)+gte(t-prev_selected_t\\,3.75),scale=640:360:flags=bilinear,format=rgb24,showinfo=checksum=0',
    );
    expect(frameFilter(base)).not.toContain('select');
  });

  it('a shared decoder: FLV on stdin with our timestamps kept, low delay, one thread, raw frames of one size', () => {
    const a = sharedDecoderArgs({ width: 320, height: 180 });
    const i = a.indexOf('-i');
    expect(a[i + 1]).toBe('pipe:0');
    expect(a.slice(0, i)).toEqual(expect.arrayContaining(['-copyts', '-flags', 'low_delay', '-threads', '1', '-skip_loop_filter', 'all']));
    expect(after(a, '-f')).toBe('flv');
    expect(after(a.slice(i), '-threads')).toBe('1'); // the rawvideo encoder: see ENCODER_THREADS
    expect(after(a, '-vf')).toBe('scale=320:180:flags=bilinear,format=rgb24,showinfo=checksum=0');
    expect(a.slice(-7)).toEqual(['-threads', '1', '-flush_packets', '1', '-f', 'rawvideo', 'pipe:1']);
  });

  it('fps mode: fps filter before scale, no skip_frame, no passthrough', () => {
    const spec: DecoderArgsSpec = { ...base, sampling: { mode: 'fps', fps: 0.5 } };
    const a = decoderArgs(spec);
    expect(a).not.toContain('-skip_frame');
    expect(a).not.toContain('-fps_mode');
    expect(frameFilter(spec)).toBe('fps=0.5,scale=640:360:flags=bilinear,format=rgb24,showinfo=checksum=0');
  });

  it('file input: loop and realtime pacing are input options; no ring when disabled', () => {
    const a = decoderArgs({ ...base, input: { kind: 'file', path: '/v.mp4', loop: true, realtime: true }, ring: { ...base.ring!, enabled: false } });
    const i = a.indexOf('-i');
    expect(a.slice(0, i)).toEqual(expect.arrayContaining(['-stream_loop', '-1', '-re']));
    expect(a).not.toContain('-rtsp_transport');
    expect(a).not.toContain('segment');
    expect(after(a, '-pix_fmt')).toBe('rgb24');
  });

  it('index-named ring segments (bench) have no strftime', () => {
    const a = decoderArgs({ ...base, ring: { ...base.ring!, naming: 'index' } });
    expect(a).not.toContain('-strftime');
    expect(a).toContain('/data/ring/cam-1/%06d.ts');
    expect(decoderArgs(base)).toEqual(expect.arrayContaining(['-strftime', '1']));
  });

  it('showinfo is the last filter, so its lines match piped frames one to one', () => {
    expect(frameFilter(base).split(',').at(-1)).toMatch(/^showinfo/);
  });
});
