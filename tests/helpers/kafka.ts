// A real Kafka broker for integration tests (scripts/kafka-local: KRaft, single node, 127.0.0.1), and kafkajs
// clients with test-friendly timings.
//
//   const kafka = await startKafka();            // CI's broker if STREETWATCH_KAFKA_BROKERS is set, else our own
//   const own = await startKafka({ own: true }); // always our own broker (free ports, own data dir): kill()/restart()
//   ... own.brokers → ['127.0.0.1:<port>']
//   await own.kill(); await own.restart();       // SIGKILL, then start again on the same data dir and port
//   await own.stop();                            // SIGTERM (SIGKILL after 30 s), data dir deleted
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import type { Admin, Consumer, ConsumerConfig, Kafka as KafkaClient, KafkaConfig, Producer, ProducerConfig } from 'kafkajs';
import { freePort } from './net.js';

const { Kafka, logLevel } = kafkajs;

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(root, 'scripts', 'kafka-local');

export interface KafkaBroker {
  /** kafkajs `brokers`, always `127.0.0.1:<port>` (never `localhost`: on Node 20 that can resolve to ::1). */
  brokers: string[];
  /** The PLAINTEXT port; for a CI broker, the port of the first entry of STREETWATCH_KAFKA_BROKERS. */
  port: number;
  /** The broker's run dir (config, broker.log, data/); undefined for a CI broker. */
  dataDir: string | undefined;
  /** True when this helper started the broker (then kill() and restart() work). */
  own: boolean;
  /** Clean stop and delete the data dir. A no-op for a broker that CI started. */
  stop(): Promise<void>;
  /** SIGKILL the broker (a crash) and keep its data dir. Only for an own broker. */
  kill(): Promise<void>;
  /** Start the broker again on the same port and data dir, without reformatting. Only for an own broker. */
  restart(): Promise<void>;
}

export interface StartKafkaOptions {
  /** PLAINTEXT port; a free one by default. */
  port?: number;
  /** Start an own broker even when STREETWATCH_KAFKA_BROKERS names one (for fault tests). */
  own?: boolean;
  /** Run dir; tmp/kafka/test-<port> by default. Deleted by start and stop. */
  dataDir?: string;
}

const running = new Map<string, { port: number; dataDir: string }>();
let exitHookInstalled = false;

/** Last resort when a test process ends with own brokers still up: SIGKILL them and delete their data. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const { dataDir } of running.values()) {
      try {
        const pid = Number(readFileSync(join(dataDir, 'kafka.pid'), 'utf8').trim());
        if (pid > 0) process.kill(pid, 'SIGKILL');
      } catch {
        /* not running */
      }
      try {
        rmSync(dataDir, { recursive: true, force: true });
      } catch {
        /* best effort */
      }
    }
  });
}

function runScript(args: string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(script, args, { cwd: root, timeout: timeoutMs, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`scripts/kafka-local ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

export async function startKafka(opts: StartKafkaOptions = {}): Promise<KafkaBroker> {
  const external = process.env.STREETWATCH_KAFKA_BROKERS?.trim();
  if (external && !opts.own) {
    const brokers = external.split(',').map((b) => b.trim()).filter(Boolean);
    const notOwn = (what: string) => async () => {
      throw new Error(`${what}() needs an own broker: STREETWATCH_KAFKA_BROKERS is set, use startKafka({ own: true })`);
    };
    return {
      brokers,
      port: Number(brokers[0]?.split(':').pop()),
      dataDir: undefined,
      own: false,
      stop: async () => {},
      kill: notOwn('kill'),
      restart: notOwn('restart'),
    };
  }

  const port = opts.port ?? (await freePort());
  let controllerPort = await freePort();
  while (controllerPort === port) controllerPort = await freePort();
  const dataDir = opts.dataDir ?? join(root, 'tmp', 'kafka', `test-${port}`);
  const common = ['--port', String(port), '--controller-port', String(controllerPort), '--data', dataDir];

  installExitHook();
  await runScript(['start', ...common], 90_000);
  running.set(dataDir, { port, dataDir });

  return {
    brokers: [`127.0.0.1:${port}`],
    port,
    dataDir,
    own: true,
    async stop() {
      running.delete(dataDir);
      if (existsSync(dataDir)) await runScript(['stop', ...common], 60_000);
    },
    async kill() {
      await runScript(['kill', ...common], 30_000);
    },
    async restart() {
      await runScript(['start', '--keep', ...common], 90_000);
      running.set(dataDir, { port, dataDir });
    },
  };
}

let seq = 0;
/** A topic (or group) name no other test or run uses: `<prefix>-<pid>-<time>-<n>`. */
export function uniqueTopic(prefix = 'test'): string {
  seq += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${seq}`;
}
export const uniqueGroup = uniqueTopic;

/** A kafkajs client for `brokers`, quiet (errors only with STREETWATCH_KAFKA_DEBUG=1). */
export function kafkaClient(brokers: string[], config: Partial<KafkaConfig> = {}): KafkaClient {
  return new Kafka({
    clientId: 'streetwatch-test',
    brokers,
    logLevel: process.env.STREETWATCH_KAFKA_DEBUG ? logLevel.WARN : logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { initialRetryTime: 100, maxRetryTime: 2000, retries: 8 },
    ...config,
  });
}

export function createAdmin(brokers: string[] | KafkaClient): Admin {
  return (Array.isArray(brokers) ? kafkaClient(brokers) : brokers).admin();
}

/** An idempotent producer (acks must be -1 with it: pass `acks: -1` to send()). */
export function createProducer(brokers: string[] | KafkaClient, config: ProducerConfig = {}): Producer {
  return (Array.isArray(brokers) ? kafkaClient(brokers) : brokers).producer({
    idempotent: true,
    maxInFlightRequests: 1,
    ...config,
  });
}

/**
 * The test timings: an idle member notices a rebalance within ~1 s instead of 5–8 s, and a fetch returns
 * after 250 ms with nothing to read. Wait on `consumer.events.GROUP_JOIN`, not on sleeps.
 */
export const TEST_CONSUMER_TIMINGS = {
  sessionTimeout: 6000,
  heartbeatInterval: 500,
  rebalanceTimeout: 10_000,
  maxWaitTimeInMs: 250,
} as const;

export function createConsumer(
  brokers: string[] | KafkaClient,
  groupId: string,
  config: Partial<ConsumerConfig> = {},
): Consumer {
  return (Array.isArray(brokers) ? kafkaClient(brokers) : brokers).consumer({
    groupId,
    ...TEST_CONSUMER_TIMINGS,
    ...config,
  });
}

/** A consumed message's headers as strings (kafkajs gives Buffers, or arrays of them). */
export function headersOf(message: { headers?: Record<string, unknown> }): Record<string, string> {
  return Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]));
}
