import { describe, expect, it } from 'vitest';
import type { DrillResult } from '../src/drill/drill.js';
import { mergeDrillRows, selectDrillSets } from '../src/drill/drill-selection.js';

const single = ['1', '2', '5a', '5b'].map((id) => ({ id }));
const cluster = ['c1', 'c2', 'c3'].map((id) => ({ id }));
const ids = (s: { single: { id: string }[]; cluster: { id: string }[] }) => ({
  single: s.single.map((d) => d.id),
  cluster: s.cluster.map((d) => d.id),
});

const row = (id: string, produced: number): DrillResult => ({
  id,
  name: `drill ${id}`,
  produced,
  stored: produced,
  lost: 0,
  duplicated: 0,
  countedLoss: 0,
  recoveryMs: null,
  maxLiveLatencyMs: null,
  passed: true,
  notes: [],
});

describe('selectDrillSets', () => {
  it('runs both sets by default, the single-machine set alone when the cluster is switched off', () => {
    expect(ids(selectDrillSets(single, cluster, undefined))).toEqual({
      single: ['1', '2', '5a', '5b'],
      cluster: ['c1', 'c2', 'c3'],
    });
    expect(ids(selectDrillSets(single, cluster, '', false)).cluster).toEqual([]);
  });

  it('picks cluster ids, the cluster keyword and single ids apart', () => {
    expect(ids(selectDrillSets(single, cluster, 'c1,c3'))).toEqual({ single: [], cluster: ['c1', 'c3'] });
    expect(ids(selectDrillSets(single, cluster, 'cluster'))).toEqual({
      single: [],
      cluster: ['c1', 'c2', 'c3'],
    });
    expect(ids(selectDrillSets(single, cluster, '5,c2'))).toEqual({ single: ['5a', '5b'], cluster: ['c2'] });
    expect(ids(selectDrillSets(single, cluster, 'single')).cluster).toEqual([]);
  });

  it('names an unknown id', () => {
    expect(() => selectDrillSets(single, cluster, 'c9')).toThrow(/unknown drill c9/);
    expect(() => selectDrillSets(single, cluster, '4')).toThrow(/unknown drill 4/);
  });
});

describe('mergeDrillRows', () => {
  it('replaces rows by id, keeps rows of drills not run, appends new ids', () => {
    const merged = mergeDrillRows([row('1', 10), row('2', 20)], [row('2', 25), row('c1', 30)]);
    expect(merged.map((r) => [r.id, r.produced])).toEqual([
      ['1', 10],
      ['2', 25],
      ['c1', 30],
    ]);
  });
});
