import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { StreetwatchError } from '../../../core/errors.js';
import { createLogger } from '../../../core/log.js';
import { redact } from '../../../core/redact.js';

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
    const lines: string[] = [];
    const dest = new Writable({ write(c, _e, cb) { lines.push(String(c)); cb(); } });
    const log = createLogger({ level: 'info', destination: dest as never });
    log.warn({ url: '/api/events?token=topsecret-token-000001' }, 'refused /api/events?token=topsecret-token-000001');
    expect(lines.join('')).not.toContain('topsecret');
  });
});
