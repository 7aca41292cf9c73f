import { loadConfig } from '../../config/loader.js';
import { resolveCamera } from '../../config/schema.js';
import { createRegistry } from '../../detectors/index.js';
import { parseCli } from '../args.js';

export const summary = 'list the detector warehouse (id, version, family, labels, licence, source; with --config, where each is enabled)';

const HELP = `usage: streetwatch detectors [--config <file>] [--json]

Lists every detector this build knows: model manifests (models/*.json), built-in code detectors and plug-ins
(detectors/index.ts). With --config, also the cameras each one is enabled on, and in which mode (active, or
shadow: run and recorded, never dispatched). Nothing is loaded to list them: no model file, no ONNX session.`;

export interface DetectorListing {
  id: string;
  version: string | null;
  family: string | null;
  source: 'builtin' | 'model-manifest' | 'plugin' | 'missing';
  licence: string | null;
  labelCount: number;
  labels: readonly string[];
  description: string | null;
  /** Only with --config: enabled cameras that run it. */
  enabledOn?: { camera: string; mode: 'active' | 'shadow' }[];
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, false);
  if (values.help) {
    process.stdout.write(HELP + '\n');
    return 0;
  }
  const rows = await listDetectors(values.config);
  if (values.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  process.stdout.write(formatListing(rows));
  return 0;
}

/** The warehouse from the registry's catalogue info alone; with a config, where each detector is enabled. */
export async function listDetectors(configFile?: string): Promise<DetectorListing[]> {
  const registry = createRegistry();
  const rows: DetectorListing[] = registry.list().map(({ id, info }) => ({
    id,
    version: info.version ?? null,
    family: info.family ?? null,
    source: info.source,
    licence: info.licence ?? null,
    labelCount: info.labels?.length ?? 0,
    labels: info.labels ?? [],
    description: info.description ?? null,
  }));
  if (configFile === undefined) return rows;

  const { config } = await loadConfig(configFile);
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const r of rows) r.enabledOn = [];
  for (const cam of config.cameras) {
    if (!cam.enabled) continue;
    for (const d of resolveCamera(config, cam).detectors) {
      let row = byId.get(d.id);
      // A config may name a detector this build lacks (a plug-in not installed here): show it, marked, rather
      // than leave the operator wondering why a camera reports nothing from it.
      if (!row) {
        row = { id: d.id, version: null, family: null, source: 'missing', licence: null, labelCount: 0, labels: [], description: null, enabledOn: [] };
        rows.push(row);
        byId.set(d.id, row);
      }
      row.enabledOn!.push({ camera: cam.id, mode: d.mode });
    }
  }
  return rows;
}

export function formatListing(rows: readonly DetectorListing[]): string {
  const out: string[] = [];
  const w = Math.max(...rows.map((r) => r.id.length), 2);
  for (const r of rows) {
    const source = r.source === 'model-manifest' ? 'model manifest' : r.source === 'missing' ? 'NOT IN THIS WAREHOUSE' : r.source;
    out.push(`${r.id.padEnd(w)}  ${r.version ?? '-'}  ${r.family ?? '-'}  [${source}]  licence: ${r.licence ?? '-'}`);
    if (r.labelCount) {
      const first = r.labels.slice(0, 8).join(', ');
      out.push(`${' '.repeat(w)}  ${r.labelCount} label${r.labelCount === 1 ? '' : 's'}: ${first}${r.labelCount > 8 ? ', …' : ''}`);
    }
    if (r.enabledOn) {
      const where = r.enabledOn.map((e) => (e.mode === 'shadow' ? `${e.camera} (shadow)` : e.camera));
      out.push(`${' '.repeat(w)}  enabled on: ${where.length ? where.join(', ') : '(no camera)'}`);
    }
  }
  return out.join('\n') + '\n';
}
