import { ErrorCodes, StreetwatchError, type ErrorCode } from '../../core/errors.js';

/**
 * Turns the end of an ffmpeg run (its exit and the last stderr lines) into a coded error that names the camera
 * and says what to do. ffmpeg's own words are kept (redacted) as the cause so nothing is lost.
 */
interface Rule {
  test: RegExp;
  code: ErrorCode;
  what: string;
  todo: string;
  /** Whether a retry can help; for files most failures are final, for live cameras almost none are. */
  retriable: { rtsp: boolean; file: boolean };
}

const RULES: Rule[] = [
  { test: /401 Unauthorized|Server returned 401/i, code: ErrorCodes.SOURCE_AUTH_FAILED, what: 'the camera refused the credentials (401)', todo: 'check the user and password in the camera URL', retriable: { rtsp: true, file: false } },
  { test: /404 Not Found|Server returned 404/i, code: ErrorCodes.SOURCE_NOT_FOUND, what: 'the camera has no stream at that path (404)', todo: 'check the stream path in the camera URL', retriable: { rtsp: true, file: false } },
  { test: /No such file or directory/i, code: ErrorCodes.SOURCE_NOT_FOUND, what: 'the file does not exist', todo: 'check the path (relative paths are relative to the config file)', retriable: { rtsp: true, file: false } },
  { test: /Connection refused|Connection timed out|No route to host|Network is unreachable|Name or service not known|Temporary failure in name resolution|Connection reset/i, code: ErrorCodes.SOURCE_UNREACHABLE, what: 'the camera cannot be reached', todo: 'check that the camera is powered and on the network; retrying with backoff', retriable: { rtsp: true, file: true } },
  { test: /Decoder \(codec [^)]*\) not found|Unsupported codec|unknown codec|Could not find codec parameters/i, code: ErrorCodes.SOURCE_UNSUPPORTED_CODEC, what: 'the video codec cannot be decoded', todo: 'configure the camera for H.264 or H.265', retriable: { rtsp: false, file: false } },
  { test: /Stream map '0:v:0' matches no streams|does not contain any stream|matches no streams/i, code: ErrorCodes.SOURCE_NO_VIDEO, what: 'the input has no video stream', todo: 'point the camera at a video source', retriable: { rtsp: false, file: false } },
  { test: /moov atom not found|Invalid data found when processing input|invalid frame|Truncating packet|error reading header|partial file/i, code: ErrorCodes.SOURCE_CORRUPT, what: 'the input is corrupt or truncated', todo: 'replace the file, or check the camera stream', retriable: { rtsp: true, file: false } },
];

export interface FailureContext {
  cameraId: string;
  sourceKind: 'rtsp' | 'file';
  /** Redacted input name for the message. */
  input: string;
  code: number | null;
  signal: string | null;
  stderrTail: string[];
}

export function classifyFfmpegFailure(ctx: FailureContext): StreetwatchError {
  const text = ctx.stderrTail.join('\n');
  const rule = RULES.find((r) => r.test.test(text));
  const last = lastMeaningfulLine(ctx.stderrTail);
  const exit = ctx.signal ? `signal ${ctx.signal}` : `exit code ${ctx.code}`;
  if (rule) {
    return new StreetwatchError(
      rule.code,
      `camera '${ctx.cameraId}' (${ctx.input}): ${rule.what} — ${rule.todo}. ffmpeg said: ${last}`,
      { retriable: rule.retriable[ctx.sourceKind], details: { camera: ctx.cameraId, ffmpeg: last, exit } },
    );
  }
  return new StreetwatchError(
    ErrorCodes.DECODER_FAILED,
    `camera '${ctx.cameraId}' (${ctx.input}): ffmpeg ended (${exit}). ffmpeg said: ${last}`,
    { retriable: ctx.sourceKind === 'rtsp', details: { camera: ctx.cameraId, ffmpeg: last, exit } },
  );
}

function lastMeaningfulLine(lines: string[]): string {
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i]!.trim();
    if (l && !/^(frame=|video:|Press \[q\]|Exiting normally|\s*$)/.test(l) && /error|fail|invalid|refused|not found|unauthori|no such|unsupported|timed out|matches no/i.test(l)) return l;
  }
  return lines.filter((l) => l.trim()).slice(-1)[0]?.trim() ?? '(nothing)';
}

/** Codecs the evidence ring can stream-copy into MPEG-TS (what IP cameras send). */
export const RING_CODECS = new Set(['h264', 'hevc', 'mpeg4', 'mpeg2video']);

/** Finds the input's video codec in ffmpeg's stream listing line (`Stream #0:0…: Video: h264 …`). */
export function parseInputVideoCodec(line: string): string | undefined {
  const m = /^\s*Stream #0:\d+.*?: Video: ([A-Za-z0-9_]+)/.exec(line);
  return m?.[1];
}
