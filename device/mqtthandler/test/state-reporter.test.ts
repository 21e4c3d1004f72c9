import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '@sensorfleet/shared';
import { DeliveryWatch, StateReporter, type DeviceState } from '../src/state-reporter.js';

function state(over: Partial<DeviceState> = {}): DeviceState {
  return {
    v: 1,
    running: true,
    intervalMs: 1000,
    backlog: 0,
    oldestUnackedTs: null,
    oldestUnackedSeq: null,
    lastSeq: 10,
    dropped: 0,
    rejected: 0,
    seqConflicts: 0,
    version: '0.1.0',
    uptimeS: 1,
    ts: new Date().toISOString(),
    ...over,
  };
}

describe('DeliveryWatch', () => {
  it('calls delivery stuck once the oldest unacked reading stayed the same for 30 s', () => {
    const w = new DeliveryWatch();
    expect(w.stuck({ oldestUnackedSeq: null }, 0)).toBe(false);
    expect(w.stuck({ oldestUnackedSeq: 5 }, 1000)).toBe(false);
    expect(w.stuck({ oldestUnackedSeq: 5 }, 30_999)).toBe(false);
    expect(w.stuck({ oldestUnackedSeq: 5 }, 31_000)).toBe(true);
    expect(w.stuck({ oldestUnackedSeq: 6 }, 31_001)).toBe(false); // moving again
    expect(w.stuck({ oldestUnackedSeq: null }, 90_000)).toBe(false);
  });
});

describe('StateReporter', () => {
  let current: DeviceState;
  const published: DeviceState[] = [];
  let reporter: StateReporter;
  beforeEach(async () => {
    vi.useFakeTimers();
    published.length = 0;
    current = state();
    reporter = new StateReporter({
      collect: async () => current,
      publish: async (s) => void published.push(s),
      connected: () => true,
      intervalMs: 60_000,
      checkEveryMs: 2000,
      monotonic: () => Date.now(),
      log: createLogger('test', 'silent', { pretty: false }),
    });
    await reporter.start();
  });
  afterEach(async () => {
    await reporter.stop();
    vi.useRealTimers();
  });

  it('publishes on connect, on a change that matters, and once a minute', async () => {
    await reporter.publishNow();
    expect(published).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(published).toHaveLength(1);
    current = state({ running: false });
    await vi.advanceTimersByTimeAsync(2000);
    expect(published.at(-1)?.running).toBe(false);
    const n = published.length;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(published.length).toBe(n + 1);
  });

  it('does not publish because live readings come and go, but does when delivery gets stuck', async () => {
    await reporter.publishNow();
    for (let i = 0; i < 10; i++) {
      current = state({ backlog: i % 2, oldestUnackedSeq: i % 2 ? 100 + i : null });
      await vi.advanceTimersByTimeAsync(2000);
    }
    expect(published).toHaveLength(1);
    current = state({ backlog: 50, oldestUnackedSeq: 200 });
    await vi.advanceTimersByTimeAsync(34_000);
    expect(published).toHaveLength(2);
    expect(published.at(-1)?.backlog).toBe(50);
    current = state({ backlog: 0, oldestUnackedSeq: null });
    await vi.advanceTimersByTimeAsync(2000);
    expect(published).toHaveLength(3);
  });
});
