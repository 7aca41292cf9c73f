import { describe, expect, it } from 'vitest';
import { DEFAULT_DEADLINE_HOURS, dispatchSchema, kafkaSchema } from '../../../config/dispatch.js';

const routing = { squads: [{ id: 's1', name: '一中队' }], defaultSquad: 's1' };

const issues = (schema: { safeParse(v: unknown): { success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } } }, v: unknown) => {
  const r = schema.safeParse(v);
  return r.success ? [] : r.error!.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

describe('dispatchSchema defaults', () => {
  it('fills the code table and deadlines; no Kafka unless configured', () => {
    const d = dispatchSchema.parse({ routing });
    expect(d.codeTable).toBe('gbt30428.2-2013');
    expect(d.kafka).toBeUndefined();
    expect(d.deadlineHours).toEqual(DEFAULT_DEADLINE_HOURS);
    expect(d.routing.jurisdictions).toEqual([]);
  });

  it('keeps partial deadline overrides and the other defaults', () => {
    const d = dispatchSchema.parse({ routing, codeTable: 'gbt47678.5-2026', deadlineHours: { stall: 0.5 } });
    expect(d.codeTable).toBe('gbt47678.5-2026');
    expect(d.deadlineHours).toEqual({ ...DEFAULT_DEADLINE_HOURS, stall: 0.5 });
  });
});

describe('kafka', () => {
  it('builds every topic name from the prefix, overriding only what is set', () => {
    const k = kafkaSchema.parse({ brokers: ['127.0.0.1:9092'] });
    expect(k).toEqual({
      brokers: ['127.0.0.1:9092'],
      clientId: 'streetwatch',
      topicPrefix: 'streetwatch.',
      partitions: 6,
      cameraPartitions: 64,
      topics: {
        cameras: 'streetwatch.cameras',
        hits: 'streetwatch.hits',
        incidents: 'streetwatch.incidents',
        tickets: 'streetwatch.tickets',
        ticketStatus: 'streetwatch.ticket-status',
        dlq: 'streetwatch.dlq',
      },
    });
    const custom = kafkaSchema.parse({ brokers: ['kafka-1.cg.local:9093'], topicPrefix: 'hp.', topics: { tickets: 'cgzf.tickets' } });
    expect(custom.topics).toMatchObject({ cameras: 'hp.cameras', tickets: 'cgzf.tickets', ticketStatus: 'hp.ticket-status' });
  });

  it('TLS defaults to on and verifying; SASL takes env var names', () => {
    const k = kafkaSchema.parse({
      brokers: ['[fd00::5]:9093'],
      tls: { caFile: 'ca.pem' },
      sasl: { mechanism: 'scram-sha-256', usernameEnv: 'KAFKA_USER', passwordEnv: 'KAFKA_PASSWORD' },
    });
    expect(k.tls).toEqual({ enabled: true, caFile: 'ca.pem', rejectUnauthorized: true });
    expect(k.sasl?.passwordEnv).toBe('KAFKA_PASSWORD');
  });

  it.each<[string, unknown, string]>([
    ['no brokers', { brokers: [] }, 'brokers: kafka.brokers needs at least one'],
    ['broker without port', { brokers: ['kafka-1'] }, 'brokers.0: a broker is "host:port"'],
    ['broker as URL', { brokers: ['kafka://kafka-1:9092'] }, 'brokers.0: a broker is "host:port"'],
    ['broker port 0', { brokers: ['kafka-1:0'] }, 'brokers.0: a broker is "host:port"'],
    ['broker port too big', { brokers: ['kafka-1:70000'] }, 'brokers.0: a broker is "host:port"'],
    ['bad topic name', { brokers: ['k:9092'], topics: { hits: 'hits/2' } }, 'topics.hits: a Kafka topic name'],
    ['unknown topic role', { brokers: ['k:9092'], topics: { alerts: 'a' } }, 'topics: Unrecognized key: "alerts"'],
    ['two roles on one topic', { brokers: ['k:9092'], topics: { tickets: 'x', dlq: 'x' } }, "topics.dlq: topic 'x' is already used for tickets"],
    ['override colliding with a default name', { brokers: ['k:9092'], topics: { hits: 'streetwatch.incidents' } }, "topics.incidents: topic 'streetwatch.incidents' is already used for hits"],
    ['zero partitions', { brokers: ['k:9092'], partitions: 0 }, 'partitions: '],
    ['cert without key', { brokers: ['k:9092'], tls: { certFile: 'c.pem' } }, 'tls.keyFile: mutual TLS needs both certFile and keyFile'],
    ['key without cert', { brokers: ['k:9092'], tls: { keyFile: 'k.pem' } }, 'tls.certFile: mutual TLS needs both certFile and keyFile'],
    ['secret value instead of env name', { brokers: ['k:9092'], sasl: { mechanism: 'plain', usernameEnv: 'U', passwordEnv: 'p@ss w0rd' } }, 'sasl.passwordEnv: passwordEnv is the NAME of an environment variable'],
    ['literal password key', { brokers: ['k:9092'], sasl: { mechanism: 'plain', usernameEnv: 'U', passwordEnv: 'P', password: 'x' } }, 'sasl: Unrecognized key: "password"'],
    ['bad mechanism', { brokers: ['k:9092'], sasl: { mechanism: 'gssapi', usernameEnv: 'U', passwordEnv: 'P' } }, 'sasl.mechanism: mechanism must be one of plain, scram-sha-256, scram-sha-512'],
  ])('rejects %s', (_, v, expected) => {
    const got = issues(kafkaSchema, v);
    expect(got.some((m) => m.startsWith(expected)), `expected "${expected}", got ${JSON.stringify(got)}`).toBe(true);
  });
});

describe('routing', () => {
  it('accepts jurisdictions mapped to squads and cameras mapped to jurisdictions', () => {
    const d = dispatchSchema.parse({
      routing: {
        squads: [
          { id: 's1', name: 'A' },
          { id: 's2', name: 'B' },
        ],
        jurisdictions: [{ id: 'j1', name: '南京东路街道', squad: 's2' }],
        cameraJurisdiction: { 'cam-1': 'j1' },
        defaultSquad: 's1',
      },
    });
    expect(d.routing.cameraJurisdiction).toEqual({ 'cam-1': 'j1' });
  });

  it.each<[string, unknown, string]>([
    ['no squads', { squads: [], defaultSquad: 's1' }, 'routing.squads: routing.squads needs at least one squad'],
    ['unknown default squad', { ...routing, defaultSquad: 'sX' }, "routing.defaultSquad: squad 'sX' is not in routing.squads (s1)"],
    ['jurisdiction with unknown squad', { ...routing, jurisdictions: [{ id: 'j1', name: 'J', squad: 'sX' }] }, "routing.jurisdictions.0.squad: squad 'sX' is not in routing.squads"],
    ['duplicate squad id', { ...routing, squads: [{ id: 's1', name: 'A' }, { id: 's1', name: 'B' }] }, "routing.squads.1.id: squad id 's1' is used twice"],
    ['duplicate jurisdiction id', { ...routing, jurisdictions: [{ id: 'j', name: 'A', squad: 's1' }, { id: 'j', name: 'B', squad: 's1' }] }, "routing.jurisdictions.1.id: jurisdiction id 'j' is used twice"],
    ['camera mapped to unknown jurisdiction', { ...routing, cameraJurisdiction: { c1: 'jX' } }, "routing.cameraJurisdiction.c1: jurisdiction 'jX' is not in routing.jurisdictions (none defined)"],
    ['missing defaultSquad', { squads: routing.squads }, 'routing.defaultSquad: '],
  ])('rejects %s', (_, r, expected) => {
    const got = issues(dispatchSchema, { routing: r });
    expect(got.some((m) => m.startsWith(expected)), `expected "${expected}", got ${JSON.stringify(got)}`).toBe(true);
  });

  it('rejects a missing routing, a bad code table and negative numbers', () => {
    expect(issues(dispatchSchema, {})).toEqual(['routing: Invalid input: expected object, received undefined']);
    expect(issues(dispatchSchema, { routing, codeTable: 'gb2013' })[0]).toMatch(/^codeTable: codeTable must be one of gbt30428.2-2013, gbt47678.5-2026/);
    expect(issues(dispatchSchema, { routing, deadlineHours: { stacking: 0 } })).toEqual(['deadlineHours.stacking: deadlineHours.stacking must be > 0 hours']);
    expect(issues(dispatchSchema, { routing, cooldownMinutes: 5 })[0]).toMatch(/cooldownMinutes/); // moved to incidents.cooldownMinutes
  });
});
