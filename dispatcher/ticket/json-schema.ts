import { z } from 'zod';
import { ticketStatusV1, ticketV1 } from './schema.js';

/**
 * The published JSON Schemas, generated from the zod schemas (the zod schema is the source of truth; the JSON
 * file is what other teams' validators load). scripts/gen-schemas.ts writes them; a unit test renders them
 * again in memory and fails when the committed files differ.
 */

export interface RenderedSchema {
  /** Path relative to the project root. */
  path: string;
  /** File content: 2-space JSON with a trailing newline. */
  text: string;
}

const FILES = [
  // What readers of the tickets topic see (we write tickets; unknown keys are refused: a new field is a new version).
  { path: 'schemas/ticket.v1.json', schema: ticketV1, io: 'output', id: 'urn:streetwatch:schema:ticket:1', title: 'streetwatch ticket, version 1' },
  // What squad systems may write: extra keys are accepted (and ignored), as parseStatus does.
  { path: 'schemas/ticket-status.v1.json', schema: ticketStatusV1, io: 'input', id: 'urn:streetwatch:schema:ticket-status:1', title: 'streetwatch ticket status, version 1' },
] as const;

export function renderJsonSchemas(): RenderedSchema[] {
  return FILES.map(({ path, schema, io, id, title }) => {
    const json = z.toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'throw' });
    const { $schema, ...rest } = json as Record<string, unknown>;
    return { path, text: `${JSON.stringify({ $schema, $id: id, title, ...rest }, null, 2)}\n` };
  });
}
