import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020Module from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../../../core/paths.js';
import { buildTicket, ticketContext } from '../../../../dispatcher/ticket/build.js';
import { renderJsonSchemas } from '../../../../dispatcher/ticket/json-schema.js';
import { ticketStatusV1, ticketV1 } from '../../../../dispatcher/ticket/schema.js';
import { exampleDispatch as dispatch, exampleInput as input, EXAMPLE_T0 as T0 } from '../../../../dispatcher/ticket/example.js';
import { statusReport } from '../../../helpers/factories.js';

// ajv is not a dependency of ours: it is in node_modules through fastify, and only these tests use it, as an
// independent JSON Schema validator (the squads validate with their own; ours must agree with theirs).
const Ajv2020 = Ajv2020Module.default;
const addFormats = addFormatsModule.default;

const committed = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8');
const rendered = renderJsonSchemas();
const jsonSchema = (path: string) => JSON.parse(rendered.find((r) => r.path === path)!.text) as Record<string, unknown>;

function validator(path: string) {
  const ajv = new Ajv2020({ strict: true, allErrors: true });
  addFormats(ajv);
  return ajv.compile(JSON.parse(committed(path)));
}

const ticket = buildTicket(input(), ticketContext(dispatch, 'Asia/Shanghai', T0 + 600_000));
const status = statusReport({ ticketId: ticket.ticketId, status: 'on_site', officer: '31010012' });

describe('committed JSON Schemas', () => {
  it.each(rendered.map((r) => [r.path, r.text]))('%s matches the zod schema (else run: node bin/run-ts.js scripts/gen-schemas.ts)', (path, text) => {
    expect(committed(path)).toBe(text);
  });

  it('are draft 2020-12 with an id and title; the ticket forbids unknown keys, the status tolerates them', () => {
    const t = jsonSchema('schemas/ticket.v1.json');
    expect(t).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', $id: 'urn:streetwatch:schema:ticket:1', additionalProperties: false });
    expect(jsonSchema('schemas/ticket-status.v1.json').additionalProperties).toBeUndefined();
  });

  it('require exactly the fields the zod schemas require', () => {
    const t = jsonSchema('schemas/ticket.v1.json');
    expect(new Set(t.required as string[])).toEqual(
      new Set(['schema', 'ticketId', 'issuedAt', 'violation', 'place', 'squad', 'firstSeen', 'confirmedAt', 'dwellSec', 'evidence', 'priority', 'deadline', 'recommendedAction']),
    );
    const s = jsonSchema('schemas/ticket-status.v1.json');
    expect(new Set(s.required as string[])).toEqual(new Set(['schema', 'ticketId', 'status', 'squad', 'at']));
    // Every field is documented in the published schema.
    const props = t.properties as Record<string, { description?: string; type?: string }>;
    for (const [k, v] of Object.entries(props)) expect(v.description, k).toBeTruthy();
  });
});

describe('a built ticket validates against the committed JSON Schema', () => {
  const validateTicket = validator('schemas/ticket.v1.json');
  const validateStatus = validator('schemas/ticket-status.v1.json');

  it('ticket: valid, and zod agrees', () => {
    expect(validateTicket(ticket), JSON.stringify(validateTicket.errors)).toBe(true);
    expect(ticketV1.safeParse(ticket).success).toBe(true);
  });

  it.each<[string, (t: Record<string, unknown>) => void]>([
    ['an unknown top-level key', (t) => (t.extra = 1)],
    ['a missing deadline', (t) => delete t.deadline],
    ['a time without offset', (t) => (t.deadline = '2026-11-28T10:05:00')],
    ['a wrong schema id', (t) => (t.schema = 'streetwatch.ticket/2')],
    ['an unknown priority', (t) => (t.priority = 'urgent')],
    ['an upper-case sha256', (t) => ((t.evidence as { sha256: string }[])[0]!.sha256 = 'A'.repeat(64))],
    ['a 3-digit code', (t) => ((t.violation as { code: string }).code = '050')],
  ])('ticket with %s: both validators refuse it', (_n, mutate) => {
    const t = structuredClone(ticket) as unknown as Record<string, unknown>;
    mutate(t);
    expect(validateTicket(t)).toBe(false);
    expect(ticketV1.safeParse(t).success).toBe(false);
  });

  it('status: valid with extra keys; refused without offset or with an unknown status', () => {
    expect(validateStatus(status)).toBe(true);
    expect(validateStatus({ ...status, vendorField: 'x' })).toBe(true);
    expect(ticketStatusV1.safeParse(status).success).toBe(true);
    for (const bad of [{ ...status, at: '2026-11-27T10:20:00' }, { ...status, status: 'closed' }, { ...status, squad: undefined }]) {
      expect(validateStatus(JSON.parse(JSON.stringify(bad)))).toBe(false);
      expect(ticketStatusV1.safeParse(bad).success).toBe(false);
    }
  });
});
