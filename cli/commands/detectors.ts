import { loadConfig } from '../../config/loader.js';
import { resolveCamera } from '../../config/schema.js';
import { createRegistry } from '../../detectors/index.js';
import { parseCli } from '../args.js';

export const summary = 'list the detector warehouse (id, version, family, labels, licence; with --config, where each is enabled)';

export async function run(argv: string[]): Promise<number> {
  const { values } = parseCli(argv, { config: { type: 'string', short: 'c' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }, false);
  if (values.help) {
    process.stdout.write('usage: streetwatch detectors [--config <file>] [--json]\n');
    return 0;
  }
  const registry = createRegistry();
  // Where each detector is enabled, by camera and mode; listing needs no detector module or model file loaded.
  const enabled = new Map<string, { camera: string; mode: string }[]>();
  if (values.config) {
    const { config } = await loadConfig(values.config);
    for (const cam of config.cameras.filter((c) => c.enabled)) {
      for (const d of resolveCamera(config, cam).detectors) {
        const list = enabled.get(d.id) ?? [];
        list.push({ camera: cam.id, mode: d.mode });
        enabled.set(d.id, list);
      }
    }
  }
  const rows = registry.list().map(({ id, info }) => ({
    id,
    version: info.version ?? null,
    family: info.family ?? null,
    source: info.source,
    licence: info.licence ?? null,
    labels: info.labels ?? [],
    enabledOn: values.config ? (enabled.get(id) ?? []) : undefined,
  }));
  if (values.config) {
    for (const id of enabled.keys()) {
      if (!registry.has(id)) rows.push({ id, version: null, family: null, source: 'plugin', licence: null, labels: [], enabledOn: enabled.get(id) ?? [] });
    }
  }
  if (values.json) {
    process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
    return 0;
  }
  for (const r of rows) {
    const labels = r.labels.length > 6 ? `${r.labels.slice(0, 6).join(', ')}, … (${r.labels.length})` : r.labels.join(', ');
    process.stdout.write(`${r.id}  ${r.version ?? ''}  [${r.family ?? '?'}, ${r.source}]  licence: ${r.licence ?? '?'}\n    labels: ${labels}\n`);
    if (r.enabledOn) {
      const where = r.enabledOn.map((e) => `${e.camera}${e.mode === 'shadow' ? ' (shadow)' : ''}`).join(', ');
      process.stdout.write(`    enabled on: ${where || '(no camera)'}${registry.has(r.id) ? '' : '  — NOT IN THE WAREHOUSE'}\n`);
    }
  }
  return 0;
}
