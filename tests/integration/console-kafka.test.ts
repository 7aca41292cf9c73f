import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ticketStatusV1 } from '../../dispatcher/ticket/schema.js';
import { startConsoleFixture, type ConsoleFixture } from '../helpers/console.js';
import { statusReport } from '../helpers/factories.js';
import { createConsumer, createProducer, headersOf, startKafka, uniqueTopic, type KafkaBroker } from '../helpers/kafka.js';
import { waitFor } from '../helpers/wait.js';

// With Kafka configured, a squad's report from the console goes out on the ticket-status topic (through the
// outbox, like any message we publish) and comes back in through the status consumer, exactly as a squad's own
// app would report; a re-dispatch is a second ticket message, keyed by the new squad. Real broker, real scene.
let broker: KafkaBroker;
let fx: ConsoleFixture;
let consumer: Consumer;
const topics = { tickets: uniqueTopic('tickets'), ticketStatus: uniqueTopic('status'), dlq: uniqueTopic('dlq') };
const seen: { topic: string; key: string; value: any; headers: Record<string, string> }[] = [];

beforeAll(async () => {
  broker = await startKafka();
  fx = await startConsoleFixture({ kafka: { brokers: broker.brokers, topics } });
  consumer = createConsumer(broker.brokers, uniqueTopic('console-reader'));
  await consumer.connect();
  await consumer.subscribe({ topics: [topics.tickets, topics.ticketStatus, topics.dlq], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ topic, message }) => {
      seen.push({ topic, key: message.key!.toString(), value: JSON.parse(message.value!.toString()), headers: headersOf(message) });
    },
  });
  await fx.runScenario();
}, 240_000);

afterAll(async () => {
  await consumer?.disconnect();
  await fx?.stop();
  await broker?.stop();
});


describe('console with Kafka', () => {
  it('refuses status reports from a squad that does not hold the ticket, for unknown tickets and backwards: dead-lettered, nothing changes', async () => {
    await waitFor(() => seen.some((m) => m.topic === topics.tickets), 20_000, 'the ticket on Kafka');
    const id = seen.find((m) => m.topic === topics.tickets)!.value.ticketId as string;
    await waitFor(() => fx.stage.store.get(id)?.state === 'dispatched', 20_000, 'dispatched');
    const producer = createProducer(broker.brokers);
    await producer.connect();
    const report = (ticketId: string, squad: string, status: string) => ({
      key: squad,
      value: JSON.stringify(statusReport({ ticketId, status, squad, at: new Date().toISOString() })),
    });
    // the message's content is not an authentication: a system that can write the topic may claim any squad
    await producer.send({ topic: topics.ticketStatus, acks: -1, messages: [report(id, 'someone-else', 'rejected_false_positive'), report('no-such-ticket', 'sq-1', 'resolved')] });
    await producer.disconnect();
    const letters = () => seen.filter((m) => m.topic === topics.dlq);
    await waitFor(() => letters().length === 2, 20_000, 'two dead letters');
    expect(letters().map((m) => m.value.reason.split(':')[0])).toEqual(['not_ticket_holder', 'unknown_ticket']);
    expect(letters()[0]!.value.original).toContain('someone-else');
    expect(fx.stage.store.get(id)!.state).toBe('dispatched');
    expect(fx.stage.store.falsePositives()).toEqual([]);
    expect(fx.stage.store.history(id).map((h) => h.kind)).not.toContain('rejected_false_positive');
    const refused = (await fx.metrics.statusRefused.get()).values.map((v) => [v.labels.reason, v.value]);
    expect(Object.fromEntries(refused)).toEqual({ not_ticket_holder: 1, unknown_ticket: 1 });
  });

  it('publishes a squad\'s report on the ticket-status topic and applies it when it comes back; re-dispatch is a new ticket message', async () => {
    await waitFor(() => seen.some((m) => m.topic === topics.tickets), 20_000, 'the ticket on Kafka');
    const ticket = seen.find((m) => m.topic === topics.tickets)!;
    const id = ticket.value.ticketId as string;
    expect(ticket.key).toBe('sq-1');
    const state = async () => ((await (await fetch(`${fx.url}/api/incidents/${id}`, { headers: { authorization: `Bearer ${fx.tokens.command}` } })).json()) as any).incident.state;
    await waitFor(async () => (await state()) === 'dispatched', 20_000, 'dispatched');

    const r = await fetch(`${fx.url}/api/incidents/${id}/status`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fx.tokens.squad}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'on_site', note: '队员已到场' }),
    });
    expect(r.status).toBe(202);
    expect(((await r.json()) as any).via).toBe('kafka');
    // the first test's forged reports are on the topic too
    const ours = (m: (typeof seen)[number]) => m.topic === topics.ticketStatus && m.value.ticketId === id && m.value.squad === 'sq-1';
    await waitFor(() => seen.some(ours), 20_000, 'the status on Kafka');
    const status = seen.find(ours)!;
    expect(status.key).toBe('sq-1');
    expect(ticketStatusV1.parse(status.value)).toMatchObject({ ticketId: id, status: 'on_site', squad: 'sq-1', note: '队员已到场' });
    await waitFor(async () => (await state()) === 'on_site', 20_000, 'on site through the status consumer');
    // the holder itself cannot move its ticket back: 'accepted' after 'on_site' is refused (409), not stored
    const back = await fetch(`${fx.url}/api/incidents/${id}/status`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fx.tokens.squad}`, 'content-type': 'application/json' },
      body: JSON.stringify({ status: 'accepted' }),
    });
    expect(back.status).toBe(409);
    expect(fx.stage.store.history(id).filter((h) => h.kind === 'accepted')).toEqual([]);

    const re = await fetch(`${fx.url}/api/incidents/${id}/redispatch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${fx.tokens.command}`, 'content-type': 'application/json' },
      body: JSON.stringify({ squad: 'sq-2' }),
    });
    expect(re.status).toBe(200);
    await waitFor(() => seen.filter((m) => m.topic === topics.tickets).length === 2, 20_000, 'the re-issued ticket');
    const again = seen.filter((m) => m.topic === topics.tickets)[1]!;
    expect(again).toMatchObject({ key: 'sq-2', value: { ticketId: id, squad: { id: 'sq-2', name: '二中队' } }, headers: { 'ticket-id': id, redispatch: '1' } });
    expect(Date.parse(again.value.issuedAt)).toBeGreaterThan(Date.parse(ticket.value.issuedAt));
    await waitFor(async () => (await state()) === 'dispatched', 20_000, 'dispatched again');
  });
});
