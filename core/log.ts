import pino, { type Logger } from 'pino';
import { redact, redactDeep } from './redact.js';

export type { Logger };

/**
 * The process logger (pino, JSON lines on stdout). Every string argument and every string field is passed
 * through `redact`, so a camera URL with credentials never reaches a log line.
 */
export function createLogger(opts: { level?: string; name?: string; destination?: pino.DestinationStream } = {}): Logger {
  return pino(
    {
      name: opts.name ?? 'streetwatch',
      level: opts.level ?? process.env.STREETWATCH_LOG_LEVEL ?? 'info',
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { log: (obj) => redactDeep(obj) },
      serializers: {
        err: (e: unknown) => {
          const s = pino.stdSerializers.err(e as Error) as unknown as Record<string, unknown>;
          return redactDeep(s);
        },
      },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? redact(a) : a)) as Parameters<typeof method>);
        },
      },
    },
    opts.destination,
  );
}

let root: Logger | undefined;
/** The shared root logger; modules take a child of it (`log().child({ camera })`). */
export function log(): Logger {
  return (root ??= createLogger());
}
export function setRootLogger(l: Logger): void {
  root = l;
}
