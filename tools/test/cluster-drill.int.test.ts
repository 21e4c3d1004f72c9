import { describe, expect, it } from 'vitest';
import { CLUSTER_DRILLS, runClusterDrills } from '../src/drill/cluster-runner.js';
import { drillScale } from '../src/drill/drill-runner.js';
import { drillTable } from '../src/drill/drill-table.js';

/**
 * Drills c1 (the intake queue's leader node killed -9) and c3 (the written Galera node killed -9) of
 * `npm run drill` on the scale-out cluster, short outages and 2 devices: every produced seq stored
 * exactly once, the failover seen.
 */
describe('cluster drills (c1, c3)', () => {
  it('every seq stored exactly once across a leader kill and a Galera node kill', async () => {
    const drills = CLUSTER_DRILLS.filter((d) => d.id === 'c1' || d.id === 'c3');
    const log = process.env.TEST_LOG_LEVEL ? (l: string) => void process.stderr.write(`${l}\n`) : () => {};
    const rows = await runClusterDrills(drills, drillScale(true), { devices: 2 }, log);
    process.stderr.write(`${drillTable(rows)}\n`);
    expect(rows.map((r) => r.id)).toEqual(['c1', 'c3']);
    for (const r of rows) {
      expect(r.produced).toBeGreaterThan(0);
      expect({ id: r.id, lost: r.lost, duplicated: r.duplicated, notes: r.notes }).toEqual({
        id: r.id,
        lost: 0,
        duplicated: 0,
        notes: r.notes,
      });
      expect({ id: r.id, passed: r.passed, notes: r.notes }).toEqual({
        id: r.id,
        passed: true,
        notes: r.notes,
      });
      expect(
        r.notes.some((n) => /new leader elected|evicted/.test(n)),
        r.notes.join('; '),
      ).toBe(true);
    }
  }, 600_000);
});
