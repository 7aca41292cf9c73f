import semver from 'semver';
import { z } from 'zod';
import { StreetwatchError } from '../core/errors.js';
import { DETECTOR_API, SEMANTIC_LABELS, type DetectorDefinition } from './contract.js';

/**
 * The warehouse's catalogue. Registration is explicit (a line per detector, see detectors/index.ts) and
 * lazy: a detector's module — and its ONNX runtime, its model file — loads only when something enables it.
 * Loading validates the definition once; every problem is a coded error naming the detector.
 */
export interface RegistryInfo {
  /** Where it comes from: a code module, or a model manifest of a known family (no code). */
  source: 'builtin' | 'model-manifest' | 'plugin';
  version?: string;
  family?: string;
  licence?: string;
  labels?: readonly string[];
  description?: string;
}

interface Entry {
  id: string;
  info: RegistryInfo;
  load: () => Promise<DetectorDefinition | { default: DetectorDefinition }>;
  loaded?: Promise<DetectorDefinition>;
}

export class DetectorRegistry {
  private readonly entries = new Map<string, Entry>();

  /** Adds a detector under `id`. `load` runs on first use only. */
  register(id: string, load: Entry['load'], info: RegistryInfo = { source: 'plugin' }): this {
    if (this.entries.has(id)) throw new StreetwatchError('DETECTOR_INVALID', `detector '${id}' is registered twice; ids must be unique`);
    this.entries.set(id, { id, info, load });
    return this;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  list(): { id: string; info: RegistryInfo }[] {
    return [...this.entries.values()].map((e) => ({ id: e.id, info: e.info }));
  }

  /**
   * Throws DETECTOR_NOT_FOUND unless `id` is registered. Unlike a load failure this is a mistake in whatever
   * names the detector (a config), so callers check it apart.
   */
  assertKnown(id: string, where?: string): void {
    if (!this.entries.has(id)) throw this.notFound(id, where);
  }

  /** Loads and validates a detector (once). */
  get(id: string): Promise<DetectorDefinition> {
    const e = this.entries.get(id);
    if (!e) return Promise.reject(this.notFound(id));
    e.loaded ??= e.load().then((mod) => {
      const def = 'manifest' in mod ? mod : mod.default;
      validateDefinition(def, id);
      return def;
    });
    // A failed load is not cached: the file may be fixed and the config reloaded.
    e.loaded.catch(() => (e.loaded = undefined));
    return e.loaded;
  }

  private notFound(id: string, where?: string): StreetwatchError {
    return new StreetwatchError(
      'DETECTOR_NOT_FOUND',
      `${where ? `${where}: ` : ''}no detector '${id}' in the warehouse; known: ${[...this.entries.keys()].join(', ') || '(none)'}. Run 'streetwatch detectors' to list them.`,
      { details: { detector: id } },
    );
  }
}

/** Checks a definition against the host: API range, label map, id. Throws a coded error naming the problem. */
export function validateDefinition(def: DetectorDefinition, expectedId?: string): void {
  const m = def?.manifest;
  if (!m) throw new StreetwatchError('DETECTOR_INVALID', `detector '${expectedId}': the module does not export a definition made with defineDetector()`);
  if (expectedId !== undefined && m.id !== expectedId) {
    throw new StreetwatchError('DETECTOR_INVALID', `detector registered as '${expectedId}' declares id '${m.id}'; make them equal`);
  }
  if (!semver.validRange(m.api) || !semver.satisfies(DETECTOR_API, m.api)) {
    throw new StreetwatchError(
      'DETECTOR_API_MISMATCH',
      `detector '${m.id}' ${m.version} is written for detector API '${m.api}', but this host provides ${DETECTOR_API}; update the detector for API ${DETECTOR_API} (see detectors/contract.ts)`,
      { details: { detector: m.id, api: m.api, host: DETECTOR_API } },
    );
  }
  if (!semver.valid(m.version)) throw new StreetwatchError('DETECTOR_INVALID', `detector '${m.id}': version '${m.version}' is not semver (e.g. 1.2.0)`);
  const missing = m.labels.filter((l) => !(l in m.labelMap));
  if (missing.length) {
    throw new StreetwatchError(
      'DETECTOR_LABEL_MAP_MISSING',
      `detector '${m.id}': labels without a semantic mapping: ${missing.slice(0, 10).join(', ')}${missing.length > 10 ? ` (+${missing.length - 10} more)` : ''}. Map each in labelMap to one of ${SEMANTIC_LABELS.join(', ')}, or to null to drop it.`,
      { details: { detector: m.id, missing } },
    );
  }
  const known = new Set<string>(SEMANTIC_LABELS);
  const bad = Object.entries(m.labelMap).filter(([, v]) => v !== null && !known.has(v));
  if (bad.length) {
    throw new StreetwatchError(
      'DETECTOR_INVALID',
      `detector '${m.id}': labelMap maps onto unknown semantic labels: ${bad.map(([k, v]) => `${k}→${v}`).join(', ')}; use one of ${SEMANTIC_LABELS.join(', ')} or null`,
    );
  }
}

/** Validates a detector's options with its schema; unknown options are errors. */
export function parseDetectorOptions<O extends z.ZodType>(def: DetectorDefinition<O>, raw: unknown, where: string): z.output<O> {
  const r = def.manifest.options.safeParse(raw ?? {});
  if (r.success) return r.data as z.output<O>;
  const lines = r.error.issues.map((i) => `${i.path.length ? i.path.join('.') : '(options)'}: ${i.message}`);
  throw new StreetwatchError('DETECTOR_OPTIONS_INVALID', `detector '${def.manifest.id}' (${where}): invalid options — ${lines.join('; ')}`, {
    details: { detector: def.manifest.id, issues: lines },
  });
}
