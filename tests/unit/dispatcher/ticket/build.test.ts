import { describe, expect, it } from 'vitest';
import { DEFAULT_PRIORITY, dispatchSchema, prioritySchema } from '../../../../config/dispatch.js';
import { isStreetwatchError } from '../../../../core/errors.js';
import { buildTicket, recommendedAction, ticketContext, ticketDeadlineMs, ticketPriority, type TicketInput } from '../../../../dispatcher/ticket/build.js';
import { ticketV1 } from '../../../../dispatcher/ticket/schema.js';
import { isoInZone } from '../../../../core/time.js';
import { exampleDispatch as dispatch, exampleInput as input, EXAMPLE_T0 as T0 } from '../../../../dispatcher/ticket/example.js';

const ctx = ticketContext(dispatch, 'Asia/Shanghai', T0 + 600_000);

describe('isoInZone', () => {
  it.each<[number, string, string]>([
    [T0, 'Asia/Shanghai', '2026-11-27T10:00:00.000+08:00'],
    [T0 + 1, 'UTC', '2026-11-27T02:00:00.001Z'.replace('Z', '+00:00')],
    [Date.parse('2026-07-01T12:30:45.123Z'), 'America/New_York', '2026-07-01T08:30:45.123-04:00'],
    [Date.parse('2026-01-01T00:00:00Z'), 'Asia/Kolkata', '2026-01-01T05:30:00.000+05:30'],
    [Date.parse('2026-11-27T16:30:00Z'), 'Asia/Shanghai', '2026-11-28T00:30:00.000+08:00'],
  ])('%i in %s → %s', (ms, tz, want) => {
    expect(isoInZone(ms, tz)).toBe(want);
    expect(Date.parse(want)).toBe(ms);
  });
});

