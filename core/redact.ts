/**
 * Credential redaction. Camera URLs carry user:password (rtsp://admin:pw@host/…); they must never reach a
 * log line, an error message or a metric label. Everything that prints a URL or an ffmpeg line goes through here.
 */
const URL_USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]+)(?::[^\s/@]*)?@/gi;
/**
 * A secret-looking query value. It ends where a URL written in text ends: at `&`, `#`, whitespace, or a `"` or
 * a backtick (neither is ever unencoded in a URL a client sends, and both quote URLs in messages and JSON).
 */
const QUERY_SECRET = /([?&](?:password|passwd|pwd|token|key|secret|auth)=)([^&#\s"`]*)/gi;
/**
 * A documentation placeholder such as `<token>` (optionally followed by punctuation of the sentence): help text
 * that names the parameter is not a secret. At most 15 letters between the brackets, so a console token (at
 * least 16 characters) can never pass for one.
 */
const PLACEHOLDER = /^<[A-Za-z][\w-]{0,14}>[)\].,;:!?'’]*$/;

/** Replaces the user-info part of every URL in `text` (and secret-looking query values) with `***`. */
export function redact(text: string): string {
  return text
    .replace(URL_USERINFO, '$1***:***@')
    .replace(QUERY_SECRET, (whole, name: string, value: string) => (value === '' || PLACEHOLDER.test(value) ? whole : `${name}***`));
}

/** Redacts every string inside a plain value (objects and arrays are copied, not mutated). */
export function redactDeep<T>(value: T, depth = 0): T {
  if (typeof value === 'string') return redact(value) as T;
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1)) as T;
  if (value instanceof Error) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out[k] = redactDeep(v, depth + 1);
  return out as T;
}
