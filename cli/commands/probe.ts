import { parseArgs } from 'node:util';
import { StreetwatchError, isStreetwatchError } from '../../core/errors.js';
import { DEFAULT_PROBE_SECONDS, DEFAULT_PROBE_TIMEOUT_SEC, probeSource, type ProbeResult } from '../../pipeline/probe.js';

export const summary = 'show codec, resolution, fps and measured GOP of a camera URL or file, and whether keyframe sampling suits it';

const USAGE = `usage: streetwatch probe <rtsp-url-or-file> [--seconds N] [--json] [--rtsp-transport tcp|udp] [--timeout S]

Reads stream info and the first N seconds of video packets (no decoding) to measure the keyframe interval.

  --seconds N               window for the GOP measurement, stream time (default ${DEFAULT_PROBE_SECONDS})
  --json                    print the result as JSON
  --rtsp-transport tcp|udp  RTSP transport (default tcp)
  --timeout S               network I/O timeout in seconds (default ${DEFAULT_PROBE_TIMEOUT_SEC})`;

export async function run(argv: string[]): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (e) {
    throw new StreetwatchError('USAGE', `${(e as Error).message}\n${USAGE}`);
  }
  const { values, positionals } = parsed;
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (positionals.length !== 1) throw new StreetwatchError('USAGE', `give exactly one camera URL or file\n${USAGE}`);
  const transport = values['rtsp-transport'] ?? 'tcp';
  if (transport !== 'tcp' && transport !== 'udp') throw new StreetwatchError('USAGE', `--rtsp-transport must be tcp or udp, got '${transport}'`);

  try {
    const result = await probeSource(positionals[0]!, {
      seconds: positiveNumber('--seconds', values.seconds),
      timeoutSec: positiveNumber('--timeout', values.timeout),
      rtspTransport: transport,
    });
    process.stdout.write(values.json ? JSON.stringify(result, null, 2) + '\n' : formatProbe(result) + '\n');
    return 0;
  } catch (e) {
    // Scripts reading --json get a parseable error too; the human line still goes to stderr via cli/main.
    if (values.json && isStreetwatchError(e)) process.stdout.write(JSON.stringify({ error: e.toJSON() }, null, 2) + '\n');
    throw e;
  }
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      seconds: { type: 'string' },
      json: { type: 'boolean' },
      'rtsp-transport': { type: 'string' },
      timeout: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    allowPositionals: true,
  });
}

function positiveNumber(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new StreetwatchError('USAGE', `${flag} wants a positive number, got '${v}'`);
  return n;
}

export function formatProbe(r: ProbeResult): string {
  const rows: Array<[string, string]> = [
    ['input', r.input],
    ['codec', r.profile ? `${r.codec} (${r.profile})` : r.codec],
    ['resolution', `${r.width}x${r.height}`],
    ['fps', String(r.fps)],
  ];
  if (r.bitrate !== undefined) rows.push(['bitrate', `${(r.bitrate / 1e6).toFixed(2)} Mbit/s`]);
  if (r.durationSec !== undefined) rows.push(['duration', `${r.durationSec} s`]);
  rows.push([
    'GOP (measured)',
    r.gop
      ? `${r.gop.frames} frames / ${r.gop.seconds} s (min ${r.gop.min}, max ${r.gop.max} frames; ${r.gop.sampledKeyframes} keyframes sampled)`
      : 'not measurable (fewer than 2 keyframes in the window)',
  ]);
  rows.push(['keyframe sampling', `${r.keyframeSampling.suitable ? 'suitable' : 'NOT suitable'}: ${r.keyframeSampling.reason}`]);
  const rec = r.keyframeSampling.recommended;
  rows.push(['recommended', rec.mode === 'fps' ? `sampling: {mode: fps, fps: ${rec.fps}}` : 'sampling: {mode: keyframes}']);
  return rows.map(([k, v]) => `${(k + ':').padEnd(19)}${v}`).join('\n');
}
