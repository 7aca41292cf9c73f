import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { isAlias, isCollection, isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { StreetwatchError } from '../core/errors.js';
import { redact } from '../core/redact.js';
import { configSchema, type Config } from './schema.js';
import { schemaNode, unwrap } from './schema-walk.js';

/**
 * Reads a config file and reports every problem at once, each with the file, line and column of the YAML node
 * it is about and the key path (cameras[1].source.url), so an operator can fix a 500-line camera list in one
 * pass instead of one error per run.
 */

export interface ConfigIssue {
  /** The file as the caller named it. */
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Key path such as cameras[1].source.url; '' for the top level. */
  path: string;
  message: string;
}

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file. */
  file: string;
  /** Folder relative paths in the config are resolved against (the file's folder). */
  baseDir: string;
  text: string;
}

/** A problem found across objects (zod validates one object at a time): where it is and what is wrong. */
export interface CrossCheckIssue {
  path: (string | number)[];
  message: string;
}

type PathSeg = string | number;

export async function loadConfig(file: string): Promise<LoadedConfig> {
  const abs = resolve(file);
  let text: string;
  try {
    text = await readFile(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' || code === 'ENOTDIR' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (e as Error).message;
    throw new StreetwatchError(
      'CONFIG_NOT_FOUND',
      `cannot read config file '${file}' (${abs}): ${why}. Pass the path of a YAML config; config/example.yaml documents every key.`,
      { cause: e, details: { file: abs } },
    );
  }
  return parseConfigText(text, file);
}

/** Parses and validates config text; `file` names it in errors and anchors relative paths. Throws CONFIG_INVALID. */
export function parseConfigText(text: string, file: string): LoadedConfig {
  const abs = resolve(file);
  const { issues, config } = analyse(text, file);
  if (issues.length > 0 || config === undefined) throw invalidConfigError(file, issues);
  return { config, file: abs, baseDir: dirname(abs), text };
}

function analyse(text: string, file: string): { issues: ConfigIssue[]; config?: Config } {
  const { doc, lineCounter, data: raw, issues } = toData(text);
  const at = (offset: number) => lineCounter.linePos(offset);
  const yamlIssues = issues.map((i) => {
    const path = pathAtOffset(doc, i.offset);
    // yaml reports an unclosed quote where the file ends; the string's opening quote is where to look.
    const pos = i.code === 'MISSING_CHAR' && /quote/.test(i.message) && path.length > 0 ? locate(doc, at, path, 'value') : posOf(at, i.offset);
    return { file, ...pos, path: formatPath(path), message: redact(i.message) };
  });
  // A repeated key leaves a well-formed document behind, so the schema can still report the rest; any other
  // syntax error leaves guesses that would only produce noise.
  if (issues.some((i) => !i.recoverable)) return { issues: sortIssues(yamlIssues) };
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) {
    return { issues: [{ file, line: 1, column: 1, path: '', message: 'the file is empty; a config needs at least "version: 1" (see config/example.yaml)' }] };
  }

  const out: ConfigIssue[] = [];
  const data = withoutExtensionKeys(raw);
  const result = configSchema.safeParse(data);
  if (!result.success) {
    for (const zi of flattenZodIssues(result.error.issues, [])) {
      for (const ci of explainZodIssue(zi, data)) out.push({ file, ...locate(doc, at, ci.path, ci.pointAt), path: formatPath(ci.path), message: redact(ci.message) });
    }
  }
  for (const ci of crossCheckConfig(data)) {
    out.push({ file, ...locate(doc, at, ci.path, 'value'), path: formatPath(ci.path), message: redact(ci.message) });
  }
  const all = sortIssues(dedupe([...yamlIssues, ...out]));
  return { issues: all, config: result.success && all.length === 0 ? result.data : undefined };
}

/** One line per issue: `file:line:column  path  message`. */
export function formatIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((i) => `${i.file}:${i.line}:${i.column}  ${i.path || '(top level)'}  ${i.message}`).join('\n');
}

