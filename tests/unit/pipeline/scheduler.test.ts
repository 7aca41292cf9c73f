import { describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { FrameScheduler } from '../../../pipeline/scheduler.js';
import { createMetrics } from '../../../core/metrics.js';
import { frame } from '../../helpers/factories.js';

function setup(queueCapacity = 2, maxFrameAgeMs = 10_000) {
  let now = 0;
  const metrics = createMetrics(new Registry());
  const s = new FrameScheduler({ queueCapacity, maxFrameAgeMs, metrics, now: () => now });
  return { s, metrics, advance: (ms: number) => (now += ms) };
}

describe('FrameScheduler', () => {
  it('queues up to capacity, keeps only the latest frame per camera beyond it, counts superseded drops', async () => {
    const { s } = setup(2);
    s.offer(frame('a', 1));
    s.offer(frame('b', 1));
    s.offer(frame('a', 2)); // queue full: waits in a's slot
    s.offer(frame('a', 3)); // replaces a#2
    expect(s.queueLength).toBe(2);
    expect(s.dropsFor('a')).toEqual({ superseded: 1 });
    const got = await s.take(10);
    expect(got.map((f) => `${f.cameraId}${f.seq}`)).toEqual(['a1', 'b1', 'a3']);
  });

  it('serves cameras fairly in arrival order', async () => {
    const { s } = setup(1);
    s.offer(frame('a', 1));
    s.offer(frame('b', 1));
    s.offer(frame('c', 1));
    s.offer(frame('a', 2));
    const order: string[] = [];
    for (let i = 0; i < 4; i++) order.push(...(await s.take(1)).map((f) => `${f.cameraId}${f.seq}`));
    expect(order).toEqual(['a1', 'b1', 'c1', 'a2']);
  });

  it('drops frames that waited too long as stale', async () => {
    const { s, advance } = setup(4, 1000);
    s.offer(frame('a', 1));
    advance(1500);
    s.offer(frame('b', 1));
    const got = await s.take(10);
    expect(got.map((f) => f.cameraId)).toEqual(['b']);
    expect(s.dropsFor('a')).toEqual({ stale: 1 });
  });

  it('records how long each frame waited from its arrival until the detectors took it', async () => {
    const { s, metrics, advance } = setup(4, 10_000);
    s.offer(frame('a', 1));
    advance(300);
    s.offer(frame('b', 1));
    advance(30);
    await s.take(10);
    const h = (await metrics.schedulerWait.get()).values;
    expect(h.find((v) => v.metricName === 'streetwatch_scheduler_wait_seconds_count')!.value).toBe(2);
    expect(h.find((v) => v.metricName === 'streetwatch_scheduler_wait_seconds_sum')!.value).toBeCloseTo(0.33 + 0.03, 6);
    expect(h.find((v) => v.metricName === 'streetwatch_scheduler_wait_seconds_bucket' && v.labels.le === 0.05)!.value).toBe(1);
  });

  it('wakes a waiting consumer when a frame arrives; abort releases it', async () => {
    const { s } = setup();
    const p = s.take(4);
    s.offer(frame('a', 1));
    expect((await p).length).toBe(1);
    const ac = new AbortController();
    const q = s.take(4, ac.signal);
    ac.abort();
    expect(await q).toEqual([]);
  });

  it('forgets a removed camera and closes with shutdown drops, all counted in metrics', async () => {
    const { s, metrics } = setup(1);
    s.offer(frame('a', 1));
    s.offer(frame('b', 1));
    s.offer(frame('a', 2));
    s.forgetCamera('a');
    expect(s.dropsFor('a')).toEqual({ camera_removed: 2 });
    s.close();
    s.close();
    expect(s.dropsFor('b')).toEqual({ shutdown: 1 });
    expect(await s.take(1)).toEqual([]);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/streetwatch_frames_dropped_total\{camera="a",reason="camera_removed"\} 2/);
    expect(text).toMatch(/streetwatch_frames_dropped_total\{camera="b",reason="shutdown"\} 1/);
  });
});
