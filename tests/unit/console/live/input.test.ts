import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { liveInput } from '../../../../console/live/input.js';
import { liveOutputArgs, mpeg1Fps, outputSizeParser, streamHeader } from '../../../../console/live/stream.js';
import { StreetwatchError } from '../../../../core/errors.js';
import { PROJECT_ROOT } from '../../../../core/paths.js';
import { SOURCE_CLIP } from '../../../helpers/media.js';
import { testCamera } from '../../../helpers/factories.js';

const telemetry = { format: 'auto' as const, path: 'track.nmea', maxGapSec: 5 };

describe('liveInput', () => {
  it('RTSP: the configured transport, a socket timeout in µs, the URL; credentials not in the label', () => {
    const cam = testCamera({ id: 'c1', source: { kind: 'rtsp', url: 'rtsp://admin:hunter2@10.0.0.5:554/h264', transport: 'tcp', timeoutSec: 5 } });
    const input = liveInput(cam, '/cfg');
    expect(input.args).toEqual(['-hide_banner', '-nostats', '-loglevel', 'info', '-rtsp_transport', 'tcp', '-timeout', '5000000', '-i', 'rtsp://admin:hunter2@10.0.0.5:554/h264']);
    expect(input.kind).toBe('rtsp');
    expect(input.label).not.toContain('hunter2');
    expect(input.label).toContain('10.0.0.5:554/h264');
  });

  it("RTSP over UDP when the camera says so, and a fractional timeout", () => {
    const cam = testCamera({ id: 'c2', source: { kind: 'rtsp', url: 'rtsp://cam/stream', transport: 'udp', timeoutSec: 2.5 } });
    expect(liveInput(cam, '/cfg').args).toEqual(['-hide_banner', '-nostats', '-loglevel', 'info', '-rtsp_transport', 'udp', '-timeout', '2500000', '-i', 'rtsp://cam/stream']);
  });

  it('file: paced and looped forever whatever the camera says, path relative to the config folder', () => {
    const cam = testCamera({ id: 'f1', source: { kind: 'file', path: 'videos/a.mp4', loop: false, realtime: false } });
    const input = liveInput(cam, '/etc/streetwatch');
    expect(input.args).toEqual(['-hide_banner', '-nostats', '-loglevel', 'info', '-stream_loop', '-1', '-re', '-i', '/etc/streetwatch/videos/a.mp4']);
    expect(input.kind).toBe('file');
    expect(input.label).toBe('/etc/streetwatch/videos/a.mp4');
  });

  it('file: an absolute path is kept', () => {
    const cam = testCamera({ id: 'f2', source: { kind: 'file', path: '/data/b.mp4', loop: true, realtime: true } });
    expect(liveInput(cam, '/etc/streetwatch').args.at(-1)).toBe('/data/b.mp4');
  });

  it('file: asset: names go through the asset resolver (the real clip in ../shared/media)', () => {
    const cam = testCamera({ id: 'f3', source: { kind: 'file', path: `asset:${SOURCE_CLIP}`, loop: true, realtime: true } });
    expect(liveInput(cam, '/nowhere').args.at(-1)).toBe(resolve(PROJECT_ROOT, '../shared/media', SOURCE_CLIP));
  });

  it('file: an asset that is not installed is SOURCE_NOT_FOUND naming the camera', () => {
    const cam = testCamera({ id: 'f4', source: { kind: 'file', path: 'asset:no-such-clip.mp4', loop: true, realtime: true } });
    let err: unknown;
    try {
      liveInput(cam, '/cfg');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StreetwatchError);
    expect((err as StreetwatchError).code).toBe('SOURCE_NOT_FOUND');
    expect((err as StreetwatchError).message).toContain("camera 'f4'");
    expect((err as StreetwatchError).message).toContain('no-such-clip.mp4');
  });

  it('vehicle: its video source (RTSP or file), never the telemetry', () => {
    const rtsp = testCamera({
      id: 'v1',
      source: { kind: 'vehicle', video: { kind: 'rtsp', url: 'rtsp://bus-12/main', transport: 'tcp', timeoutSec: 3 }, telemetry },
    });
    expect(liveInput(rtsp, '/cfg').args).toEqual(['-hide_banner', '-nostats', '-loglevel', 'info', '-rtsp_transport', 'tcp', '-timeout', '3000000', '-i', 'rtsp://bus-12/main']);
    const file = testCamera({
      id: 'v2',
      source: { kind: 'vehicle', video: { kind: 'file', path: 'rec/bus.mp4', loop: false, realtime: false }, telemetry },
    });
    const args = liveInput(file, '/cfg').args;
    expect(args).toEqual(['-hide_banner', '-nostats', '-loglevel', 'info', '-stream_loop', '-1', '-re', '-i', '/cfg/rec/bus.mp4']);
    expect(args.join(' ')).not.toContain('nmea');
  });
});

describe('live output', () => {
  it('scaled to the configured width (even height), fps, bitrate, no B-frames, MPEG-1 in MPEG-TS on stdout, no audio', () => {
    const args = liveOutputArgs({ width: 640, fps: 25, bitrateKbps: 800 });
    expect(args).toEqual(['-map', '0:v:0', '-vf', 'scale=640:-2', '-r', '25', '-b:v', '800k', '-bf', '0', '-codec:v', 'mpeg1video', '-an', '-f', 'mpegts', '-']);
  });

  it('MPEG-1 frame rates: 5/10/12/15 need -strict unofficial; others go down to the next rate MPEG-1 has', () => {
    expect(liveOutputArgs({ width: 640, fps: 15, bitrateKbps: 800 })).toEqual(expect.arrayContaining(['-r', '15', '-strict', 'unofficial']));
    expect(liveOutputArgs({ width: 640, fps: 30, bitrateKbps: 800 })).not.toContain('-strict');
    expect([1, 4, 5, 6, 9, 10, 11, 12, 14, 15, 20, 23, 24, 25, 29, 30].map(mpeg1Fps)).toEqual([5, 5, 5, 5, 5, 10, 10, 12, 12, 15, 15, 15, 24, 25, 25, 30]);
  });

  it("the picture size comes from ffmpeg's output stream line, not the input's", () => {
    const parse = outputSizeParser();
    const lines = [
      "Input #0, rtsp, from 'rtsp://127.0.0.1:8554/cam':",
      '  Stream #0:0: Video: h264 (High), yuv420p(progressive), 1920x1080 [SAR 1:1 DAR 16:9], 25 fps, 25 tbr, 90k tbn',
      'Stream mapping:',
      "Output #0, mpegts, to 'pipe:':",
      '  Stream #0:0: Video: mpeg1video, yuv420p(tv, progressive), 640x360 [SAR 1:1 DAR 16:9], q=2-31, 800 kb/s, 15 fps, 90k tbn',
    ];
    expect(lines.map(parse).filter(Boolean)).toEqual([{ width: 640, height: 360 }]);
  });

  it('the stream header: jsmp + width + height (uint16 big-endian)', () => {
    const h = streamHeader(640, 360);
    expect(h.length).toBe(8);
    expect(h.subarray(0, 4).toString('ascii')).toBe('jsmp');
    expect(h.readUInt16BE(4)).toBe(640);
    expect(h.readUInt16BE(6)).toBe(360);
  });
});
