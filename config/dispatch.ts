import { z } from 'zod';
import { RULE_IDS } from './zones.js';

/**
 * The dispatch stage: how incidents become tickets and which squad receives them. Without `kafka` the tickets
 * stay in the local store (embedded mode) and the console shows them. Secrets never live in the file: SASL
 * credentials are given as the NAMES of environment variables, so the config can be committed and shared.
 */

/** Event-category code tables (数字城管 部件和事件分类代码) a ticket's violation code is taken from. */
export const CODE_TABLES = ['gbt30428.2-2013', 'gbt47678.5-2026'] as const;

const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const id = (what: string) => z.string({ error: `${what} must be a string id` }).regex(ID_PATTERN, `${what}: use letters, digits, . _ - (at most 64)`);

/** host:port, host:port with an IPv6 literal in brackets. */
const BROKER = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;
export const brokerSchema = z
  .string()
  .refine((s) => {
    const m = BROKER.exec(s);
    return m !== null && Number(m[1]) >= 1 && Number(m[1]) <= 65535;
  }, 'a broker is "host:port", e.g. "10.0.0.5:9092" (use 127.0.0.1 rather than localhost: Node 20 may resolve it to ::1)');

// Kafka's own limit: 249 characters of [a-zA-Z0-9._-].
const TOPIC = /^[A-Za-z0-9._-]{1,249}$/;
const topicName = z.string().regex(TOPIC, 'a Kafka topic name uses only letters, digits, . _ - (at most 249)');
const topicPrefix = z.string().regex(/^[A-Za-z0-9._-]{0,200}$/, 'a topic prefix uses only letters, digits, . _ - (at most 200)');

/** Topic name suffixes; the full default name is topicPrefix + suffix. */
export const TOPIC_SUFFIXES = {
  cameras: 'cameras',
  hits: 'hits',
  incidents: 'incidents',
  tickets: 'tickets',
  ticketStatus: 'ticket-status',
  dlq: 'dlq',
} as const;
export type TopicKey = keyof typeof TOPIC_SUFFIXES;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const envName = (what: string) =>
  z
    .string({ error: `${what} is the NAME of an environment variable` })
    .regex(ENV_NAME, `${what} is the NAME of an environment variable (letters, digits, _), not the secret itself`);

export const kafkaTlsSchema = z
  .strictObject({
    enabled: z.boolean().default(true),
    /** PEM files; relative to the config file. caFile: the CA that signed the brokers' certificates. */
    caFile: z.string().min(1).optional(),
    /** Client certificate and key for mutual TLS; both or neither. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    rejectUnauthorized: z.boolean().default(true),
  })
  .check((ctx) => {
    const t = ctx.value;
    if ((t.certFile === undefined) !== (t.keyFile === undefined)) {
      ctx.issues.push({
        code: 'custom',
        continue: true,
        input: t,
        path: [t.certFile === undefined ? 'certFile' : 'keyFile'],
        message: 'mutual TLS needs both certFile and keyFile',
      });
    }
  });

export const kafkaSaslSchema = z.strictObject({
  mechanism: z.enum(['plain', 'scram-sha-256', 'scram-sha-512'], { error: 'mechanism must be one of plain, scram-sha-256, scram-sha-512' }),
  usernameEnv: envName('usernameEnv'),
  passwordEnv: envName('passwordEnv'),
});

const topicsInputSchema = z.strictObject({
  cameras: topicName.optional(),
  hits: topicName.optional(),
  incidents: topicName.optional(),
  tickets: topicName.optional(),
  ticketStatus: topicName.optional(),
  dlq: topicName.optional(),
});

export const kafkaSchema = z
  .strictObject({
    brokers: z.array(brokerSchema).min(1, 'kafka.brokers needs at least one "host:port"'),
    clientId: z.string().min(1).default('streetwatch'),
    topicPrefix: topicPrefix.default('streetwatch.'),
    /** Any topic left out is named topicPrefix + its default suffix (cameras, hits, incidents, tickets, ticket-status, dlq). */
    topics: topicsInputSchema.prefault({}),
    /** Partitions for topics streetwatch creates; camera configs and hits are spread over them by key. */
    partitions: z.number().int().min(1).max(10000).default(6),
    /**
     * Partitions of the camera registry topic (cluster mode). They are the shards workers hold, so they bound
     * how many workers share the cameras, and a join or leave moves whole partitions: 64 keeps each move
     * small up to dozens of workers.
     */
    cameraPartitions: z.number().int().min(1).max(10000).default(64),
    /**
     * Replicas of each topic streetwatch creates. Absent: the broker's default.replication.factor (a
     * single-node lab broker has 1; production clusters usually 3, which with acks from all in-sync replicas
     * keeps a ticket through the loss of one broker).
     */
    replicationFactor: z.number().int().min(1).max(32).optional(),
    /** Consumer group reading the ticket-status topic. Absent: clientId + ".ticket-status". */
    statusGroupId: z.string().min(1).max(255).optional(),
    tls: kafkaTlsSchema.optional(),
    sasl: kafkaSaslSchema.optional(),
  })
  .transform((k) => {
    const topics = Object.fromEntries(
      (Object.keys(TOPIC_SUFFIXES) as TopicKey[]).map((key) => [key, k.topics[key] ?? `${k.topicPrefix}${TOPIC_SUFFIXES[key]}`]),
    ) as Record<TopicKey, string>;
    return { ...k, topics };
  })
  .check((ctx) => {
    // Two roles on one topic would make each consumer read the other's messages as its own.
    const seen = new Map<string, TopicKey>();
    for (const [key, name] of Object.entries(ctx.value.topics) as [TopicKey, string][]) {
      const other = seen.get(name);
      if (other) {
        ctx.issues.push({ code: 'custom', continue: true, input: ctx.value, path: ['topics', key], message: `topic '${name}' is already used for ${other}; every role needs its own topic` });
      }
      seen.set(name, key);
    }
  });