/** cameras[1].source.url; keys other than identifiers (with -) are quoted: cameraJurisdiction["hp.cam.7"]. */
export function formatPath(path: readonly PropertyKey[]): string {
  let s = '';
  for (const seg of path) {
    if (typeof seg === 'number') s += `[${seg}]`;
    else if (typeof seg === 'string' && /^[A-Za-z_$][\w$-]*$/.test(seg)) s += s ? `.${seg}` : seg;
    else s += `[${JSON.stringify(String(seg))}]`;
  }
  return s;
}

function invalidConfigError(file: string, issues: ConfigIssue[]): StreetwatchError {
  const n = issues.length;
  const message =
    `invalid config file ${file} (${n} problem${n === 1 ? '' : 's'}):\n` +
    formatIssues(issues) +
    `\nFix ${n === 1 ? 'it' : 'them'} and check again with \`npx streetwatch validate-config ${file}\` (config/example.yaml documents every key).`;
  return new StreetwatchError('CONFIG_INVALID', message, { details: { file: resolve(file), issues } });
}

// ---------------------------------------------------------------------------------------------------------
// YAML

/**
 * Top-level keys starting with `x-` are ignored (as in docker-compose): a place to define YAML anchors that
 * cameras reuse with `<<: *name`, without the strict schema calling them unknown.
 */
function withoutExtensionKeys(data: unknown): unknown {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return data;
  return Object.fromEntries(Object.entries(data).filter(([k]) => !k.startsWith('x-')));
}

interface RawIssue {
  code?: string;
  offset: number;
  message: string;
  /** The data is still what the text says (a repeated key), so validation can go on. */
  recoverable: boolean;
}

function toData(text: string): { doc: Document; lineCounter: LineCounter; data: unknown; issues: RawIssue[] } {
  const lineCounter = new LineCounter();
  // merge: YAML 1.1 `<<: *anchor` lets a long camera list share blocks. uniqueKeys (the default) makes a
  // repeated key an error: silently keeping the last one hides the edit that was meant.
  const doc = parseDocument(text, { lineCounter, merge: true, uniqueKeys: true, prettyErrors: false });
  const issues: RawIssue[] = [...doc.errors, ...doc.warnings].map((e) => ({
    code: e.code,
    offset: e.pos[0],
    message: `YAML: ${yamlMessage(e.code, e.message)}`,
    recoverable: e.code === 'DUPLICATE_KEY',
  }));
  let data: unknown = null;
  if (issues.every((i) => i.recoverable)) {
    try {
      data = doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      issues.push({ offset: 0, message: `YAML: ${(e as Error).message}`, recoverable: false });
    }
  }
  return { doc, lineCounter, data, issues };
}

function yamlMessage(code: string, message: string): string {
  const first = message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  if (code === 'DUPLICATE_KEY') return 'a key is repeated in this mapping (keys must be unique; the later one would silently win)';
  if (code === 'MISSING_CHAR' && /quote/.test(first)) return 'this string has no closing quote';
  if (code === 'MULTIPLE_DOCS') return 'the file holds more than one YAML document (---); a config is one document';
  return first;
}

function posOf(at: (offset: number) => { line: number; col: number }, offset: number): { line: number; column: number } {
  const p = at(offset);
  return { line: p.line, column: p.col };
}

/**
 * Finds the YAML node a key path names and returns where to point: the value itself, or (pointAt 'key') the
 * key, or (pointAt 'parent') the object that lacks a key. A path that runs out in the document (a custom
 * check about a key that is absent) points at the deepest part that exists.
 */
