import { existsSync, statSync } from 'node:fs';
import type { ResolvedCamera, TelemetryConfig } from '../../config/schema.js';
import { resolveConfigPath } from '../../core/assets.js';
import { StreetwatchError, isStreetwatchError } from '../../core/errors.js';
import { redact } from '../../core/redact.js';
import type { InputSpec } from '../ffmpeg/args.js';

/**
 * What the camera runner needs to know about a camera's source, whatever its kind:
 *   rtsp     a fixed street camera (live)
 *   file     a recorded video (optionally looped, optionally paced at its own rate)
 *   vehicle  a patrol vehicle: an RTSP or file video plus a GPS telemetry sidecar
 */
export interface CameraSource {
  kind: 'rtsp' | 'file' | 'vehicle';
  input: InputSpec;
  /** Live sources are timestamped on arrival; others from their configured start (see FrameClock). */
  live: boolean;
  /** Safe to print: credentials removed. */
  display: string;
  telemetry?: TelemetryConfig & { resolvedPath: string };
}

/**
 * Builds the source of a camera, resolving paths (`asset:` names and paths relative to the config file).
 * A file that does not exist is an error here, naming the camera and what to do.
 */
export function buildSource(cam: ResolvedCamera, baseDir: string): CameraSource {
  const src = cam.source;
  const video = src.kind === 'vehicle' ? src.video : src;
  let input: InputSpec;
  if (video.kind === 'rtsp') {
    input = { kind: 'rtsp', url: video.url, transport: video.transport, timeoutSec: video.timeoutSec };
  } else {
    const path = resolvePath(cam.id, 'video', video.path, baseDir);
    input = { kind: 'file', path, loop: video.loop, realtime: video.realtime };
  }
  const live = input.kind === 'rtsp' || input.realtime;
  const display = redact(input.kind === 'rtsp' ? input.url : input.path);
  if (src.kind !== 'vehicle') return { kind: src.kind, input, live, display };
  const resolvedPath = resolvePath(cam.id, 'telemetry', src.telemetry.path, baseDir, false);
  return { kind: 'vehicle', input, live, display, telemetry: { ...src.telemetry, resolvedPath } };
}

function resolvePath(cameraId: string, what: string, p: string, baseDir: string, mustExist = true): string {
  let resolved: string;
  try {
    resolved = resolveConfigPath(p, baseDir);
  } catch (e) {
    if (isStreetwatchError(e)) {
      throw new StreetwatchError('SOURCE_NOT_FOUND', `camera '${cameraId}': ${what} ${e.message}`, { cause: e, details: { camera: cameraId } });
    }
    throw e;
  }
  if (mustExist && !existsSync(resolved)) {
    throw new StreetwatchError(
      'SOURCE_NOT_FOUND',
      `camera '${cameraId}': ${what} file '${resolved}' does not exist (from '${p}'; relative paths are relative to the config file). Fix the path or use asset:<name>.`,
      { details: { camera: cameraId, path: resolved } },
    );
  }
  if (mustExist && statSync(resolved).isDirectory()) {
    throw new StreetwatchError('SOURCE_NOT_FOUND', `camera '${cameraId}': ${what} path '${resolved}' is a folder, not a video file.`, {
      details: { camera: cameraId, path: resolved },
    });
  }
  return resolved;
}