export const squadSchema = z.strictObject({
  id: id('squad id'),
  /** e.g. 南京东路街道城管中队 */
  name: z.string().min(1),
});

export const jurisdictionSchema = z.strictObject({
  id: id('jurisdiction id'),
  /** Street or town (街道/镇). */
  name: z.string().min(1),
  /** The squad that receives this jurisdiction's tickets. */
  squad: id('squad'),
});

export const routingSchema = z
  .strictObject({
    squads: z.array(squadSchema).min(1, 'routing.squads needs at least one squad'),
    jurisdictions: z.array(jurisdictionSchema).default([]),
    /** Camera id → jurisdiction id, for cameras without location.jurisdiction. */
    cameraJurisdiction: z.record(z.string(), id('jurisdiction')).optional(),
    /**
     * Zone → jurisdiction, for a camera whose view crosses a street boundary: a zone listed here routes by its
     * own jurisdiction, before the camera's.
     */
    zoneJurisdiction: z
      .array(z.strictObject({ camera: id('camera'), zone: id('zone'), jurisdiction: id('jurisdiction') }))
      .optional(),
    /** Receives tickets of cameras in no jurisdiction. */
    defaultSquad: id('defaultSquad'),
  })
  .check((ctx) => {
    const r = ctx.value;
    const push = (path: PropertyKey[], message: string) => ctx.issues.push({ code: 'custom', continue: true, input: r, path, message });
    const squads = new Set<string>();
    r.squads.forEach((s, i) => {
      if (squads.has(s.id)) push(['squads', i, 'id'], `squad id '${s.id}' is used twice`);
      squads.add(s.id);
    });
    const known = () => [...squads].join(', ');
    const jurisdictions = new Set<string>();
    r.jurisdictions.forEach((j, i) => {
      if (jurisdictions.has(j.id)) push(['jurisdictions', i, 'id'], `jurisdiction id '${j.id}' is used twice`);
      jurisdictions.add(j.id);
      if (!squads.has(j.squad)) push(['jurisdictions', i, 'squad'], `squad '${j.squad}' is not in routing.squads (${known()})`);
    });
    if (!squads.has(r.defaultSquad)) push(['defaultSquad'], `squad '${r.defaultSquad}' is not in routing.squads (${known()})`);
    for (const [camera, j] of Object.entries(r.cameraJurisdiction ?? {})) {
      if (!jurisdictions.has(j)) {
        const list = [...jurisdictions].join(', ') || 'none defined';
        push(['cameraJurisdiction', camera], `jurisdiction '${j}' is not in routing.jurisdictions (${list})`);
      }
    }
    const zones = new Set<string>();
    (r.zoneJurisdiction ?? []).forEach((zj, i) => {
      const key = `${zj.camera}/${zj.zone}`;
      if (zones.has(key)) push(['zoneJurisdiction', i], `zone '${zj.zone}' of camera '${zj.camera}' is listed twice`);
      zones.add(key);
      if (!jurisdictions.has(zj.jurisdiction)) {
        const list = [...jurisdictions].join(', ') || 'none defined';
        push(['zoneJurisdiction', i, 'jurisdiction'], `jurisdiction '${zj.jurisdiction}' is not in routing.jurisdictions (${list})`);
      }
    });
  });

