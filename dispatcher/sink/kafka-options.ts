import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { logLevel, type KafkaConfig as KafkajsConfig, type LogEntry, type SASLOptions } from 'kafkajs';
import type { KafkaConfig } from '../../config/dispatch.js';
import { StreetwatchError } from '../../core/errors.js';
import type { Logger } from '../../core/log.js';

/**
 * dispatch.kafka → the kafkajs client options. Secrets: the config holds only the NAMES of environment
 * variables; the values are read here, at start, go into the kafkajs options and nowhere else — no log line,
 * no error message, no `details` ever contains one (errors name the variable, never its value).
 */

export interface KafkaConnectOptions {
  /** Folder relative TLS file paths are resolved against (the config file's folder). */
  baseDir: string;
  /** Default: process.env. */
  env?: Record<string, string | undefined>;
  /** Default: fs.readFileSync (tests pass a fake). */
  readFile?: (path: string) => Buffer;
  logger?: Logger;
}

function secretFromEnv(env: Record<string, string | undefined>, name: string, what: string): string {
  const v = env[name];
  if (v === undefined || v === '') {
    throw new StreetwatchError(
      'KAFKA_CREDENTIALS_MISSING',
      `the Kafka SASL ${what} is read from the environment variable ${name} (dispatch.kafka.sasl), which is ${v === undefined ? 'not set' : 'empty'}; export it before starting`,
      { details: { variable: name } },
    );
  }
  return v;
}

function tlsOptions(cfg: NonNullable<KafkaConfig['tls']>, opts: KafkaConnectOptions): KafkajsConfig['ssl'] {
  if (!cfg.enabled) return undefined;
  const read = opts.readFile ?? ((p: string) => readFileSync(p));
  const file = (key: 'caFile' | 'certFile' | 'keyFile', path: string | undefined) => {
    if (path === undefined) return undefined;
    const abs = isAbsolute(path) ? path : resolve(opts.baseDir, path);
    try {
      return read(abs);
    } catch (e) {
      throw new StreetwatchError(
        'KAFKA_TLS_FILE_UNREADABLE',
        `dispatch.kafka.tls.${key}: cannot read '${path}' (${abs}): ${e instanceof Error ? e.message : String(e)}`,
        { cause: e, details: { file: abs } },
      );
    }
  };
  const ca = file('caFile', cfg.caFile);
  const cert = file('certFile', cfg.certFile);
  const key = file('keyFile', cfg.keyFile);
  // Without caFile, Node's bundled CAs verify the brokers.
  return { rejectUnauthorized: cfg.rejectUnauthorized, ...(ca && { ca: [ca] }), ...(cert && { cert }), ...(key && { key }) };
}

function saslOptions(cfg: NonNullable<KafkaConfig['sasl']>, env: Record<string, string | undefined>): SASLOptions {
  const username = secretFromEnv(env, cfg.usernameEnv, 'user name');
  const password = secretFromEnv(env, cfg.passwordEnv, 'password');
  return { mechanism: cfg.mechanism, username, password };
}

// Keys a kafkajs log entry could, in some future version, carry a credential in.
const SECRET_KEY = /pass|secret|token|credential|sasl/i;

/**
 * kafkajs logs → our pino logger (JSON lines, redacted), at warn and above: kafkajs is chatty at info (every
 * connect, every rebalance) and the operator needs its warnings and errors, not its traffic.
 */
export function pinoLogCreator(logger: Logger): KafkajsConfig['logCreator'] {
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const { message, timestamp: _ts, ...extra } = log;
      const fields: Record<string, unknown> = { kafkajs: namespace };
      for (const [k, v] of Object.entries(extra)) if (!SECRET_KEY.test(k)) fields[k] = v;
      const text = `kafkajs: ${message}`;
      if (level === logLevel.ERROR || level === logLevel.NOTHING) logger.error(fields, text);
      else if (level === logLevel.WARN) logger.warn(fields, text);
      else if (level === logLevel.INFO) logger.info(fields, text);
      else logger.debug(fields, text);
    };
}

export function kafkaClientConfig(cfg: KafkaConfig, opts: KafkaConnectOptions): KafkajsConfig {
  const env = opts.env ?? process.env;
  const ssl = cfg.tls ? tlsOptions(cfg.tls, opts) : undefined;
  const sasl = cfg.sasl ? saslOptions(cfg.sasl, env) : undefined;
  if (sasl && !ssl && opts.logger) {
    opts.logger.warn({ mechanism: sasl.mechanism }, `Kafka SASL ${sasl.mechanism} without TLS: the ${sasl.mechanism === 'plain' ? 'password crosses' : 'session crosses'} the network unencrypted; set dispatch.kafka.tls`);
  }
  return {
    clientId: cfg.clientId,
    brokers: [...cfg.brokers],
    ...(ssl !== undefined && { ssl }),
    ...(sasl && { sasl }),
    logLevel: logLevel.WARN,
    ...(opts.logger && { logCreator: pinoLogCreator(opts.logger) }),
  };
}
