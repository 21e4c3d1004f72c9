import { Counter, Gauge, type Registry } from '@sensorfleet/shared/metrics';
import type { LoopMetrics } from './measurement-loop.js';

/** The sensor's Prometheus metrics (README "Metrics and health"), fed by the measurement loop. */
export function createSensorMetrics(registry: Registry): LoopMetrics {
  const registers = [registry];
  const taken = new Counter({
    name: 'sensorfleet_readings_taken_total',
    help: 'readings measured',
    registers,
  });
  const dropped = new Counter({
    name: 'sensorfleet_outbox_dropped_total',
    help: 'readings dropped by the bounded outbox or by a long Redis outage',
    registers,
  });
  const sensorErrors = new Counter({
    name: 'sensorfleet_sensor_errors_total',
    help: 'failed sensor reads',
    registers,
  });
  const redisErrors = new Counter({
    name: 'sensorfleet_redis_errors_total',
    help: 'failed Redis calls',
    registers,
  });
  const pending = new Gauge({
    name: 'sensorfleet_pending_appends',
    help: 'readings waiting for Redis',
    registers,
  });
  const redisLost = new Counter({
    name: 'sensorfleet_redis_lost_appends_total',
    help: 'appends Redis no longer had after a restart (seq counter went back; appendfsync everysec)',
    registers,
  });
  const clockJumps = new Counter({
    name: 'sensorfleet_clock_jumps_total',
    help: 'wall-clock steps beyond the threshold (either way) seen against the monotonic clock',
    registers,
  });
  return {
    clockJumps: () => clockJumps.inc(),
    readingsTaken: () => taken.inc(),
    readingsDropped: (n) => dropped.inc(n),
    sensorErrors: () => sensorErrors.inc(),
    redisErrors: () => redisErrors.inc(),
    pendingAppends: (n) => pending.set(n),
    redisLostAppends: (n) => redisLost.inc(n),
  };
}
