import type {} from '@fastify/websocket'; // its declarations add `websocket: true` to fastify's route options
import type { FastifyInstance, preValidationAsyncHookHandler } from 'fastify';
import type { LiveHub } from './hub.js';

/**
 * `GET /api/live/:camera` (WebSocket): MPEG-1 in MPEG-TS for JSMpeg, see console/API.md. The caller registers
 * @fastify/websocket first and passes its access check as `preValidation`: it runs before the upgrade, so a
 * refused client gets a plain HTTP 401/403 and no socket is ever opened for it (browsers send the token as
 * `?token=`).
 */
export function registerLiveRoute(app: FastifyInstance, hub: LiveHub, preValidation: preValidationAsyncHookHandler): void {
  app.get<{ Params: { camera: string } }>('/api/live/:camera', { websocket: true, preValidation }, (socket, req) => {
    hub.attach(req.params.camera, socket);
  });
}
