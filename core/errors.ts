import { redact } from './redact.js';

/**
 * Stable error codes. Scripts, metrics and the console match on these, so never rename one; add new ones.
 * The message says what happened to which thing and what to do; the code says which kind of failure it is.
 */
export const ErrorCodes = {
  CONFIG_NOT_FOUND: 'CONFIG_NOT_FOUND',
  CONFIG_INVALID: 'CONFIG_INVALID',
  ASSET_NOT_FOUND: 'ASSET_NOT_FOUND',
  ASSET_HASH_MISMATCH: 'ASSET_HASH_MISMATCH',
  ASSET_DOWNLOAD_FAILED: 'ASSET_DOWNLOAD_FAILED',
  ASSET_MANIFEST_INVALID: 'ASSET_MANIFEST_INVALID',
  SOURCE_NOT_FOUND: 'SOURCE_NOT_FOUND',
  SOURCE_UNREACHABLE: 'SOURCE_UNREACHABLE',
  SOURCE_AUTH_FAILED: 'SOURCE_AUTH_FAILED',
  SOURCE_CORRUPT: 'SOURCE_CORRUPT',
  SOURCE_NO_VIDEO: 'SOURCE_NO_VIDEO',
  SOURCE_UNSUPPORTED_CODEC: 'SOURCE_UNSUPPORTED_CODEC',
  SOURCE_STALLED: 'SOURCE_STALLED',
  SOURCE_ENDED: 'SOURCE_ENDED',
  DECODER_FAILED: 'DECODER_FAILED',
  FFMPEG_MISSING: 'FFMPEG_MISSING',
  TELEMETRY_INVALID: 'TELEMETRY_INVALID',
  TELEMETRY_NOT_FOUND: 'TELEMETRY_NOT_FOUND',
  PROBE_FAILED: 'PROBE_FAILED',
  DETECTOR_NOT_FOUND: 'DETECTOR_NOT_FOUND',
  DETECTOR_INVALID: 'DETECTOR_INVALID',
  DETECTOR_API_MISMATCH: 'DETECTOR_API_MISMATCH',
  DETECTOR_OPTIONS_INVALID: 'DETECTOR_OPTIONS_INVALID',
  DETECTOR_LABEL_MAP_MISSING: 'DETECTOR_LABEL_MAP_MISSING',
  DETECTOR_OUTPUT_INVALID: 'DETECTOR_OUTPUT_INVALID',
  DETECTOR_TIMEOUT: 'DETECTOR_TIMEOUT',
  DETECTOR_CRASHED: 'DETECTOR_CRASHED',
  DETECTOR_FAILED: 'DETECTOR_FAILED',
  MODEL_FILE_MISSING: 'MODEL_FILE_MISSING',
  MODEL_HASH_MISMATCH: 'MODEL_HASH_MISMATCH',
  MODEL_SHAPE_MISMATCH: 'MODEL_SHAPE_MISMATCH',
  MODEL_LOAD_FAILED: 'MODEL_LOAD_FAILED',
  IMAGE_INVALID: 'IMAGE_INVALID',
  USAGE: 'USAGE',
  STOPPED: 'STOPPED',
  INTERNAL: 'INTERNAL',
  EVIDENCE_REQUEST_INVALID: 'EVIDENCE_REQUEST_INVALID',
  EVIDENCE_EXISTS: 'EVIDENCE_EXISTS',
  EVIDENCE_FAILED: 'EVIDENCE_FAILED',
  EVIDENCE_NOT_FOUND: 'EVIDENCE_NOT_FOUND',
  EVIDENCE_CHAIN_CORRUPT: 'EVIDENCE_CHAIN_CORRUPT',
  /** The evidence root's disk is full (ENOSPC, EDQUOT, or below the packager's free-space floor); retriable once space is freed. */
  EVIDENCE_DISK_FULL: 'EVIDENCE_DISK_FULL',
  /** The evidence root cannot be written (read-only filesystem, EACCES/EPERM on the root); the message names the folder. */
  EVIDENCE_ROOT_NOT_WRITABLE: 'EVIDENCE_ROOT_NOT_WRITABLE',
  KEY_NOT_FOUND: 'KEY_NOT_FOUND',
  KEY_EXISTS: 'KEY_EXISTS',
  KEY_INVALID: 'KEY_INVALID',
  /** Dispatch: no squad for a ticket (unknown jurisdiction or squad in dispatch.routing). */
  DISPATCH_NO_ROUTE: 'DISPATCH_NO_ROUTE',
  /** A ticket that does not satisfy the published ticket schema (bad incident data or a bug); never sent. */
  TICKET_INVALID: 'TICKET_INVALID',
  /** A Kafka credential's environment variable (named in dispatch.kafka.sasl) is unset or empty. */
  KAFKA_CREDENTIALS_MISSING: 'KAFKA_CREDENTIALS_MISSING',
  /** A TLS file named in dispatch.kafka.tls cannot be read. */
  KAFKA_TLS_FILE_UNREADABLE: 'KAFKA_TLS_FILE_UNREADABLE',
  KAFKA_CONNECT_FAILED: 'KAFKA_CONNECT_FAILED',
  KAFKA_TOPICS_FAILED: 'KAFKA_TOPICS_FAILED',
  /** The brokers did not acknowledge a publish; the messages may or may not be written (retry: idempotent). */
  KAFKA_PUBLISH_FAILED: 'KAFKA_PUBLISH_FAILED',
  /** publish() or a status source used outside start()…stop(). */
  SINK_NOT_STARTED: 'SINK_NOT_STARTED',
  /** Cluster mode: a camera config refused by the registry (put) or a registry record that is not valid (read). */
  REGISTRY_CAMERA_INVALID: 'REGISTRY_CAMERA_INVALID',
  /** The camera registry was used outside start()…stop(). */
  REGISTRY_NOT_STARTED: 'REGISTRY_NOT_STARTED',
  /** The camera registry topic could not be read to its end in time. */
  REGISTRY_READ_TIMEOUT: 'REGISTRY_READ_TIMEOUT',
  STORE_FAILED: 'STORE_FAILED',
  /** Console: no token, an unknown token, or no tokens configured (console.tokens). */
  CONSOLE_UNAUTHORIZED: 'CONSOLE_UNAUTHORIZED',
  /** Console: the token's role may not use this route. */
  CONSOLE_FORBIDDEN: 'CONSOLE_FORBIDDEN',
  /** Console: no such incident, file or camera — or one this token may not see. */
  CONSOLE_NOT_FOUND: 'CONSOLE_NOT_FOUND',
  /** Console: a malformed query, body or path (a path outside the evidence root among them). */
  CONSOLE_BAD_REQUEST: 'CONSOLE_BAD_REQUEST',
  /** Console: the action is not possible in the incident's state. */
  CONSOLE_CONFLICT: 'CONSOLE_CONFLICT',
  /** Console: the feature is not available in this process (no dispatch config, no plan image…). */
  CONSOLE_UNAVAILABLE: 'CONSOLE_UNAVAILABLE',
  /** Console: the request body is larger than the server takes (413). */
  CONSOLE_PAYLOAD_TOO_LARGE: 'CONSOLE_PAYLOAD_TOO_LARGE',
  /** Console: the URL, or a part of its path, is longer than the server takes (414). */
  CONSOLE_URI_TOO_LONG: 'CONSOLE_URI_TOO_LONG',
  /** Console: the request's headers are larger than the server takes (431). */
  CONSOLE_HEADERS_TOO_LARGE: 'CONSOLE_HEADERS_TOO_LARGE',
  /** Console: a body in another format than JSON (415). */
  CONSOLE_UNSUPPORTED_MEDIA_TYPE: 'CONSOLE_UNSUPPORTED_MEDIA_TYPE',
  /** Console: the request did not arrive completely in time (408). */
  CONSOLE_REQUEST_TIMEOUT: 'CONSOLE_REQUEST_TIMEOUT',
  /** Console: too many failed logins from this address; wait for Retry-After (429). */
  CONSOLE_RATE_LIMITED: 'CONSOLE_RATE_LIMITED',
  /** Console: a WebSocket opened by a page of another origin than the console's (console.allowedOrigins) (403). */
  CONSOLE_ORIGIN_FORBIDDEN: 'CONSOLE_ORIGIN_FORBIDDEN',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export interface ErrorOptions {
  /** True when the same operation may succeed if tried again later (network, a camera rebooting). */
  retriable?: boolean;
  cause?: unknown;
  /** Structured context for logs (camera id, file, …). Strings are redacted. */
  details?: Record<string, unknown>;
}

/** The one error base class: a stable `code`, a `retriable` flag, a `cause`, and redacted text. */
export class StreetwatchError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: ErrorOptions = {}) {
    super(redact(message), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'StreetwatchError';
    this.code = code;
    this.retriable = opts.retriable ?? false;
    this.details = opts.details ?? {};
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, retriable: this.retriable, details: this.details };
  }
}

export function isStreetwatchError(e: unknown, code?: ErrorCode): e is StreetwatchError {
  return e instanceof StreetwatchError && (code === undefined || e.code === code);
}

/** Wraps anything thrown into a StreetwatchError, keeping the original as `cause`. */
export function toStreetwatchError(e: unknown, code: ErrorCode = ErrorCodes.INTERNAL, retriable = false): StreetwatchError {
  if (e instanceof StreetwatchError) return e;
  const message = e instanceof Error ? e.message : String(e);
  return new StreetwatchError(code, message, { cause: e, retriable });
}
