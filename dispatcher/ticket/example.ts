/**
 * A worked example: a small district's dispatch config (two streets, a mobile squad as default) and a
 * door_front incident in it. Used by the unit tests and handy for trying the ticket format
 * (buildTicket(exampleInput(), ticketContext(exampleDispatch, 'Asia/Shanghai', EXAMPLE_T0))).
 */
import { dispatchSchema, type DispatchConfig } from '../../config/dispatch.js';
import type { TicketInput } from './build.js';

export const exampleDispatch: DispatchConfig = dispatchSchema.parse({
  routing: {
    squads: [
      { id: 'sq-ndl', name: '南京东路街道城管中队' },
      { id: 'sq-wt', name: '外滩街道城管中队' },
      { id: 'sq-mobile', name: '区城管机动中队' },
    ],
    jurisdictions: [
      { id: 'nanjingdong', name: '南京东路街道', squad: 'sq-ndl' },
      { id: 'waitan', name: '外滩街道', squad: 'sq-wt' },
    ],
    cameraJurisdiction: { 'cam-map': 'waitan' },
    zoneJurisdiction: [{ camera: 'cam-map', zone: 'east-kerb', jurisdiction: 'nanjingdong' }],
    defaultSquad: 'sq-mobile',
  },
});

export const EXAMPLE_T0 = Date.parse('2026-11-27T02:00:00Z'); // 10:00 in Shanghai

const EXAMPLE_SHA = 'a'.repeat(64);

export function exampleInput(over: Partial<TicketInput> = {}): TicketInput {
  return {
    incidentId: 'inc-20261127-0001',
    type: 'door_front',
    cameraId: 'cam-map',
    cameraName: '福州路口',
    address: '上海市黄浦区福州路 300 号',
    lat: 31.2345,
    lon: 121.4789,
    zoneId: 'shop-733',
    shop: { id: 'HP-SHOP-000733', name: '福州路文具店', licence: '91310101MA1FP0XX1X' },
    firstSeenMs: EXAMPLE_T0,
    confirmedMs: EXAMPLE_T0 + 300_000,
    dwellSec: 420,
    evidence: [
      { name: 'first.jpg', uri: 'https://evidence.local/inc-20261127-0001/first.jpg', sha256: EXAMPLE_SHA },
      { name: 'clip.mp4', uri: 'https://evidence.local/inc-20261127-0001/clip.mp4', sha256: 'b'.repeat(64) },
    ],
    priorOffences12m: 0,
    ...over,
  };
}
