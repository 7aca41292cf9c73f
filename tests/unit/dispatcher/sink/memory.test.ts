import { describe, expect, it, vi } from 'vitest';
import { isStreetwatchError } from '../../../../core/errors.js';
import { deadLetter, type DeadLetterV1 } from '../../../../dispatcher/sink/dlq.js';
import { MemoryStatusSource, MemoryTicketSink } from '../../../../dispatcher/sink/memory.js';
import { ticketMessage } from '../../../../dispatcher/sink/messages.js';
import type { StatusHandler } from '../../../../dispatcher/sink/sink.js';
import { buildTicket, ticketContext } from '../../../../dispatcher/ticket/build.js';
import type { TicketStatusV1 } from '../../../../dispatcher/ticket/schema.js';
import { exampleDispatch as dispatch, exampleInput as input, EXAMPLE_T0 as T0 } from '../../../../dispatcher/ticket/example.js';
import { statusReport } from '../../../helpers/factories.js';

const status = statusReport();

describe('ticketMessage', () => {
  it('keys by squad, carries schema and ticket id headers, and round-trips', () => {
    const t = buildTicket(input(), ticketContext(dispatch, 'Asia/Shanghai', T0));
    const m = ticketMessage(t, 'hp.tickets');
    expect(m).toMatchObject({ topic: 'hp.tickets', key: 'sq-wt', headers: { schema: 'streetwatch.ticket/1', 'ticket-id': 'inc-20261127-0001' } });
    expect(JSON.parse(m.value)).toEqual(t);
  });
});

describe('MemoryTicketSink', () => {
  it('refuses to publish before start and after stop; stop is idempotent', async () => {
    const sink = new MemoryTicketSink();
    await expect(sink.publish([{ topic: 't', key: 'k', value: 'v' }])).rejects.toMatchObject({ code: 'SINK_NOT_STARTED' });
    await sink.start();
    await sink.publish([{ topic: 't', key: 'k', value: 'v' }]);
    await sink.stop();
    await sink.stop();
    await expect(sink.publish([{ topic: 't', key: 'k', value: 'v' }])).rejects.toSatisfy((e) => isStreetwatchError(e, 'SINK_NOT_STARTED'));
    expect(sink.messages).toHaveLength(1);
  });

  it('stores copies, by topic, and can be made to fail once', async () => {
    const sink = new MemoryTicketSink();
    await sink.start();
    const msgs = [
      { topic: 'a', key: 'k1', value: '1', headers: { h: 'x' } },
      { topic: 'b', key: 'k2', value: '2' },
    ];
    await sink.publish(msgs);
    msgs[0]!.headers!.h = 'changed';
    expect(sink.topic('a')).toEqual([{ topic: 'a', key: 'k1', value: '1', headers: { h: 'x' } }]);
    sink.failNext(new Error('broker down'));
    await expect(sink.publish([{ topic: 'a', key: 'k', value: '3' }])).rejects.toThrow('broker down');
    await sink.publish([{ topic: 'a', key: 'k', value: '3' }]);
    expect(sink.topic('a').map((m) => m.value)).toEqual(['1', '3']);
  });
});

describe('deadLetter', () => {
  const meta = { topic: 'hp.ticket-status', partition: 3, offset: '42', key: 'sq-wt' };
  it.each<[string, Uint8Array | string | null, DeadLetterV1['encoding'], string | null]>([
    ['UTF-8 bytes as text', Buffer.from('{"status":'), 'utf8', '{"status":'],
    ['a string as text', 'oops', 'utf8', 'oops'],
    ['binary as base64', Buffer.from([0xff, 0x00, 0xfe]), 'base64', '/wD+'],
    ['no value', null, 'none', null],
  ])('wraps %s with the reason and the source position', (_n, raw, encoding, original) => {
    const m = deadLetter(raw, meta, 'not_json: Unexpected end', 'hp.dlq', new Date(T0));
    expect(m.topic).toBe('hp.dlq');
    expect(m.key).toBe('hp.ticket-status/3');
    expect(m.headers).toEqual({ reason: 'not_json: Unexpected end', 'source-topic': 'hp.ticket-status', 'source-partition': '3', 'source-offset': '42' });
    expect(JSON.parse(m.value)).toEqual({
      schema: 'streetwatch.dead-letter/1',
      reason: 'not_json: Unexpected end',
      topic: 'hp.ticket-status',
      partition: 3,
      offset: '42',
      key: 'sq-wt',
      at: '2026-11-27T02:00:00.000Z',
      encoding,
      original,
    });
  });

  it('base64 of a Buffer slice covers only the slice', () => {
    const pool = Buffer.from([1, 2, 0xff, 0xfe, 3]);
    const m = deadLetter(pool.subarray(2, 4), meta, 'r', 'dlq');
    expect(JSON.parse(m.value).original).toBe(Buffer.from([0xff, 0xfe]).toString('base64'));
  });
});