function locate(
  doc: Document,
  at: (offset: number) => { line: number; col: number },
  path: readonly PathSeg[],
  pointAt: 'value' | 'key' | 'parent',
): { line: number; column: number } {
  type Step = { node: YamlNode | null; key?: YamlNode };
  const trail: Step[] = [{ node: (doc.contents as YamlNode | null) ?? null }];
  const want = pointAt === 'parent' ? path.slice(0, -1) : path;
  for (const seg of want) {
    const next = childOf(doc, trail[trail.length - 1]!.node, seg);
    if (!next) break;
    trail.push(next);
  }
  const step = trail[trail.length - 1]!;
  const complete = trail.length === want.length + 1;
  const key = step.key && step.key.range ? step.key : undefined;
  let offset: number | undefined;
  const node = step.node;
  const nodeStart = node?.range?.[0];
  const emptyValue = isScalar(node) && node.value === null && (node.source === '' || node.source === undefined);
  if (key && (pointAt === 'key' || pointAt === 'parent' || !complete || isCollection(node) || emptyValue || nodeStart === undefined)) {
    offset = key.range![0];
  } else {
    offset = nodeStart ?? key?.range?.[0] ?? 0;
  }
  return posOf(at, offset);
}

/** The key path of the innermost node at `offset`, so a YAML syntax error still says which setting it is in. */
function pathAtOffset(doc: Document, offset: number): PathSeg[] {
  const path: PathSeg[] = [];
  // range[1] is where the node's own text ends (range[2] also takes in trailing comments and blank lines).
  const within = (n: unknown) => {
    const r = (n as YamlNode | null)?.range;
    return r !== undefined && r !== null && r[0] <= offset && offset <= r[1];
  };
  let node = doc.contents as YamlNode | null;
  for (let depth = 0; depth < 64 && node; depth++) {
    if (isMap(node)) {
      const pair = node.items.find((p) => {
        const k = p.key as YamlNode | null;
        const kr = k?.range;
        return kr && kr[0] <= offset && (within(p.value) || offset <= kr[1]);
      });
      const k = pair?.key as YamlNode | null | undefined;
      if (!pair || !isScalar(k) || typeof k.value === 'symbol') break;
      path.push(String(k.value));
      node = pair.value as YamlNode | null;
    } else if (isSeq(node)) {
      const i = node.items.findIndex((it) => within(it));
      if (i < 0) break;
      path.push(i);
      node = node.items[i] as YamlNode;
    } else break;
  }
  return path;
}

function childOf(doc: Document, node: YamlNode | null, seg: PathSeg): { node: YamlNode | null; key?: YamlNode } | undefined {
  const target = isAlias(node) ? (node.resolve(doc) as YamlNode | undefined) ?? null : node;
  if (isMap(target)) {
    for (const pair of target.items) {
      const k = pair.key as YamlNode | null;
      if (isScalar(k) && typeof k.value !== 'symbol' && String(k.value) === String(seg)) return { node: (pair.value as YamlNode | null) ?? null, key: k };
    }
    // A key brought in by `<<: *anchor` lives at the anchor.
    for (const pair of target.items) {
      const k = pair.key as YamlNode | null;
      if (!isScalar(k) || typeof k.value !== 'symbol') continue;
      const sources = isSeq(pair.value) ? (pair.value.items as YamlNode[]) : [pair.value as YamlNode];
      for (const src of sources) {
        const found = childOf(doc, src, seg);
        if (found) return found;
      }
    }
    return undefined;
  }
  if (isSeq(target) && typeof seg === 'number') {
    const item = target.items[seg] as YamlNode | undefined;
    return item === undefined ? undefined : { node: item };
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// zod issues → messages

type ZodIssue = z.core.$ZodIssue;

interface Explained {
  path: PathSeg[];
  message: string;
  pointAt: 'value' | 'key' | 'parent';
}

function toSegs(path: readonly PropertyKey[]): PathSeg[] {
  return path.map((p) => (typeof p === 'number' ? p : String(p)));
}

/** Unions and records nest their members' issues; bring them up to the top with full paths. */
function flattenZodIssues(issues: readonly ZodIssue[], prefix: PathSeg[]): ZodIssue[] {
  const out: ZodIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...toSegs(issue.path)];
    if (issue.code === 'invalid_union' && issue.errors.length > 0 && !('discriminator' in issue && issue.discriminator)) {
      // The branch with the fewest complaints is the one the author meant.
      const best = [...issue.errors].sort((a, b) => a.length - b.length)[0]!;
      out.push(...flattenZodIssues(best, path));
    } else if ((issue.code === 'invalid_key' || issue.code === 'invalid_element') && issue.issues.length > 0) {
      out.push(...flattenZodIssues(issue.issues, path));
    } else {
      out.push({ ...issue, path } as ZodIssue);
    }
  }
  return out;
}

