import { describe, expect, it } from 'vitest';
import { MAX_STATUS_BYTES, parseStatus, type StatusRejectKind } from '../../../../dispatcher/ticket/status.js';
import { statusReport } from '../../../helpers/factories.js';

const valid = statusReport({ status: 'resolved', at: '2026-11-27T11:00:00.000+08:00' });
const json = (v: unknown) => JSON.stringify(v);

describe('parseStatus: the dead-letter decision', () => {
  it.each<[string, unknown]>([
    ['accepted', { ...valid, status: 'accepted' }],
    ['on_site with officer', { ...valid, status: 'on_site', officer: '31010012' }],
    ['resolved', valid],
    ['rejected_false_positive with a note', { ...valid, status: 'rejected_false_positive', note: '是合法早餐车' }],
    ['UTC time', { ...valid, at: '2026-11-27T03:00:00Z' }],
    ['extra keys (ignored)', { ...valid, caseNo: 'HP-2026-0001' }],
  ])('accepts %s', (_n, v) => {
    const r = parseStatus(Buffer.from(json(v)));
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.status).not.toHaveProperty('caseNo');
  });

  it.each<[string, Uint8Array | string | null, StatusRejectKind, RegExp]>([
    ['a null value (tombstone)', null, 'empty', /^empty/],
    ['an empty value', Buffer.alloc(0), 'empty', /^empty/],
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), 'not_utf8', /^not_utf8/],
    ['not JSON', 'status=resolved', 'not_json', /^not_json: /],
    ['JSON but not an object', '"resolved"', 'invalid', /^invalid: \(message\): /],
    ['an unknown status', json({ ...valid, status: 'closed' }), 'invalid', /status: .*accepted.*on_site.*resolved.*rejected_false_positive/],
    ['a time without offset', json({ ...valid, at: '2026-11-27T11:00:00' }), 'invalid', /^invalid: at: /],
    ['a missing ticketId', json({ ...valid, ticketId: undefined }), 'invalid', /ticketId/],
    ['a wrong schema version', json({ ...valid, schema: 'streetwatch.ticket-status/2' }), 'invalid', /schema: /],
    ['no schema field', json({ ...valid, schema: undefined }), 'invalid', /schema: /],
    ['an oversized message', json({ ...valid, note: 'x'.repeat(MAX_STATUS_BYTES) }), 'too_large', /^too_large: \d+ bytes/],
  ])('rejects %s', (_n, raw, kind, reason) => {
    const r = parseStatus(raw);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.kind).toBe(kind);
      expect(r.reason).toMatch(reason);
    }
  });

  it('caps the reason at five issues', () => {
    const r = parseStatus(json({}));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason.split('; ').length).toBeLessThanOrEqual(6);
  });
});