describe('buildTicket', () => {
  it('builds a complete door_front ticket that satisfies the schema', () => {
    const t = buildTicket(input(), ctx);
    expect(ticketV1.parse(t)).toEqual(t);
    expect(t).toEqual({
      schema: 'streetwatch.ticket/1',
      ticketId: 'inc-20261127-0001',
      issuedAt: '2026-11-27T10:10:00.000+08:00',
      violation: { type: 'door_front', code: '0504', name: '店外经营', standard: 'GB/T 30428.2-2013', codeConfirmed: true },
      place: {
        cameraId: 'cam-map',
        cameraName: '福州路口',
        zoneId: 'shop-733',
        address: '上海市黄浦区福州路 300 号',
        lat: 31.2345,
        lon: 121.4789,
        jurisdiction: { id: 'waitan', name: '外滩街道' },
      },
      squad: { id: 'sq-wt', name: '外滩街道城管中队' },
      subject: { kind: 'shop', id: 'HP-SHOP-000733', name: '福州路文具店', licence: '91310101MA1FP0XX1X' },
      firstSeen: '2026-11-27T10:00:00.000+08:00',
      confirmedAt: '2026-11-27T10:05:00.000+08:00',
      dwellSec: 420,
      evidence: input().evidence,
      priority: 'normal',
      deadline: '2026-11-28T10:05:00.000+08:00',
      recommendedAction: { action: 'educate_and_correct', label: '首违免罚：教育劝导，责令改正', priorOffences12m: 0 },
    });
  });

  it.each<[string, Partial<TicketInput>, Partial<Record<string, unknown>>]>([
    ['stall: high, 2 h, 0501', { type: 'stall', shop: undefined, zoneId: 'street-centre', cameraId: 'patrol-1' }, { priority: 'high', deadline: '2026-11-27T12:05:00.000+08:00', code: '0501', squad: 'sq-mobile', subject: undefined }],
    ['stacking: normal, 12 h, 0507', { type: 'stacking', shop: undefined }, { priority: 'normal', deadline: '2026-11-27T22:05:00.000+08:00', code: '0507', squad: 'sq-wt', subject: undefined }],
    ['repeat door_front: open_case, raised to high', { priorOffences12m: 2 }, { priority: 'high', action: 'open_case' }],
    ['recurrence of a first offender: raised, still 首违免罚', { recurrenceOf: 'inc-0' }, { priority: 'high', action: 'educate_and_correct', recurrenceOf: 'inc-0' }],
    ['repeat stall stays high (top)', { type: 'stall', shop: undefined, priorOffences12m: 1 }, { priority: 'high', action: 'open_case' }],
    ['zone routed to another street', { zoneId: 'east-kerb' }, { squad: 'sq-ndl' }],
    ['stacking in front of a shop carries the shop', { type: 'stacking' }, { subject: 'HP-SHOP-000733' }],
  ])('%s', (_n, over, want) => {
    const t = buildTicket(input(over), ctx);
    const got: Record<string, unknown> = {
      priority: t.priority,
      deadline: t.deadline,
      code: t.violation.code,
      squad: t.squad.id,
      subject: t.subject?.id,
      action: t.recommendedAction.action,
      recurrenceOf: t.recurrenceOf,
    };
    for (const [k, v] of Object.entries(want)) expect(got[k], k).toEqual(v);
  });

  it('leaves out optional place fields that are unknown', () => {
    const t = buildTicket(input({ cameraName: undefined, address: undefined, lat: undefined, lon: undefined, cameraId: 'patrol-1' }), ctx);
    expect(Object.keys(t.place).sort()).toEqual(['cameraId', 'zoneId']);
  });

  it('uses the configured code table, priorities and deadlines', () => {
    const d = dispatchSchema.parse({ routing: dispatch.routing, codeTable: 'gbt47678.5-2026', deadlineHours: { door_front: 4 }, priority: { door_front: 'low', raiseRepeat: false } });
    const t = buildTicket(input({ priorOffences12m: 3 }), ticketContext(d, 'Asia/Shanghai', T0));
    expect(t.violation).toEqual({ type: 'door_front', code: '09005', name: '店外经营', standard: 'GB/T 47678.5-2026', codeConfirmed: false });
    expect(t.priority).toBe('low');
    expect(t.deadline).toBe('2026-11-27T14:05:00.000+08:00');
    expect(t.recommendedAction.action).toBe('open_case');
  });

  it('works with a minimal context (defaults for priorities and deadlines)', () => {
    const t = buildTicket(input({ type: 'stall', shop: undefined }), { codeTable: 'gbt30428.2-2013', routing: dispatch.routing, timezone: 'UTC', now: T0 });
    expect(t.priority).toBe(DEFAULT_PRIORITY.stall);
    expect(t.deadline).toBe('2026-11-27T04:05:00.000+00:00');
  });

  it.each<[string, Partial<TicketInput>, RegExp]>([
    ['door_front without its shop', { shop: undefined }, /door_front ticket needs the shop/],
    ['a bad sha256', { evidence: [{ name: 'a.jpg', uri: 'file:///a.jpg', sha256: 'XYZ' }] }, /evidence\.0\.sha256: sha256 is 64 lowercase hex digits/],
    ['no evidence', { evidence: [] }, /evidence: /],
    ['negative history', { priorOffences12m: -1 }, /priorOffences12m must be a whole number/],
    ['confirmed before first seen', { confirmedMs: T0 - 1 }, /confirmed before it was first seen/],
    ['latitude out of range', { lat: 95 }, /place\.lat/],
  ])('refuses %s with TICKET_INVALID', (_n, over, message) => {
    try {
      buildTicket(input(over), ctx);
      expect.unreachable();
    } catch (e) {
      expect(isStreetwatchError(e, 'TICKET_INVALID')).toBe(true);
      expect((e as Error).message).toMatch(/^incident 'inc-20261127-0001': /);
      expect((e as Error).message).toMatch(message);
    }
  });

  it('routing failures surface as DISPATCH_NO_ROUTE', () => {
    expect(() => buildTicket(input({ cameraJurisdiction: 'nowhere' }), ctx)).toThrow(expect.objectContaining({ code: 'DISPATCH_NO_ROUTE' }));
  });

  it('is pure: the same input and context give the same ticket', () => {
    expect(buildTicket(input(), ctx)).toEqual(buildTicket(input(), ctx));
  });
});

describe('rules', () => {
  it.each<[number, string]>([
    [0, 'educate_and_correct'],
    [1, 'open_case'],
    [7, 'open_case'],
  ])('recommendedAction(%i) = %s', (n, want) => expect(recommendedAction(n)).toBe(want));

  it('priority raise stops at high and can be switched off', () => {
    const cfg = prioritySchema.parse({ stacking: 'low' });
    expect(ticketPriority({ type: 'stacking', priorOffences12m: 0 }, cfg)).toBe('low');
    expect(ticketPriority({ type: 'stacking', priorOffences12m: 1 }, cfg)).toBe('normal');
    expect(ticketPriority({ type: 'stall', priorOffences12m: 1 }, cfg)).toBe('high');
    expect(ticketPriority({ type: 'stacking', priorOffences12m: 1 }, { ...cfg, raiseRepeat: false })).toBe('low');
  });

  it('deadline = confirmation + the violation\'s hours', () => {
    expect(ticketDeadlineMs({ type: 'stall', confirmedMs: 0 })).toBe(2 * 3_600_000);
    expect(ticketDeadlineMs({ type: 'stall', confirmedMs: 0 }, { stall: 0.5, door_front: 24, stacking: 12 })).toBe(1_800_000);
  });

  it('priority config defaults', () => {
    expect(dispatchSchema.parse({ routing: dispatch.routing }).priority).toEqual({ ...DEFAULT_PRIORITY, raiseRepeat: true });
    expect(prioritySchema.safeParse({ stall: 'urgent' }).success).toBe(false);
  });
});