function valueAt(data: unknown, path: readonly PathSeg[]): { found: boolean; value: unknown } {
  let cur: unknown = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !Object.prototype.hasOwnProperty.call(cur, seg)) return { found: false, value: undefined };
    cur = (cur as Record<PathSeg, unknown>)[seg];
  }
  return { found: true, value: cur };
}

function describe(v: unknown): string {
  if (v === null) return 'null (an empty value)';
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') {
    const s = v.length > 60 ? `${v.slice(0, 57)}...` : v;
    return `string ${JSON.stringify(s)}`;
  }
  return `${typeof v} ${String(v)}`;
}

const ZOD_DEFAULT_MESSAGE = /^(Invalid input|Invalid option|Too small|Too big|Invalid string|Invalid ISO|Invalid )/;

function explainZodIssue(issue: ZodIssue, data: unknown): Explained[] {
  const path = toSegs(issue.path);
  const here = valueAt(data, path);
  const custom = !ZOD_DEFAULT_MESSAGE.test(issue.message);
  switch (issue.code) {
    case 'unrecognized_keys': {
      const allowed = objectKeysAt(configSchema, path, data);
      return issue.keys.map((k) => ({ path: [...path, k], pointAt: 'key' as const, message: `unknown key '${k}'${suggest(k, allowed)}` }));
    }
    case 'invalid_type': {
      const parent = valueAt(data, path.slice(0, -1));
      const last = path[path.length - 1];
      if (!here.found && parent.found && typeof last === 'string' && parent.value !== null && typeof parent.value === 'object') {
        return [{ path, pointAt: 'parent', message: `missing required key '${last}' (${issue.expected})` }];
      }
      if (custom) return [{ path, pointAt: 'value', message: `${issue.message}, got ${describe(here.value)}` }];
      return [{ path, pointAt: 'value', message: `expected ${expectedName(issue.expected)}, got ${describe(here.value)}` }];
    }
    case 'invalid_value': {
      const options = issue.values.map((v) => (typeof v === 'string' ? v : String(v)));
      if (!here.found) return [{ path, pointAt: 'parent', message: `missing required key '${String(path[path.length - 1])}' (${options.join(' | ')})` }];
      const msg = custom ? issue.message : options.length === 1 ? `must be ${JSON.stringify(issue.values[0])}` : `must be one of ${options.join(', ')}`;
      return [{ path, pointAt: 'value', message: `${msg}; got ${describe(here.value)}` }];
    }
    case 'invalid_union': {
      if ('discriminator' in issue && issue.discriminator) {
        const options = ('options' in issue && Array.isArray(issue.options) ? issue.options : []).map(String);
        const dPath = path[path.length - 1] === issue.discriminator ? path : [...path, issue.discriminator];
        const got = valueAt(data, dPath);
        if (!got.found) return [{ path: dPath, pointAt: 'parent', message: `missing required key '${issue.discriminator}' (one of ${options.join(', ')})` }];
        return [{ path: dPath, pointAt: 'value', message: `${issue.discriminator} must be one of ${options.join(', ')}; got ${describe(got.value)}` }];
      }
      return [{ path, pointAt: 'value', message: custom ? issue.message : `got ${describe(here.value)}, which matches none of the allowed forms` }];
    }
    case 'too_small':
    case 'too_big': {
      if (custom) return [{ path, pointAt: 'value', message: withGot(issue.message, here.value) }];
      return [{ path, pointAt: 'value', message: boundMessage(issue) + gotSuffix(here.value) }];
    }
    case 'invalid_format':
      return [{ path, pointAt: 'value', message: (custom ? issue.message : `must be ${issue.format === 'regex' ? `like ${issue.pattern ?? 'the pattern'}` : `a valid ${issue.format}`}`) + gotSuffix(here.value) }];
    default:
      return [{ path, pointAt: 'value', message: issue.message }];
  }
}

