import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createKeyFiles, loadKeyFiles, PUBLIC_KEY_FILE } from '../../../../dispatcher/evidence/keys.js';
import { cleanup, tempDir } from '../../../helpers/fixtures/evidence.js';

afterEach(cleanup);

describe('evidence key files', () => {
  it('a mismatched pair or a missing key is a clear error', () => {
    const a = tempDir();
    const b = tempDir();
    createKeyFiles(a);
    createKeyFiles(b);
    writeFileSync(join(a, PUBLIC_KEY_FILE), readFileSync(join(b, PUBLIC_KEY_FILE)));
    expect(() => loadKeyFiles(a)).toThrow(expect.objectContaining({ code: 'KEY_INVALID' }));
    expect(() => loadKeyFiles(join(a, 'none'))).toThrow(expect.objectContaining({ code: 'KEY_NOT_FOUND', message: expect.stringContaining('keys init') }));
    expect(existsSync(join(a, 'none'))).toBe(false);
  });
});
