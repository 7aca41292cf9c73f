import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node as YamlNode } from 'yaml';
import { configSchema } from '../../../config/schema.js';
import { schemaNode, unwrap } from '../../../config/schema-walk.js';
import { PROJECT_ROOT } from '../../../core/paths.js';

/**
 * config/example.yaml is the reference for every key. These tests walk the zod schema itself (through
 * config/schema-walk.ts, as the loader does), so adding a key to any schema without showing (and commenting)
 * it in example.yaml fails here instead of going undocumented.
 */

interface SchemaKeys {
  /** Every key path the schema accepts, lists written as [] (cameras[].zones[].kind); union members merged. */
  all: Set<string>;
  /**
   * One entry per object schema: its keys and every path where it is used. An object reused in several places
   * (defaults.ring and cameras[].ring, a source and a vehicle's video, activeHours and openingHours) is
   * documented once: each of its keys must appear at one of those paths.
   */
  objects: { keys: string[]; prefixes: string[] }[];
}

export function schemaKeys(schema: unknown): SchemaKeys {
  const all = new Set<string>();
  const objects = new Map<unknown, { keys: string[]; prefixes: string[] }>();
  const visit = (wrapped: unknown, p: string, depth: number) => {
    if (depth > 40) throw new Error(`schema too deep at ${p}`);
    const s = unwrap(wrapped);
    const n = schemaNode(s);
    if (n?.kind === 'union') {
      for (const o of n.options) visit(o, p, depth + 1);
    } else if (n?.kind === 'array') {
      visit(n.element, `${p}[]`, depth + 1);
    } else if (n?.kind === 'object') {
      const entry = objects.get(s) ?? { keys: Object.keys(n.shape), prefixes: [] };
      objects.set(s, entry);
      entry.prefixes.push(p);
      for (const [k, v] of Object.entries(n.shape)) {
        const kp = p ? `${p}.${k}` : k;
        all.add(kp);
        visit(v, kp, depth + 1);
      }
    }
    // Records (keys are data, e.g. camera ids), tuples (points) and scalars are leaves.
  };
  visit(schema, '', 0);
  return { all, objects: [...objects.values()] };
}

/** Keys not found (at any path their object is used) among `present`, named at the object's first use. */
function undocumented({ objects }: SchemaKeys, present: Set<string>): string[] {
  const join = (p: string, k: string) => (p ? `${p}.${k}` : k);
  return objects
    .flatMap((o) => o.keys.filter((k) => !o.prefixes.some((p) => present.has(join(p, k)))).map((k) => join(o.prefixes[0]!, k)))
    .sort();
}

interface DocKey {
  path: string;
  commented: boolean;
}

/**
 * Every key in the YAML text with whether a comment explains it: on its own line (inline) or on the line
 * above (a comment line, or a `- # ...` list item opener).
 */
function documentKeys(text: string): DocKey[] {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { merge: true, lineCounter });
  expect(doc.errors).toEqual([]);
  const lines = text.split('\n');
  const commentedAt = (offset: number) => {
    const { line } = lineCounter.linePos(offset);
    const here = lines[line - 1] ?? '';
    const above = (lines[line - 2] ?? '').trim();
    return /\s#\s/.test(here) || above.startsWith('#') || above.startsWith('- #');
  };
  const out: DocKey[] = [];
  const visit = (node: unknown, p: string) => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const k = pair.key as YamlNode;
        if (!isScalar(k) || typeof k.value === 'symbol' || !k.range) continue;
        const kp = p ? `${p}.${String(k.value)}` : String(k.value);
        out.push({ path: kp, commented: commentedAt(k.range[0]) });
        visit(pair.value, kp);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) visit(item, `${p}[]`);
    }
  };
  visit(doc.contents, '');
  return out;
}

const exampleText = readFileSync(join(PROJECT_ROOT, 'config/example.yaml'), 'utf8');

describe('config/example.yaml documents every key', () => {
  const keys = schemaKeys(configSchema);
  const docKeys = documentKeys(exampleText);
  const docPaths = new Set(docKeys.map((k) => k.path));

  it('the schema walk sees the whole schema (sanity: known deep keys, shared objects)', () => {
    for (const p of [
      'cameras[].source.url',
      'cameras[].source.video.path',
      'cameras[].source.telemetry.videoStartTime',
      'cameras[].zones[].rules.stall.activeHours[].days',
      'cameras[].zones[].openingHours[].to',
      'cameras[].zones[].geofence.coordinates',
      'cameras[].zones[].shop.licence',
      'dispatch.kafka.topics.ticketStatus',
      'dispatch.kafka.sasl.passwordEnv',
      'dispatch.routing.cameraJurisdiction',
      'defaults.sampling.fps',
    ]) {
      expect(keys.all).toContain(p);
    }
    expect(keys.all.size).toBeGreaterThan(100);
    const ring = keys.objects.find((o) => o.keys.includes('keepMinutes'));
    expect(ring?.prefixes).toEqual(['defaults.ring', 'cameras[].ring']);
  });

  it('every key the schema knows appears in example.yaml', () => {
    expect(undocumented(keys, docPaths), 'add these keys (with a comment) to config/example.yaml').toEqual([]);
  });

  it('every key in example.yaml is one the schema knows (beyond data-keyed maps)', () => {
    // Data-keyed maps: camera ids, and a detector's own options (checked by that detector's schema).
    const dataKeyed = /^dispatch\.routing\.cameraJurisdiction\.|(^|\.)detectors\[\]\.options\./;
    const unknown = [...docPaths].filter((p) => !keys.all.has(p) && !dataKeyed.test(p)).sort();
    expect(unknown).toEqual([]);
  });

  it('every key has a comment (meaning, unit, default) where it appears, at least once', () => {
    const commented = new Set(docKeys.filter((k) => k.commented).map((k) => k.path));
    expect(undocumented(keys, commented), 'explain these keys in config/example.yaml').toEqual([]);
  });

  it('the checks can fail: a missing key or a missing comment is reported', () => {
    const trimmed = exampleText.replace(/^\s*# Minutes after an incident[\s\S]*?cooldownMinutes:.*$/m, '');
    expect(trimmed).not.toBe(exampleText);
    expect(undocumented(keys, new Set(documentKeys(trimmed).map((k) => k.path)))).toEqual(['incidents.cooldownMinutes']);
    const uncommented = exampleText.replace('    # Partitions of the topics streetwatch creates. Default: 6.\n', '');
    expect(uncommented).not.toBe(exampleText);
    const commented = new Set(documentKeys(uncommented).filter((k) => k.commented).map((k) => k.path));
    expect(undocumented(keys, commented)).toEqual(['dispatch.kafka.partitions']);
  });
});
