import { loadModelDetectorManifests, onnxDetectorFromManifest } from './onnx/detector.js';
import { DetectorRegistry } from './registry.js';

/**
 * The warehouse (算法仓): every detector this build knows, registered explicitly and loaded lazily.
 *
 * - ONNX models of a known family (YOLOX, YOLOv8, PicoDet) need no code: each `models/<id>.json` manifest
 *   becomes a detector with that id.
 * - Code detectors are listed below, one line each. `streetwatch new-detector <id>` adds its line here.
 */
export function createRegistry(): DetectorRegistry {
  const registry = new DetectorRegistry();
  for (const m of loadModelDetectorManifests()) {
    registry.register(m.id, async () => onnxDetectorFromManifest(m), {
      source: 'model-manifest',
      version: m.version,
      family: m.family,
      licence: m.licence,
      labels: m.classes,
      description: m.notes,
    });
  }
  registry.register('static-object', () => import('./static-change/index.js'), {
    source: 'builtin',
    family: 'background-model',
    licence: 'project',
    labels: ['static_object'],
    description: 'class-agnostic: new objects that appeared and stayed still (boxes, crates, goods)',
  });
  // new-detector: registrations below this line
  return registry;
}