const hours = (what: string, dflt: number) => z.number({ error: `${what} must be a number of hours` }).positive(`${what} must be > 0 hours`).default(dflt);

/**
 * Hours a squad has to handle a ticket (处置时限). A mobile vendor leaves within the hour, so stall tickets are
 * urgent; door-front trading and stacking are ordered corrected within a working day.
 */
export const DEFAULT_DEADLINE_HOURS: Record<(typeof RULE_IDS)[number], number> = { stall: 2, door_front: 24, stacking: 12 };

/** Ticket priorities, most urgent first. */
export const PRIORITIES = ['high', 'normal', 'low'] as const;
export type Priority = (typeof PRIORITIES)[number];

/**
 * Base priority per violation. A stall is high: a vendor in a no-vending zone leaves within the hour, so a
 * squad that is not sent now finds nothing. Door-front trading and stacking stay where they are.
 */
export const DEFAULT_PRIORITY: Record<(typeof RULE_IDS)[number], Priority> = { stall: 'high', door_front: 'normal', stacking: 'normal' };

const priority = (what: string, dflt: Priority) => z.enum(PRIORITIES, { error: `${what} must be one of ${PRIORITIES.join(', ')}` }).default(dflt);

export const prioritySchema = z.strictObject({
  stall: priority('priority.stall', DEFAULT_PRIORITY.stall),
  door_front: priority('priority.door_front', DEFAULT_PRIORITY.door_front),
  stacking: priority('priority.stacking', DEFAULT_PRIORITY.stacking),
  /** A repeat (a recurrence, or a subject with offences in the last 12 months) is raised one level. */
  raiseRepeat: z.boolean().default(true),
});

export const dispatchSchema = z.strictObject({
  codeTable: z.enum(CODE_TABLES, { error: `codeTable must be one of ${CODE_TABLES.join(', ')}` }).default('gbt30428.2-2013'),
  kafka: kafkaSchema.optional(),
  routing: routingSchema,
  deadlineHours: z
    .strictObject({
      stall: hours('deadlineHours.stall', DEFAULT_DEADLINE_HOURS.stall),
      door_front: hours('deadlineHours.door_front', DEFAULT_DEADLINE_HOURS.door_front),
      stacking: hours('deadlineHours.stacking', DEFAULT_DEADLINE_HOURS.stacking),
    })
    .prefault({}),
  priority: prioritySchema.prefault({}),
});

export type CodeTable = (typeof CODE_TABLES)[number];
export type KafkaTlsConfig = z.infer<typeof kafkaTlsSchema>;
export type KafkaSaslConfig = z.infer<typeof kafkaSaslSchema>;
export type KafkaConfig = z.infer<typeof kafkaSchema>;
export type SquadConfig = z.infer<typeof squadSchema>;
export type JurisdictionConfig = z.infer<typeof jurisdictionSchema>;
export type RoutingConfig = z.infer<typeof routingSchema>;
export type DispatchConfig = z.infer<typeof dispatchSchema>;
export type PriorityConfig = z.infer<typeof prioritySchema>;
export type DeadlineHoursConfig = DispatchConfig['deadlineHours'];
