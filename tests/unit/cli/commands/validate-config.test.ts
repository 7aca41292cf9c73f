import { describe, expect, it } from 'vitest';
import { spawnCli as cli } from '../../../helpers/cli.js';

const INVALID = 'tests/helpers/fixtures/config/invalid.yaml';

describe('streetwatch validate-config', () => {
  it('exits 0 with a one-line summary for the demo config', async () => {
    const r = await cli('validate-config', 'config/demo.yaml');
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toBe('config/demo.yaml: OK — 1 camera (1 enabled), 4 zones (1 shopfront, 1 no_vending, 1 no_stacking, 1 mask), dispatch local\n');
  });

  it('exits 0 for the documented example', async () => {
    const r = await cli('validate-config', 'config/example.yaml');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^config\/example\.yaml: OK — 4 cameras \(2 enabled\), 11 zones .*dispatch kafka\n$/);
  });

  it('exits 1 and prints every problem as file:line:column  path  message', async () => {
    const r = await cli('validate-config', INVALID);
    expect(r.code).toBe(1);
    expect(r.out).toBe('');
    const lines = r.err.trimEnd().split('\n');
    expect(lines).toEqual([
      `${INVALID}:8:7  cameras[0].source.transprt  unknown key 'transprt'; did you mean 'transport'?`,
      `${INVALID}:10:9  cameras[0].zones[0]  a shopfront zone needs shop: {id, name} (the shop is the ticket's subject)`,
      `${INVALID}:12:9  cameras[0].zones[0].polygon  a polygon needs at least 3 points [x, y]; got a list of 2`,
      `${INVALID}: 3 problems; config/example.yaml documents every key.`,
    ]);
  });

  it('points a YAML syntax error at its line', async () => {
    const file = 'tests/helpers/fixtures/config/syntax-error.yaml';
    const r = await cli('validate-config', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain(`${file}:4:32  cameras[0].source.url  YAML: this string has no closing quote`);
  });

  it('--json prints the issues as JSON on stdout', async () => {
    const r = await cli('validate-config', '--json', INVALID);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.out) as { ok: boolean; code: string; issues: { line: number; column: number; path: string }[] };
    expect(out.ok).toBe(false);
    expect(out.code).toBe('CONFIG_INVALID');
    expect(out.issues.map((i) => [i.line, i.column, i.path])).toEqual([
      [8, 7, 'cameras[0].source.transprt'],
      [10, 9, 'cameras[0].zones[0]'],
      [12, 9, 'cameras[0].zones[0].polygon'],
    ]);
    expect(r.out).not.toContain('TopSecret9');
    const ok = JSON.parse((await cli('validate-config', 'config/demo.yaml', '--json')).out) as Record<string, unknown>;
    expect(ok).toMatchObject({ ok: true, cameras: 1, zones: 4, zonesByKind: { shopfront: 1, no_vending: 1, no_stacking: 1, mask: 1 } });
  });

  it('exits 1 naming a missing file', async () => {
    const r = await cli('validate-config', 'no/such/config.yaml');
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/cannot read config file 'no\/such\/config\.yaml'.*no such file/);
  });

  it.each([[[]], [['a.yaml', 'b.yaml']], [['--strict', 'a.yaml']]])('exits 2 on a usage error: %j', async (args) => {
    const r = await cli('validate-config', ...args);
    expect(r.code).toBe(2);
    expect(r.err).toContain('usage: streetwatch validate-config [--json] <file>');
  });

  it('--help prints the usage and exits 0', async () => {
    const r = await cli('validate-config', '--help');
    expect(r.code).toBe(0);
    expect(r.out).toContain('usage: streetwatch validate-config');
  });
});
