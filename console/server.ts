import Fastify, { type FastifyInstance } from 'fastify';
import type { Metrics } from '../core/metrics.js';
import type { CameraStatus } from '../pipeline/camera.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  metrics: Metrics;
  /** Live camera status for /healthz and /api/cameras. */
  cameras: () => CameraStatus[];
  /** Detector hosts' status for /api/detectors. */
  detectors?: () => unknown[];
}

/**
 * The process's HTTP endpoint: /metrics (Prometheus), /healthz and /api/cameras. The command-room console
 * (issue 6) grows on this same server.
 */
export async function startHttpServer(opts: HttpServerOptions): Promise<{ app: FastifyInstance; url: string; stop: () => Promise<void> }> {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', opts.metrics.registry.contentType);
    return opts.metrics.registry.metrics();
  });
  app.get('/healthz', async () => {
    const cams = opts.cameras();
    const count = (s: CameraStatus['state']) => cams.filter((c) => c.state === s).length;
    return { ok: true, cameras: { total: cams.length, up: count('up'), down: count('down'), failed: count('failed'), starting: count('starting'), ended: count('ended') } };
  });
  app.get('/api/cameras', async () => opts.cameras());
  app.get('/api/detectors', async () => opts.detectors?.() ?? []);
  const address = await app.listen({ host: opts.host, port: opts.port });
  let closed: Promise<void> | undefined;
  return { app, url: address, stop: () => (closed ??= app.close()) };
}