function expectedName(expected: string): string {
  return expected === 'object' ? 'a mapping (key: value)' : expected === 'array' ? 'a list' : expected;
}

function gotSuffix(v: unknown): string {
  return typeof v === 'number' || typeof v === 'string' ? `; got ${describe(v)}` : Array.isArray(v) ? `; got ${describe(v)}` : '';
}

function withGot(message: string, v: unknown): string {
  return message + gotSuffix(v);
}

function boundMessage(issue: z.core.$ZodIssueTooSmall | z.core.$ZodIssueTooBig): string {
  const small = issue.code === 'too_small';
  const bound = small ? (issue as z.core.$ZodIssueTooSmall).minimum : (issue as z.core.$ZodIssueTooBig).maximum;
  const inclusive = issue.inclusive !== false;
  const op = small ? (inclusive ? '>=' : '>') : inclusive ? '<=' : '<';
  switch (issue.origin) {
    case 'array':
    case 'set':
      return small ? `needs at least ${String(bound)} item${bound === 1 ? '' : 's'}` : `allows at most ${String(bound)} items`;
    case 'string':
      return small ? (bound === 1 ? 'must not be empty' : `needs at least ${String(bound)} characters`) : `allows at most ${String(bound)} characters`;
    default:
      return `must be ${op} ${String(bound)}`;
  }
}

/** Closest known key to a misspelt one: case, _/- and camelCase differences, or up to two typos. */
function suggest(key: string, allowed: string[] | undefined): string {
  if (!allowed || allowed.length === 0) return '';
  const norm = (s: string) => s.toLowerCase().replace(/[_-]/g, '');
  let best: { k: string; d: number } | undefined;
  for (const k of allowed) {
    const d = editDistance(norm(k), norm(key));
    if (!best || d < best.d) best = { k, d };
  }
  const tolerance = key.length <= 4 ? 1 : key.length <= 10 ? 2 : 3;
  if (best && best.d <= tolerance) return `; did you mean '${best.k}'?`;
  return allowed.length <= 15 ? `; allowed here: ${allowed.join(', ')}` : '';
}

/** Edit distance counting a swap of two neighbours as one edit (nmae → name), the commonest typo in keys. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

// The keys allowed at a path come from the schema itself (issues do not carry them), read through
// schema-walk.ts. They only serve "did you mean", so a shape the walk does not know just means no suggestion.

/**
 * The option of a discriminated union `schema` (also inside a wrapper: an optional `sampling`) that `value`
 * picks by its discriminator (undefined when none does, or the union has no discriminator); any other schema
 * as it is.
 */
function pickUnionOption(schema: unknown, value: unknown): unknown {
  const n = schemaNode(unwrap(schema));
  if (!n || n.kind !== 'union') return schema;
  if (n.discriminator && value !== null && typeof value === 'object') {
    const want = (value as Record<string, unknown>)[n.discriminator];
    for (const o of n.options) {
      const option = schemaNode(unwrap(o));
      const lit = schemaNode(unwrap(option?.kind === 'object' ? option.shape[n.discriminator] : undefined));
      if (lit?.kind === 'literal' && lit.values.includes(want)) return unwrap(o);
    }
  }
  return undefined;
}

