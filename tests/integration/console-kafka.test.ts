import type { Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ticketStatusV1 } from '../../dispatcher/ticket/schema.js';
import { startConsoleFixture, type ConsoleFixture } from '../helpers/console.js';
import { createConsumer, headersOf, startKafka, uniqueTopic, type KafkaBroker } from '../helpers/kafka.js';
import { waitFor } from '../helpers/processes.js';

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
  await consumer.subscribe({ topics: [topics.tickets, topics.ticketStatus], fromBeginning: true });
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
    await waitFor(() => seen.some((m) => m.topic === topics.ticketStatus), 20_000, 'the status on Kafka');
    const status = seen.find((m) => m.topic === topics.ticketStatus)!;
    expect(status.key).toBe('sq-1');
    expect(ticketStatusV1.parse(status.value)).toMatchObject({ ticketId: id, status: 'on_site', squad: 'sq-1', note: '队员已到场' });
    await waitFor(async () => (await state()) === 'acknowledged', 20_000, 'acknowledged through the status consumer');

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
