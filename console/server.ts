import Fastify, { type FastifyInstance } from 'fastify';
import type { Metrics } from '../core/metrics.js';
import type { IncidentStore } from '../dispatcher/incidents/store.js';
import type { CameraStatus } from '../pipeline/camera.js';

export interface HttpServerOptions {
  host: string;
  port: number;
  metrics: Metrics;
  /** Live camera status for /healthz and /api/cameras. */
  cameras: () => CameraStatus[];
  /** Detector hosts' status for /api/detectors. */
  detectors?: () => unknown[];
  /** The incident store: /api/incidents (with each one's ticket) and /api/false-positives. */
  incidents?: Pick<IncidentStore, 'list' | 'ticket' | 'falsePositives'>;
}

/**
 * The process's HTTP endpoint: /metrics (Prometheus), /healthz, /api/cameras, /api/detectors, /api/incidents
 * and /api/false-positives. The command-room console (issue 6) grows on this same server.
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
  // Without brokers the tickets stay here (embedded mode): the command room reads them from this store.
  app.get<{ Querystring: { state?: string; limit?: string } }>('/api/incidents', async (req, reply) => {
    if (!opts.incidents) return reply.code(404).send({ error: 'this process keeps no incidents' });
    const states = req.query.state ? req.query.state.split(',') : undefined;
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 100) || 100));
    return opts.incidents.list({ ...(states ? { states } : {}), limit }).map((i) => ({ ...i, ticket: opts.incidents!.ticket(i.id)?.ticket ?? null }));
  });
  app.get('/api/false-positives', async (_req, reply) => (opts.incidents ? opts.incidents.falsePositives() : reply.code(404).send({ error: 'this process keeps no incidents' })));
  const address = await app.listen({ host: opts.host, port: opts.port });
  let closed: Promise<void> | undefined;
  return { app, url: address, stop: () => (closed ??= app.close()) };
}
