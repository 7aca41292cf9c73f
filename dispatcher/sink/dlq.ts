import type { OutMessage, StatusMessageMeta } from './sink.js';

/**
 * The dead-letter message for an input that could not be processed. The wrapper keeps everything needed to
 * look at it and replay it by hand: why, where from, and the original bytes (as text when they are UTF-8,
 * else base64, said so in `encoding`).
 */
export interface DeadLetterV1 {
  schema: 'streetwatch.dead-letter/1';
  reason: string;
  topic: string;
  partition: number;
  offset: string;
  key?: string;
  /** ISO 8601 time the message was dead-lettered. */
  at: string;
  encoding: 'utf8' | 'base64' | 'none';
  original: string | null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function encodeOriginal(raw: Uint8Array | string | null | undefined): Pick<DeadLetterV1, 'encoding' | 'original'> {
  if (raw === null || raw === undefined) return { encoding: 'none', original: null };
  if (typeof raw === 'string') return { encoding: 'utf8', original: raw };
  try {
    return { encoding: 'utf8', original: utf8.decode(raw) };
  } catch {
    return { encoding: 'base64', original: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') };
  }
}

export function deadLetter(
  raw: Uint8Array | string | null | undefined,
  meta: StatusMessageMeta,
  reason: string,
  dlqTopic: string,
  now: Date = new Date(),
): OutMessage {
  const letter: DeadLetterV1 = {
    schema: 'streetwatch.dead-letter/1',
    reason,
    topic: meta.topic,
    partition: meta.partition,
    offset: meta.offset,
    ...(meta.key !== undefined && { key: meta.key }),
    at: now.toISOString(),
    ...encodeOriginal(raw),
  };
  return {
    topic: dlqTopic,
    // Keyed by source topic and partition: one source partition's dead letters stay in order.
    key: `${meta.topic}/${meta.partition}`,
    value: JSON.stringify(letter),
    headers: { reason, 'source-topic': meta.topic, 'source-partition': String(meta.partition), 'source-offset': meta.offset },
  };
}