function objectKeysAt(root: unknown, path: readonly PathSeg[], data: unknown): string[] | undefined {
  let s = unwrap(root);
  let v = data;
  for (let i = 0; i <= path.length; i++) {
    s = unwrap(pickUnionOption(s, v));
    const n = schemaNode(s);
    if (!n) return undefined;
    if (i === path.length) return n.kind === 'object' ? Object.keys(n.shape) : undefined;
    const seg = path[i]!;
    if (n.kind === 'object') s = n.shape[String(seg)];
    else if (n.kind === 'array') s = n.element;
    else if (n.kind === 'record') s = n.value;
    else if (n.kind === 'tuple') s = n.items[Number(seg)];
    else return undefined;
    v = v !== null && typeof v === 'object' ? (v as Record<PathSeg, unknown>)[seg] : undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Checks across objects

const asObj = (v: unknown): Record<string, unknown> | undefined => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined);
const asArr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const asStr = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/**
 * Checks that need more than one object: unique camera ids, unique zone ids per camera, zone geometry that
 * fits the camera (image polygons on fixed cameras, geofences on vehicles), and jurisdiction references
 * between cameras and dispatch routing. Works on raw (unvalidated) data too, so these problems are reported
 * together with the schema's, and on a parsed Config (e.g. a camera config received from Kafka).
 */
export function crossCheckConfig(config: unknown): CrossCheckIssue[] {
  const out: CrossCheckIssue[] = [];
  const cameras = asArr(asObj(config)?.cameras);
  const cameraIndex = new Map<string, number>();
  cameras.forEach((cv, ci) => {
    const cam = asObj(cv);
    if (!cam) return;
    const id = asStr(cam.id);
    if (id !== undefined) {
      const first = cameraIndex.get(id);
      if (first !== undefined) out.push({ path: ['cameras', ci, 'id'], message: `camera id '${id}' is already used by cameras[${first}]; camera ids must be unique` });
      else cameraIndex.set(id, ci);
    }
    const sourceKind = asStr(asObj(cam.source)?.kind);
    const zoneIndex = new Map<string, number>();
    asArr(cam.zones).forEach((zv, zi) => {
      const zone = asObj(zv);
      if (!zone) return;
      const zid = asStr(zone.id);
      if (zid !== undefined) {
        const first = zoneIndex.get(zid);
        if (first !== undefined) out.push({ path: ['cameras', ci, 'zones', zi, 'id'], message: `zone id '${zid}' is already used by zones[${first}] of this camera` });
        else zoneIndex.set(zid, zi);
      }
      const kind = asStr(zone.kind);
      if (sourceKind === 'vehicle' && zone.polygon !== undefined && kind !== 'mask') {
        out.push({
          path: ['cameras', ci, 'zones', zi, 'polygon'],
          message: `a vehicle camera's view moves, so its ${kind ?? ''} zone needs a geofence (GeoJSON Polygon, [lon, lat]); image polygons are only for mask zones (e.g. the bonnet)`,
        });
      }
      if ((sourceKind === 'rtsp' || sourceKind === 'file') && zone.geofence !== undefined) {
        out.push({ path: ['cameras', ci, 'zones', zi, 'geofence'], message: 'a fixed camera places zones with polygon (normalised [x, y] image points); geofences are for vehicle feeds' });
      }
    });
  });

  const routing = asObj(asObj(asObj(config)?.dispatch)?.routing);
  if (routing) {
    const jurisdictions = new Set(asArr(routing.jurisdictions).map((j) => asStr(asObj(j)?.id)).filter((j): j is string => j !== undefined));
    const byCamera = asObj(routing.cameraJurisdiction) ?? {};
    for (const cameraId of Object.keys(byCamera)) {
      if (!cameraIndex.has(cameraId)) out.push({ path: ['dispatch', 'routing', 'cameraJurisdiction', cameraId], message: `no camera has id '${cameraId}'` });
    }
    cameras.forEach((cv, ci) => {
      const cam = asObj(cv);
      const j = asStr(asObj(cam?.location)?.jurisdiction);
      if (j === undefined) return;
      if (!jurisdictions.has(j)) {
        out.push({
          path: ['cameras', ci, 'location', 'jurisdiction'],
          message: `jurisdiction '${j}' is not in dispatch.routing.jurisdictions (${[...jurisdictions].join(', ') || 'none defined'}); its tickets would go to the default squad`,
        });
      }
      const id = asStr(cam?.id);
      const mapped = id === undefined ? undefined : asStr(byCamera[id]);
      if (mapped !== undefined && mapped !== j) {
        out.push({
          path: ['dispatch', 'routing', 'cameraJurisdiction', id!],
          message: `camera '${id}' has location.jurisdiction '${j}' but is mapped here to '${mapped}'; keep one`,
        });
      }
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------

function dedupe(issues: ConfigIssue[]): ConfigIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const k = `${i.line}:${i.column}:${i.path}:${i.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => a.line - b.line || a.column - b.column);
}
