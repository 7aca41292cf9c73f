import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { schemaNode, unwrap } from '../../../config/schema-walk.js';

// zod's internals are not an API: these pin what the walker reads from them, so a zod upgrade that moves
// them fails here by name rather than as a "did you mean" that quietly stops suggesting.
describe('schema walk', () => {
  const point = z.strictObject({ x: z.number(), y: z.number() });

  it('unwraps optional, default, nullable, readonly, catch, pipes (their input) and lazy schemas', () => {
    expect(unwrap(point.optional())).toBe(point);
    expect(unwrap(point.default({ x: 0, y: 0 }).nullable().readonly())).toBe(point);
    expect(unwrap(point.catch({ x: 0, y: 0 }))).toBe(point);
    expect(unwrap(point.transform((p) => p.x))).toBe(point);
    expect(unwrap(z.lazy(() => point).optional())).toBe(point);
    expect(unwrap(point)).toBe(point);
    expect(unwrap('not a schema')).toBe('not a schema');
  });

  it('gives up on a lazy schema that is only itself, where it got to', () => {
    const loop: z.ZodType = z.lazy(() => loop);
    expect(unwrap(loop)).toBe(loop);
  });

  it('tells objects, arrays, unions, records, tuples and literals apart; the rest is other', () => {
    expect(schemaNode(point)).toEqual({ kind: 'object', shape: point.shape });
    expect(schemaNode(z.array(point))).toEqual({ kind: 'array', element: point });
    const a = z.strictObject({ kind: z.literal('a'), n: z.number() });
    const b = z.strictObject({ kind: z.literal('b'), s: z.string() });
    expect(schemaNode(z.discriminatedUnion('kind', [a, b]))).toEqual({ kind: 'union', options: [a, b], discriminator: 'kind' });
    expect(schemaNode(z.union([a, b]))).toMatchObject({ kind: 'union', options: [a, b], discriminator: undefined });
    expect(schemaNode(z.record(z.string(), point))).toEqual({ kind: 'record', value: point });
    expect(schemaNode(z.tuple([z.number(), z.string()]))).toMatchObject({ kind: 'tuple', items: [expect.anything(), expect.anything()] });
    expect(schemaNode(z.literal('a'))).toEqual({ kind: 'literal', values: ['a'] });
    expect(schemaNode(z.string())).toEqual({ kind: 'other', type: 'string' });
    // a wrapper is read as it is: unwrap() first to see inside
    expect(schemaNode(point.optional())).toEqual({ kind: 'other', type: 'optional' });
    expect(schemaNode(undefined)).toBeUndefined();
    expect(schemaNode({ shape: {} })).toBeUndefined();
  });
});
