import { ticketStatusV1, type TicketStatusV1 } from './schema.js';

/**
 * The dead-letter decision for a ticket-status message, as a pure function: accept it, or name why not. The
 * status source sends every rejected message to the dead-letter topic with this reason and goes on; one bad
 * message from one squad's system must not stop the statuses of every other squad.
 */

/** Why a message was rejected; also the label of the malformed-message counter. */
export type StatusRejectKind = 'empty' | 'too_large' | 'not_utf8' | 'not_json' | 'invalid';

export type ParsedStatus = { ok: true; status: TicketStatusV1 } | { ok: false; kind: StatusRejectKind; reason: string };

/** Larger than any honest status (a note is at most 2000 characters); refuse before parsing. */
export const MAX_STATUS_BYTES = 64 * 1024;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseStatus(raw: Uint8Array | string | null | undefined): ParsedStatus {
  if (raw === null || raw === undefined || raw.length === 0) return { ok: false, kind: 'empty', reason: 'empty: the message has no value' };
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.byteLength;
  if (size > MAX_STATUS_BYTES) return { ok: false, kind: 'too_large', reason: `too_large: ${size} bytes, at most ${MAX_STATUS_BYTES}` };
  let text: string;
  try {
    text = typeof raw === 'string' ? raw : utf8.decode(raw);
  } catch {
    return { ok: false, kind: 'not_utf8', reason: 'not_utf8: the value is not UTF-8 text' };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { ok: false, kind: 'not_json', reason: `not_json: ${e instanceof Error ? e.message : String(e)}` };
  }
  const r = ticketStatusV1.safeParse(value);
  if (!r.success) {
    const issues = r.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`);
    const more = r.error.issues.length > 5 ? `; and ${r.error.issues.length - 5} more` : '';
    return { ok: false, kind: 'invalid', reason: `invalid: ${issues.join('; ')}${more} (schema streetwatch.ticket-status/1)` };
  }
  return { ok: true, status: r.data };
}