describe('MemoryStatusSource: validation and dead letters', () => {
  async function setup() {
    const dlq = new MemoryTicketSink();
    await dlq.start();
    const onMalformed = vi.fn();
    const warn = vi.fn();
    const src = new MemoryStatusSource({ topic: 'hp.ticket-status', dlqTopic: 'hp.dlq', dlq, onMalformed, log: { warn } as never });
    const got: TicketStatusV1[] = [];
    src.onMessage(async (s) => {
      got.push(s);
    });
    await src.start();
    return { dlq, src, got, onMalformed, warn };
  }

  it('needs a handler before start, and a start before delivery', async () => {
    const dlq = new MemoryTicketSink();
    const src = new MemoryStatusSource({ topic: 't', dlqTopic: 'd', dlq });
    await expect(src.start()).rejects.toMatchObject({ code: 'USAGE' });
    src.onMessage(async () => undefined);
    await expect(src.deliver('{}')).rejects.toMatchObject({ code: 'SINK_NOT_STARTED' });
  });

  it('hands valid statuses to the handler and dead-letters the rest, counting them and going on', async () => {
    const { dlq, src, got, onMalformed, warn } = await setup();
    expect(await src.deliver(JSON.stringify(status), 'sq-wt')).toBe('handled');
    expect(await src.deliver('not json')).toBe('dead_lettered');
    expect(await src.deliver(JSON.stringify({ ...status, status: 'closed' }))).toBe('dead_lettered');
    expect(await src.deliver(JSON.stringify({ ...status, status: 'resolved' }))).toBe('handled');
    expect(got.map((s) => s.status)).toEqual(['accepted', 'resolved']);
    const letters = dlq.topic('hp.dlq').map((m) => JSON.parse(m.value) as DeadLetterV1);
    expect(letters.map((l) => [l.offset, l.reason.split(':')[0], l.original])).toEqual([
      ['1', 'not_json', 'not json'],
      ['2', 'invalid', JSON.stringify({ ...status, status: 'closed' })],
    ]);
    expect(onMalformed.mock.calls.map((c) => c[0])).toEqual(['not_json', 'invalid']);
    // The log line has the reason and position, never the message content.
    expect(warn).toHaveBeenCalledTimes(2);
    expect(JSON.stringify(warn.mock.calls)).not.toContain('not json"');
  });

  it('dead-letters a well-formed status the handler refuses (not the ticket\'s squad), with its reason, and counts it apart from malformed ones', async () => {
    const dlq = new MemoryTicketSink();
    await dlq.start();
    const onMalformed = vi.fn();
    const onRefused = vi.fn();
    const src = new MemoryStatusSource({ topic: 'hp.ticket-status', dlqTopic: 'hp.dlq', dlq, onMalformed, onRefused });
    src.onMessage(async (s) => (s.squad === 'sq-wt' ? undefined : { refused: 'not_ticket_holder', reason: `ticket ${s.ticketId} is held by another squad, not by '${s.squad}'` }));
    await src.start();
    expect(await src.deliver(JSON.stringify({ ...status, squad: 'someone-else' }), 'someone-else')).toBe('dead_lettered');
    expect(await src.deliver(JSON.stringify(status), 'sq-wt')).toBe('handled');
    const letters = dlq.topic('hp.dlq').map((m) => JSON.parse(m.value) as DeadLetterV1);
    expect(letters).toHaveLength(1);
    expect(letters[0]!.reason).toBe("not_ticket_holder: ticket inc-1 is held by another squad, not by 'someone-else'");
    expect(letters[0]!.original).toContain('someone-else');
    expect(onRefused.mock.calls.map((c) => c[0])).toEqual(['not_ticket_holder']);
    expect(onMalformed).not.toHaveBeenCalled();
  });

  it('a handler failure propagates (the message is not consumed) and nothing is dead-lettered', async () => {
    const dlq = new MemoryTicketSink();
    await dlq.start();
    const src = new MemoryStatusSource({ topic: 't', dlqTopic: 'd', dlq });
    const handler: StatusHandler = async () => {
      throw new Error('store down');
    };
    src.onMessage(handler);
    await src.start();
    await expect(src.deliver(JSON.stringify(status))).rejects.toThrow('store down');
    expect(dlq.messages).toEqual([]);
  });

  it('a dead-letter publish failure propagates too (the malformed message is retried, not dropped)', async () => {
    const { dlq, src, onMalformed } = await setup();
    dlq.failNext(new Error('dlq unavailable'));
    await expect(src.deliver('garbage')).rejects.toThrow('dlq unavailable');
    expect(onMalformed).not.toHaveBeenCalled();
  });
});
