import { createRegistry } from '../../detectors/index.js';
import { oxfordFrame } from '../helpers/frames.js';
import { describeDetectorContract } from './detector-contract.js';

// Every detector the warehouse registers passes the shared contract suite on real Oxford frames.
const registry = createRegistry();
const frames = () => [0, 10, 20, 30].map((i) => oxfordFrame(640, 360, i));
for (const { id } of registry.list()) {
  describeDetectorContract(id, () => registry.get(id), { frames });
}
