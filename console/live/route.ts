import type {} from '@fastify/websocket'; // its declarations add `websocket: true` to fastify's route options
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { LiveHub } from './hub.js';

/** What `authorize` may answer: allowed, not allowed (401), or a refusal of its own (403 for a role without live view). */
export type LiveAuthorization = boolean | { status: 401 | 403; error: string; message: string };

/**
 * `GET /api/live/:camera` (WebSocket): MPEG-1 in MPEG-TS for JSMpeg, see console/API.md. The caller registers
 * @fastify/websocket first. Authorization runs in preValidation, before the upgrade, so a refused client gets a
 * plain HTTP 401/403 and no socket is ever opened for it; browsers send the token as `?token=` there.
 */
export function registerLiveRoute(
  app: FastifyInstance,
  hub: LiveHub,
  authorize: (req: FastifyRequest) => Promise<LiveAuthorization> | LiveAuthorization,
): void {
  app.get<{ Params: { camera: string } }>(
    '/api/live/:camera',
    {
      websocket: true,
      preValidation: async (req, reply) => {
        const verdict = await authorize(req);
        if (verdict === true) return;
        const refusal =
          verdict === false
            ? { status: 401 as const, error: 'UNAUTHORIZED', message: 'live view needs a command or admin token: add ?token=<token> to the WebSocket URL' }
            : verdict;
        reply.code(refusal.status).send({ error: refusal.error, message: refusal.message });
        return reply;
      },
    },
    (socket, req) => {
      hub.attach(req.params.camera, socket);
    },
  );
}
