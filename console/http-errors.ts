import { STATUS_CODES } from 'node:http';
import { isStreetwatchError, type ErrorCode } from '../core/errors.js';

/**
 * The console API's one error shape, `{ error: <stable code>, message }`, for every refusal: the API's own
 * errors, and what fastify and node's HTTP parser refuse before a route runs (a body too large, bad JSON, a
 * URL too long, a request that is not HTTP). Clients match on `error`; fastify's own `{ statusCode, error:
 * 'Bad Request' }` would give them nothing stable to match.
 */

/** Largest request body (fastify's bodyLimit): the API's bodies are a note or a status, a few hundred bytes. */
export const BODY_LIMIT_BYTES = 1024 * 1024;
/** Longest path part (fastify's maxParamLength): ids, revisions and file names are far shorter. */
export const MAX_PARAM_LENGTH = 128;

export const STATUS: Partial<Record<ErrorCode, number>> = {
  CONSOLE_UNAUTHORIZED: 401,
  CONSOLE_FORBIDDEN: 403,
  CONSOLE_ORIGIN_FORBIDDEN: 403,
  CONSOLE_NOT_FOUND: 404,
  CONSOLE_BAD_REQUEST: 400,
  CONSOLE_REQUEST_TIMEOUT: 408,
  CONSOLE_CONFLICT: 409,
  CONSOLE_PAYLOAD_TOO_LARGE: 413,
  CONSOLE_URI_TOO_LONG: 414,
  CONSOLE_UNSUPPORTED_MEDIA_TYPE: 415,
  CONSOLE_RATE_LIMITED: 429,
  CONSOLE_HEADERS_TOO_LARGE: 431,
  CONSOLE_UNAVAILABLE: 503,
  TICKET_INVALID: 409,
};

export interface ApiError {
  status: number;
  body: { error: ErrorCode; message: string };
  headers: Record<string, string>;
}

const api = (error: ErrorCode, message: string, status = STATUS[error] ?? 500, headers: Record<string, string> = {}): ApiError => ({ status, body: { error, message }, headers });

/** fastify's own errors, by their code: what to tell the client instead of fastify's wording. */
const FRAMEWORK: Record<string, () => ApiError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => api('CONSOLE_PAYLOAD_TOO_LARGE', `the request body is larger than ${BODY_LIMIT_BYTES / 1024 / 1024} MiB; the API's bodies are small JSON objects (console/API.md)`),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => api('CONSOLE_UNSUPPORTED_MEDIA_TYPE', 'send the body as JSON, with content-type: application/json'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => api('CONSOLE_BAD_REQUEST', 'the body is not valid JSON; send a JSON object such as {"note": "…"}'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => api('CONSOLE_BAD_REQUEST', 'the body is empty but content-type says application/json; send {} or no content-type'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => api('CONSOLE_BAD_REQUEST', 'the body is not as long as its Content-Length says'),
  FST_ERR_BAD_URL: () => api('CONSOLE_BAD_REQUEST', 'the URL has a malformed percent-encoding (% must be followed by two hex digits)'),
  FST_ERR_MAX_PARAM_LENGTH: () => api('CONSOLE_URI_TOO_LONG', `a part of the URL path is longer than ${MAX_PARAM_LENGTH} characters; the API's ids and file names are shorter, check the link`),
};

/** Other refusals by status (fastify's 404, @fastify/static's 403 and 416…). */
const BY_STATUS: Partial<Record<number, ErrorCode>> = {
  401: 'CONSOLE_UNAUTHORIZED',
  403: 'CONSOLE_FORBIDDEN',
  404: 'CONSOLE_NOT_FOUND',
  408: 'CONSOLE_REQUEST_TIMEOUT',
  413: 'CONSOLE_PAYLOAD_TOO_LARGE',
  414: 'CONSOLE_URI_TOO_LONG',
  415: 'CONSOLE_UNSUPPORTED_MEDIA_TYPE',
  429: 'CONSOLE_RATE_LIMITED',
  431: 'CONSOLE_HEADERS_TOO_LARGE',
};

/**
 * The answer to anything a route or fastify threw; undefined for a failure of ours (5xx: logged, and answered
 * as INTERNAL without its text). `retryAfterSec` in a StreetwatchError's details becomes Retry-After.
 */
export function apiError(err: unknown): ApiError | undefined {
  if (isStreetwatchError(err)) {
    const status = STATUS[err.code];
    if (!status) return undefined;
    const retry = err.details.retryAfterSec;
    return api(err.code, err.message, status, typeof retry === 'number' ? { 'retry-after': String(retry) } : {});
  }
  const e = err as { code?: unknown; statusCode?: unknown; message?: unknown };
  const framework = typeof e.code === 'string' ? FRAMEWORK[e.code] : undefined;
  if (framework) return framework();
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return api(BY_STATUS[e.statusCode] ?? 'CONSOLE_BAD_REQUEST', typeof e.message === 'string' && e.message ? e.message : (STATUS_CODES[e.statusCode] ?? 'bad request'), e.statusCode);
  }
  return undefined;
}

/**
 * The raw HTTP response for a request node's parser refused (fastify's clientErrorHandler), or undefined when
 * there is no one to answer (the client is gone). Node reports a URL too long as a header overflow: the
 * request line counts toward the header limit, so a packet whose first line is a long request line is 414.
 */
export function clientErrorResponse(err: { code?: string; rawPacket?: unknown }): string | undefined {
  if (err.code === 'ECONNRESET') return undefined;
  let e: ApiError;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    e = api('CONSOLE_REQUEST_TIMEOUT', 'the request did not arrive completely in time');
  } else if (err.code === 'HPE_HEADER_OVERFLOW') {
    const head = Buffer.isBuffer(err.rawPacket) ? err.rawPacket.subarray(0, 4096).toString('latin1') : '';
    const firstLine = head.split('\r\n', 1)[0]!;
    e =
      /^[A-Z]{3,10} \S/.test(firstLine) && !head.includes('\r\n')
        ? api('CONSOLE_URI_TOO_LONG', 'the URL is longer than the server takes (URL and headers together at most 16 KiB); shorten the query')
        : api('CONSOLE_HEADERS_TOO_LARGE', 'the request headers are larger than the server takes (at most 16 KiB with the URL)');
  } else {
    e = api('CONSOLE_BAD_REQUEST', 'the request is not valid HTTP/1.1');
  }
  const body = JSON.stringify(e.body);
  return [
    `HTTP/1.1 ${e.status} ${STATUS_CODES[e.status]}`,
    'content-type: application/json; charset=utf-8',
    `content-length: ${Buffer.byteLength(body)}`,
    'cache-control: private, no-store',
    'x-content-type-options: nosniff',
    'connection: close',
    '',
    body,
  ].join('\r\n');
}
