import { describe, expect, it } from 'vitest';
import { externalClusterFromEnv, storedOnce } from '../src/bench/cluster-bench.js';
import type { ReadingRow } from '../src/bench/telemetry.js';

const at = '2026-12-03 08:00:00.000000';
const measured: ReadingRow[] = [
  ['d1', 1, 'temperature', 20, at],
  ['d1', 1, 'humidity', 50, at],
  ['d1', 2, 'temperature', 21, at],
  ['d1', 2, 'humidity', 51, at],
];
const derived = (seq: number): ReadingRow => ['d1', seq, 'dew_point', 9, at];

describe('storedOnce', () => {
  it('accepts every reading with its measured and the same derived rows', () => {
    expect(storedOnce([...measured, derived(1), derived(2)], measured)).toBe(true);
    expect(storedOnce(measured, measured)).toBe(true);
  });
  it('rejects a missing reading, a missing value, a doubled row and a foreign reading', () => {
    expect(storedOnce(measured.slice(0, 2), measured)).toBe(false);
    expect(storedOnce([...measured.slice(0, 3), derived(1)], measured)).toBe(false);
    expect(storedOnce([...measured, measured[0]!], measured)).toBe(false);
    expect(
      storedOnce([...measured, ['d1', 3, 'temperature', 1, at], ['d1', 3, 'humidity', 1, at]], measured),
    ).toBe(false);
  });
});

describe('externalClusterFromEnv', () => {
  const all = {
    BENCH_CLUSTER_MQTT_URL: 'mqtt://bench:pw@rabbit-1:1883',
    BENCH_CLUSTER_AMQP_URL: 'amqp://r:pw@rabbit-1:5672,amqp://r:pw@rabbit-2:5672',
    BENCH_CLUSTER_DATABASE_URL: 'mariadb://bench:pw@db-1:3306/mysql,mariadb://bench:pw@db-2:3306/mysql',
  };
  it('is undefined without the variables and takes all three', () => {
    expect(externalClusterFromEnv({})).toBeUndefined();
    expect(externalClusterFromEnv(all)).toEqual({
      mqttUrl: all.BENCH_CLUSTER_MQTT_URL,
      amqpUrl: all.BENCH_CLUSTER_AMQP_URL,
      databaseUrl: all.BENCH_CLUSTER_DATABASE_URL,
    });
  });
  it('names what is missing or malformed', () => {
    expect(() => externalClusterFromEnv({ BENCH_CLUSTER_MQTT_URL: all.BENCH_CLUSTER_MQTT_URL })).toThrow(
      /BENCH_CLUSTER_AMQP_URL, BENCH_CLUSTER_DATABASE_URL must be set/,
    );
    expect(() => externalClusterFromEnv({ ...all, BENCH_CLUSTER_MQTT_URL: 'mqtts://x:8883' })).toThrow(
      /BENCH_CLUSTER_MQTT_URL must be mqtt:/,
    );
  });
});
