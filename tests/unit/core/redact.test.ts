import { describe, expect, it } from 'vitest';
import { Writable } from 'node:stream';
import { redact } from '../../../core/redact.js';
import { StreetwatchError } from '../../../core/errors.js';
import { createLogger, type Logger } from '../../../core/log.js';

/** A logger whose output lines are kept as written, so a test can look for what must not be there. */
function capturedLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const dest = new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } });
  return { log: createLogger({ level: 'info', destination: dest as never }), lines };
}

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
    const { log, lines } = capturedLog();
    log.info({ url: 'rtsp://u:topsecret@h/x', nested: { u: 'rtsp://a:topsecret@h' } }, 'connecting rtsp://u:topsecret@h/x');
    log.error({ err: new Error('failed rtsp://u:topsecret@h/x') }, 'oops');
    expect(lines.length).toBe(2);
    for (const l of lines) expect(l).not.toContain('topsecret');
    expect(lines[0]).toContain('***:***@h');
  });
});

// Query secrets: the value of a URL is hidden, the help text that names the parameter is left as written.
describe('redact: query secrets and the text around them', () => {
  it.each([
    // secrets in URLs: always hidden
    ['ws://h/api/events?token=demo-command-token-0001', 'ws://h/api/events?token=***'],
    ['GET /api/live/cam-a?token=abcdefghijklmnop&x=1 refused', 'GET /api/live/cam-a?token=***&x=1 refused'],
    ['{"url":"http://h/x?key=s3cr3t"}', '{"url":"http://h/x?key=***"}'],
    ['see `http://h/x?password=hunter2` for', 'see `http://h/x?password=***` for'],
    ['http://h/x?auth=<abcdefghijklmnop>', 'http://h/x?auth=***'], // 16 characters in brackets: could be a token
    ['http://h/x?token=<script>alert(1)</script>', 'http://h/x?token=***'],
    ['http://h/x?token=a#frag', 'http://h/x?token=***#frag'],
    // help text: nothing to hide
    ['send the token as `Authorization: Bearer <token>` (or `?token=` on WebSocket routes)', 'send the token as `Authorization: Bearer <token>` (or `?token=` on WebSocket routes)'],
    ['WebSockets take ?token=<token>', 'WebSockets take ?token=<token>'],
    ['(WebSockets: ?token=<token>)', '(WebSockets: ?token=<token>)'],
    ['add ?token= to the URL', 'add ?token= to the URL'],
    ['?key=<api-key>.', '?key=<api-key>.'],
  ])('%s', (input, want) => {
    expect(redact(input)).toBe(want);
  });

  it('keeps help text in an error message readable and a token in a log line hidden', () => {
    expect(new StreetwatchError('CONSOLE_UNAUTHORIZED', 'use ?token=<token> on WebSockets').message).toBe('use ?token=<token> on WebSockets');
    const { log, lines } = capturedLog();
    log.warn({ url: '/api/events?token=topsecret-token-000001' }, 'refused /api/events?token=topsecret-token-000001');
    expect(lines.join('')).not.toContain('topsecret');
  });
});
