import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../detectors/index.js';
import { describeDetectorContract } from './detector-contract.js';

// Every detector the warehouse registers — model manifests, built-ins, plug-ins — passes the shared contract
// suite with its real model on real street frames. A new registration is covered without touching this file.
const registry = createRegistry();

describe('the warehouse', () => {
  it('registers the detectors the default config and the README promise', () => {
    expect(registry.list().map((d) => d.id)).toEqual(expect.arrayContaining(['yolox-nano-416', 'picodet-xs-320', 'yolov8n-int8-640', 'static-object']));
  });
});

for (const { id } of registry.list()) {
  describeDetectorContract(id, () => registry.get(id));
}
