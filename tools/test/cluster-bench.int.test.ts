import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLUSTER_QUICK_SIZES, runClusterBench } from '../src/bench/cluster-bench.js';

/**
 * The cluster benchmark at smoke size on the real processes it always starts (Mosquitto, MariaDB, a
 * 3-node RabbitMQ cluster, a 3-node Galera cluster, receivers). Correctness only, never speed: every case
 * of every path stored each row exactly once, and the JSON has every figure.
 */

const dir = mkdtempSync(path.join(os.tmpdir(), 'cluster-bench-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const FIGURES = [
  'rows_per_s',
  'raw_rows_per_s',
  'ratio',
  'cores_used',
  'cpu_ceiling_ratio',
  'receiver_cpu_us_per_row',
  'broker_cpu_us_per_message',
  'commit_p50_ms',
] as const;

describe('cluster benchmark (BENCH_QUICK sizes)', () => {
  it('stores every row once on every path and reports every figure', { timeout: 600_000 }, async () => {
    const outFile = path.join(dir, 'cluster.json');
    const lines: string[] = [];
    const result = (await runClusterBench({ quick: true, outFile, log: (l) => lines.push(l) })) as {
      cases: Record<string, Record<string, unknown>>;
      failover: { rows: { event: string; figures_s: number[] }[] };
    };
    expect(JSON.parse(readFileSync(outFile, 'utf8'))).toEqual(JSON.parse(JSON.stringify(result)));
    const names = Object.keys(result.cases).sort();
    const { batchReadingsPerMessage, shapes, receivers } = CLUSTER_QUICK_SIZES;
    const expected = ['mosquitto+mariadb', 'rabbitmq3+mariadb', 'rabbitmq3+galera3'].flatMap((t) =>
      shapes.flatMap((m) =>
        receivers.map((r) => `${t}/m${m === 'single' ? 1 : batchReadingsPerMessage}-r${r}`),
      ),
    );
    expect(expected.length).toBeGreaterThanOrEqual(3);
    expect(names).toEqual(expected.sort());
    for (const [name, c] of Object.entries(result.cases)) {
      expect({ name, complete: c.complete, once: c.all_rows_stored_once }).toEqual({
        name,
        complete: true,
        once: true,
      });
      expect(c.rows as number).toBeGreaterThanOrEqual(c.measured_rows as number);
      expect(c.measured_rows as number).toBeGreaterThan(0);
      for (const f of FIGURES) expect({ name, f, v: typeof c[f] }).toEqual({ name, f, v: 'number' });
    }
    expect(result.failover.rows.length).toBeGreaterThanOrEqual(2);
    for (const row of result.failover.rows) expect(row.figures_s.length).toBeGreaterThan(0);
  });
});
