import { describe, expect, it } from 'vitest';
import { StreetwatchError } from '../../../core/errors.js';
import { apiError, clientErrorResponse } from '../../../console/http-errors.js';

describe('apiError: one shape for every refusal', () => {
  it.each<[string, unknown, number | undefined, string | undefined]>([
    ['a console error', new StreetwatchError('CONSOLE_CONFLICT', 'already closed'), 409, 'CONSOLE_CONFLICT'],
    ['a code the console does not answer with', new StreetwatchError('STORE_FAILED', 'disk'), undefined, undefined],
    ["fastify's body limit", Object.assign(new RangeError('Request body is too large'), { code: 'FST_ERR_CTP_BODY_TOO_LARGE', statusCode: 413 }), 413, 'CONSOLE_PAYLOAD_TOO_LARGE'],
    ["fastify's bad JSON", Object.assign(new Error('x'), { code: 'FST_ERR_CTP_INVALID_JSON_BODY', statusCode: 400 }), 400, 'CONSOLE_BAD_REQUEST'],
    ['a 416 from sendFile', Object.assign(new Error('Range Not Satisfiable'), { statusCode: 416 }), 416, 'CONSOLE_BAD_REQUEST'],
    ['a 403 from @fastify/static', Object.assign(new Error('Forbidden'), { statusCode: 403 }), 403, 'CONSOLE_FORBIDDEN'],
    ['a plain error', new Error('boom'), undefined, undefined],
    ['a 5xx from a plugin', Object.assign(new Error('boom'), { statusCode: 500 }), undefined, undefined],
  ])('%s', (_n, err, status, code) => {
    const e = apiError(err);
    expect(e?.status).toBe(status);
    expect(e?.body.error).toBe(code);
  });

  it('turns retryAfterSec into Retry-After', () => {
    expect(apiError(new StreetwatchError('CONSOLE_RATE_LIMITED', 'wait', { details: { retryAfterSec: 42 } }))).toEqual({ status: 429, body: { error: 'CONSOLE_RATE_LIMITED', message: 'wait' }, headers: { 'retry-after': '42' } });
  });
});

describe('clientErrorResponse: what node refused, in the same shape', () => {
  const status = (s: string | undefined) => Number(/^HTTP\/1\.1 (\d{3})/.exec(s ?? '')?.[1]);
  const body = (s: string | undefined) => JSON.parse((s ?? '').split('\r\n\r\n')[1]!) as { error: string };

  it.each<[string, { code?: string; rawPacket?: unknown }, number, string]>([
    ['a request line past the header limit', { code: 'HPE_HEADER_OVERFLOW', rawPacket: Buffer.from(`GET /api/incidents?x=${'a'.repeat(5000)}`) }, 414, 'CONSOLE_URI_TOO_LONG'],
    ['headers past the limit', { code: 'HPE_HEADER_OVERFLOW', rawPacket: Buffer.from(`GET / HTTP/1.1\r\nX: ${'a'.repeat(5000)}`) }, 431, 'CONSOLE_HEADERS_TOO_LARGE'],
    ['an overflow without the packet', { code: 'HPE_HEADER_OVERFLOW' }, 431, 'CONSOLE_HEADERS_TOO_LARGE'],
    ['a slow request', { code: 'ERR_HTTP_REQUEST_TIMEOUT' }, 408, 'CONSOLE_REQUEST_TIMEOUT'],
    ['garbage', { code: 'HPE_INVALID_METHOD', rawPacket: Buffer.from('NOT HTTP\r\n') }, 400, 'CONSOLE_BAD_REQUEST'],
  ])('%s', (_n, err, want, code) => {
    const r = clientErrorResponse(err);
    expect(status(r)).toBe(want);
    expect(body(r).error).toBe(code);
    expect(r).toMatch(/\r\nconnection: close\r\n/);
  });

  it('answers nobody whose connection is gone', () => {
    expect(clientErrorResponse({ code: 'ECONNRESET' })).toBeUndefined();
  });
});
