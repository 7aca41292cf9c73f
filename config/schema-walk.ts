/**
 * Walking a zod schema's structure: which keys an object allows, what an array holds, the options of a
 * union. zod issues do not carry that (an unknown key's issue does not list the known ones), and zod has no
 * public API for it, so this reads zod's internal definitions (`schema._zod.def`). It is the one place that
 * does: the loader's "did you mean" and the test that config/example.yaml documents every key both walk
 * schemas through it, and a zod upgrade that moves the internals breaks here only.
 *
 * Anything that is not a zod schema, or a definition of a shape this does not know, reads as `other` (or
 * undefined): the callers treat that as "nothing more to learn here", never as an error.
 */

type Def = { type: string; [k: string]: unknown };

const defOf = (s: unknown): Def | undefined => (s as { _zod?: { def?: Def } } | null | undefined)?._zod?.def;

/** Wrappers that change what may be absent or how a value is made, not the shape inside. */
const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'nonoptional', 'readonly', 'catch']);

/**
 * The schema inside any wrappers (optional, default, …), pipes (their input side: what a user writes) and
 * lazy schemas. Gives up after 32 layers, returning where it got to (a lazy schema can refer to itself).
 */
export function unwrap(schema: unknown): unknown {
  let s = schema;
  for (let i = 0; i < 32; i++) {
    const d = defOf(s);
    if (!d) return s;
    if (WRAPPERS.has(d.type)) s = d.innerType;
    else if (d.type === 'pipe') s = d.in;
    else if (d.type === 'lazy') s = (d.getter as () => unknown)();
    else return s;
  }
  return s;
}

/** What one schema is, for walking it. Reads this schema only: unwrap() first to see through wrappers. */
export type SchemaNode =
  | { kind: 'object'; shape: Record<string, unknown> }
  | { kind: 'array'; element: unknown }
  /** `discriminator` is set for a discriminated union (z.discriminatedUnion). */
  | { kind: 'union'; options: unknown[]; discriminator?: string }
  | { kind: 'record'; value: unknown }
  | { kind: 'tuple'; items: unknown[] }
  | { kind: 'literal'; values: unknown[] }
  /** Scalars, enums, and wrappers that were not unwrapped: `type` is zod's name for it. */
  | { kind: 'other'; type: string };

/** The node of `schema`, or undefined when it is not a zod schema. */
export function schemaNode(schema: unknown): SchemaNode | undefined {
  const d = defOf(schema);
  if (!d) return undefined;
  switch (d.type) {
    case 'object':
      return { kind: 'object', shape: d.shape as Record<string, unknown> };
    case 'array':
      return { kind: 'array', element: d.element };
    case 'union':
      return { kind: 'union', options: (d.options as unknown[] | undefined) ?? [], discriminator: d.discriminator as string | undefined };
    case 'record':
      return { kind: 'record', value: d.valueType };
    case 'tuple':
      return { kind: 'tuple', items: d.items as unknown[] };
    case 'literal':
      return { kind: 'literal', values: d.values as unknown[] };
    default:
      return { kind: 'other', type: d.type };
  }
}
