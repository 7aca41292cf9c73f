import type { ResolvedCamera } from '../../config/schema.js';
import type { Logger } from '../../core/log.js';
import type { PositionSource } from '../camera.js';
import type { CameraSource } from './source.js';
import { TelemetryFeed } from './telemetry/feed.js';

/** The position source of a vehicle camera: its telemetry sidecar, read and followed by a TelemetryFeed. */
export function createTelemetryPositionSource(log: Logger) {
  return (cam: ResolvedCamera, source: CameraSource): PositionSource => {
    const t = source.telemetry;
    if (!t) throw new Error(`camera '${cam.id}' has no telemetry`);
    return new TelemetryFeed({ path: t.resolvedPath, format: t.format, cameraId: cam.id, log: log.child({ camera: cam.id }) });
  };
}
