import { Writable } from 'node:stream';
import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { kafkaSchema } from '../../../../config/dispatch.js';
import { createLogger } from '../../../../core/log.js';
import { kafkaClientConfig, pinoLogCreator } from '../../../../dispatcher/sink/kafka-options.js';

const PASSWORD = 's3cr3t-Pa55!';
const base = { brokers: ['10.0.0.5:9093'], clientId: 'sw-test' };
const sasl = { mechanism: 'scram-sha-512', usernameEnv: 'SW_KAFKA_USER', passwordEnv: 'SW_KAFKA_PASSWORD' } as const;
const env = { SW_KAFKA_USER: 'streetwatch', SW_KAFKA_PASSWORD: PASSWORD };

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  return { lines, logger: createLogger({ level: 'debug', destination }) };
}

describe('kafkaClientConfig', () => {
  it('plaintext, no SASL: brokers, client id, kafkajs logs at warn', () => {
    const c = kafkaClientConfig(kafkaSchema.parse(base), { baseDir: '/etc/sw', env: {} });
    expect(c).toEqual({ clientId: 'sw-test', brokers: ['10.0.0.5:9093'], logLevel: logLevel.WARN });
  });

  it('TLS files are read relative to the config folder; SASL credentials come from the named variables', () => {
    const read: string[] = [];
    const c = kafkaClientConfig(kafkaSchema.parse({ ...base, tls: { caFile: 'secrets/ca.pem', certFile: '/abs/c.crt', keyFile: 'c.key', rejectUnauthorized: false }, sasl }), {
      baseDir: '/etc/sw',
      env,
      readFile: (p) => {
        read.push(p);
        return Buffer.from(`PEM ${p}`);
      },
    });
    expect(read).toEqual(['/etc/sw/secrets/ca.pem', '/abs/c.crt', '/etc/sw/c.key']);
    expect(c.ssl).toEqual({ rejectUnauthorized: false, ca: [Buffer.from('PEM /etc/sw/secrets/ca.pem')], cert: Buffer.from('PEM /abs/c.crt'), key: Buffer.from('PEM /etc/sw/c.key') });
    expect(c.sasl).toEqual({ mechanism: 'scram-sha-512', username: 'streetwatch', password: PASSWORD });
  });

  it('TLS with no files uses the system CAs; tls.enabled false is plaintext', () => {
    expect(kafkaClientConfig(kafkaSchema.parse({ ...base, tls: {} }), { baseDir: '.', env: {} }).ssl).toEqual({ rejectUnauthorized: true });
    expect(kafkaClientConfig(kafkaSchema.parse({ ...base, tls: { enabled: false, caFile: 'x' } }), { baseDir: '.', env: {} }).ssl).toBeUndefined();
  });

  it.each<[string, Record<string, string>, RegExp]>([
    ['password unset', { SW_KAFKA_USER: 'u' }, /environment variable SW_KAFKA_PASSWORD \(dispatch\.kafka\.sasl\), which is not set/],
    ['password empty', { SW_KAFKA_USER: 'u', SW_KAFKA_PASSWORD: '' }, /SW_KAFKA_PASSWORD.*which is empty/],
    ['user unset', { SW_KAFKA_PASSWORD: PASSWORD }, /user name .*SW_KAFKA_USER/],
  ])('%s: KAFKA_CREDENTIALS_MISSING naming the variable, never a value', (_n, e, message) => {
    try {
      kafkaClientConfig(kafkaSchema.parse({ ...base, sasl }), { baseDir: '.', env: e });
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'KAFKA_CREDENTIALS_MISSING' });
      expect((err as Error).message).toMatch(message);
      expect(JSON.stringify(err)).not.toContain(PASSWORD);
    }
  });

  it('an unreadable TLS file: KAFKA_TLS_FILE_UNREADABLE naming the key and path', () => {
    expect(() => kafkaClientConfig(kafkaSchema.parse({ ...base, tls: { caFile: 'missing-ca.pem' } }), { baseDir: '/nonexistent-dir' })).toThrow(
      expect.objectContaining({ code: 'KAFKA_TLS_FILE_UNREADABLE', message: expect.stringMatching(/dispatch\.kafka\.tls\.caFile: cannot read 'missing-ca\.pem' \(\/nonexistent-dir\/missing-ca\.pem\)/) }),
    );
  });

  it('SASL without TLS is warned about, without the password', () => {
    const { lines, logger } = capture();
    kafkaClientConfig(kafkaSchema.parse({ ...base, sasl: { ...sasl, mechanism: 'plain' } }), { baseDir: '.', env, logger });
    logger.flush();
    expect(lines.join('')).toMatch(/SASL plain without TLS/);
    expect(lines.join('')).not.toContain(PASSWORD);
  });
});

describe('pinoLogCreator', () => {
  it('routes kafkajs entries to pino at the matching level, dropping secret-looking fields', () => {
    const { lines, logger } = capture();
    const log = pinoLogCreator(logger)!(logLevel.WARN);
    log({ namespace: 'Connection', level: logLevel.ERROR, label: 'ERROR', log: { timestamp: 'x', message: 'Connection timeout', broker: '10.0.0.5:9093' } });
    log({ namespace: 'SASL', level: logLevel.WARN, label: 'WARN', log: { timestamp: 'x', message: 'auth retry', password: PASSWORD, saslPassword: PASSWORD } });
    logger.flush();
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.map((e) => [e.level, e.msg, e.kafkajs])).toEqual([
      [50, 'kafkajs: Connection timeout', 'Connection'],
      [40, 'kafkajs: auth retry', 'SASL'],
    ]);
    expect(entries[0]!.broker).toBe('10.0.0.5:9093');
    expect(lines.join('')).not.toContain(PASSWORD);
  });
});
