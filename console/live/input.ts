import type { ResolvedCamera } from '../../config/schema.js';
import { resolveConfigPath } from '../../core/assets.js';
import { StreetwatchError, isStreetwatchError } from '../../core/errors.js';
import { redact } from '../../core/redact.js';
import { sourceInputOptions } from '../../pipeline/ffmpeg/args.js';

/** ffmpeg's input side of a live stream: global flags and everything up to and including `-i <target>`. */
export interface LiveInput {
  args: string[];
  /** The input for logs and messages, credentials removed. */
  label: string;
  kind: 'rtsp' | 'file';
}

/**
 * Maps a camera to ffmpeg input options for the live view. Pure apart from looking up `asset:` names: no
 * process, no probe, so it is cheap enough to call on every viewer and to unit-test flag by flag.
 *
 * A vehicle camera is viewed through its `video` source (its telemetry is of no use to a picture). A file is
 * always looped and paced (`-re`), whatever the camera's own `loop`/`realtime` say: those describe how the
 * pipeline analyses it, while a viewer expects a picture that runs at its own speed and never ends.
 */
export function liveInput(camera: ResolvedCamera, baseDir: string): LiveInput {
  const src = camera.source;
  const video = src.kind === 'vehicle' ? src.video : src;
  if (video.kind === 'rtsp') {
    // the socket timeout turns a dead or hung camera into an exit the stream restarts on
    return { kind: 'rtsp', args: [...sourceInputOptions({ kind: 'rtsp', url: video.url, transport: video.transport, timeoutSec: video.timeoutSec }), '-i', video.url], label: redact(video.url) };
  }
  let path: string;
  try {
    path = resolveConfigPath(video.path, baseDir);
  } catch (e) {
    if (!isStreetwatchError(e)) throw e;
    throw new StreetwatchError('SOURCE_NOT_FOUND', `camera '${camera.id}': live view: video ${e.message}`, {
      cause: e,
      details: { camera: camera.id },
    });
  }
  return { kind: 'file', args: [...sourceInputOptions({ kind: 'file', path, loop: true, realtime: true }), '-i', path], label: path };
}
