import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { redact } from '../../../core/redact.js';
import { StreetwatchError } from '../../../core/errors.js';
import { createLogger } from '../../../core/log.js';

describe('redact', () => {
  it.each([
    ['rtsp://admin:s3cret@10.0.0.5:554/Streaming/Channels/101', 'rtsp://***:***@10.0.0.5:554/Streaming/Channels/101'],
    ['rtsp://admin@10.0.0.5/x', 'rtsp://***:***@10.0.0.5/x'],
    ['rtsp://10.0.0.5/x', 'rtsp://10.0.0.5/x'],
    ['[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized rtsp://u:p@h/a', '[rtsp @ 0x1] method DESCRIBE failed: 401 Unauthorized rtsp://***:***@h/a'],
    ['http://h/x?user=a&password=b&c=d', 'http://h/x?user=a&password=***&c=d'],
    ['two rtsp://a:b@h1/ and rtsps://c:d@h2/', 'two rtsp://***:***@h1/ and rtsps://***:***@h2/'],
  ])('%s', (input, want) => {
    expect(redact(input)).toBe(want);
  });

  it('applies to error messages', () => {
    expect(new StreetwatchError('SOURCE_UNREACHABLE', 'cannot reach rtsp://u:pw@h/x').message).not.toContain('pw');
  });

  it('applies to every log line: message, fields and errors', () => {
    const lines: string[] = [];
    const dest = new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } });
    const log = createLogger({ level: 'info', destination: dest as never });
    log.info({ url: 'rtsp://u:topsecret@h/x', nested: { u: 'rtsp://a:topsecret@h' } }, 'connecting rtsp://u:topsecret@h/x');
    log.error({ err: new Error('failed rtsp://u:topsecret@h/x') }, 'oops');
    expect(lines.length).toBe(2);
    for (const l of lines) expect(l).not.toContain('topsecret');
    expect(lines[0]).toContain('***:***@h');
  });
});
