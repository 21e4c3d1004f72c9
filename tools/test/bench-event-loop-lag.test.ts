import { describe, expect, it } from 'vitest';
import { eventLoopLagP99Seconds } from '../src/bench/event-loop-lag.js';
import { readRunQueueWaitSeconds } from '../src/bench/proc-sampler.js';
import { BULK_PATH_NICE } from '../src/harness/cpu-priority.js';
import { bulkNiceFromEnv, deviceNiceFromEnv, fleetProcessesFromEnv } from '../src/bench/system-bench.js';

describe('eventLoopLagP99Seconds', () => {
  it('reads the p99 gauge of a prefixed prom-client exposition', () => {
    const text = [
      '# HELP sensorfleet_nodejs_eventloop_lag_p99_seconds The 99th percentile of the recorded event loop delays.',
      '# TYPE sensorfleet_nodejs_eventloop_lag_p99_seconds gauge',
      'sensorfleet_nodejs_eventloop_lag_p90_seconds 0.011',
      'sensorfleet_nodejs_eventloop_lag_p99_seconds 0.0423',
    ].join('\n');
    expect(eventLoopLagP99Seconds(text)).toBe(0.0423);
  });

  it('is undefined without the gauge or with a value that is not a number', () => {
    expect(eventLoopLagP99Seconds('sensorfleet_up 1\n')).toBeUndefined();
    expect(eventLoopLagP99Seconds('x_nodejs_eventloop_lag_p99_seconds NaN\n')).toBeUndefined();
  });
});

describe('readRunQueueWaitSeconds', () => {
  it('reads the run-queue wait of a live process and nothing of a missing one', () => {
    const s = readRunQueueWaitSeconds(process.pid);
    expect(typeof s).toBe('number');
    expect(s!).toBeGreaterThanOrEqual(0);
    expect(readRunQueueWaitSeconds(2 ** 22 + 1)).toBeUndefined();
  });
});

describe('deviceNiceFromEnv', () => {
  it('defaults to 0 (equal priority) and takes −20–19 (negative: the stand-ins ahead of the backend)', () => {
    expect(deviceNiceFromEnv({})).toBe(0);
    expect(deviceNiceFromEnv({ BENCH_SYSTEM_DEVICE_NICE: '-5' })).toBe(-5);
    expect(deviceNiceFromEnv({ BENCH_SYSTEM_DEVICE_NICE: '0' })).toBe(0);
    expect(deviceNiceFromEnv({ BENCH_SYSTEM_DEVICE_NICE: '10' })).toBe(10);
  });

  it('names the variable for a value out of range', () => {
    for (const bad of ['-21', '20', 'low', '2.5'])
      expect(() => deviceNiceFromEnv({ BENCH_SYSTEM_DEVICE_NICE: bad })).toThrow(/BENCH_SYSTEM_DEVICE_NICE/);
  });
});

describe('bulkNiceFromEnv', () => {
  it('defaults to the shipped bulk-path priority and takes 0–19 (0: equal priority)', () => {
    expect(bulkNiceFromEnv({})).toBe(BULK_PATH_NICE);
    expect(bulkNiceFromEnv({ BENCH_SYSTEM_BULK_NICE: '0' })).toBe(0);
    expect(bulkNiceFromEnv({ BENCH_SYSTEM_BULK_NICE: '6' })).toBe(6);
  });

  it('names the variable for a value out of range', () => {
    for (const bad of ['-1', '20', 'high'])
      expect(() => bulkNiceFromEnv({ BENCH_SYSTEM_BULK_NICE: bad })).toThrow(/BENCH_SYSTEM_BULK_NICE/);
  });
});

describe('fleetProcessesFromEnv', () => {
  it('defaults to one process and takes 1–16', () => {
    expect(fleetProcessesFromEnv({})).toBe(1);
    expect(fleetProcessesFromEnv({ BENCH_SYSTEM_FLEET_PROCESSES: '4' })).toBe(4);
  });

  it('names the variable for a value out of range', () => {
    for (const bad of ['0', '17', 'many'])
      expect(() => fleetProcessesFromEnv({ BENCH_SYSTEM_FLEET_PROCESSES: bad })).toThrow(
        /BENCH_SYSTEM_FLEET_PROCESSES/,
      );
  });
});
