import { describe, expect, it } from 'vitest';
import {
  classify,
  planReadings,
  resolveOutcomes,
  rowsOf,
  seqRanges,
  type StoredRow,
} from '../../src/ingest/reading-plan.js';
import { item, reading } from '../support/items.js';

const stored = (deviceId: string, r: ReturnType<typeof reading>): StoredRow[] =>
  Object.entries({ ...r.values, ...r.derived }).map(([sensor, value]) => ({
    deviceId,
    seq: r.seq,
    sensor,
    value,
    measuredMs: r.measuredMs,
  }));

describe('planReadings', () => {
  it('makes the first message naming a (device, seq) its owner', () => {
    const a = item({ readings: [reading(1), reading(2)] });
    const b = item({ readings: [reading(2), reading(3)] });
    const c = item({ deviceId: 'dev-2', readings: [reading(2)] });
    const plan = planReadings([a, b, c]);
    expect(plan.owners.map((o) => [o.deviceId, o.reading.seq, o.item])).toEqual([
      ['dev-1', 1, 0],
      ['dev-1', 2, 0],
      ['dev-1', 3, 1],
      ['dev-2', 2, 2],
    ]);
    expect(plan.refs[1]).toEqual([
      { owner: 1, differs: false },
      { owner: 2, differs: false },
    ]);
  });

  it('marks a later copy with other content as different', () => {
    const plan = planReadings([
      item({ readings: [reading(1)] }),
      item({ readings: [reading(1, { measuredMs: 5 })] }),
    ]);
    expect(plan.refs[1]).toEqual([{ owner: 0, differs: true }]);
  });
});

describe('rowsOf', () => {
  it('one row per sent and derived value, in (device, seq, sensor) order, with the batch id', () => {
    const plan = planReadings([
      item({ deviceId: 'b', readings: [reading(2, { derived: { dew_point: 9 } })] }),
      item({ deviceId: 'a', readings: [reading(5)] }),
    ]);
    const rows = rowsOf(plan.owners, 77);
    expect(rows.map((r) => [r[0], r[1], r[2], r[3], r[5]])).toEqual([
      ['a', '5', 'humidity', '50', 77],
      ['a', '5', 'temperature', '20.05', 77],
      ['b', '2', 'dew_point', '9', 77],
      ['b', '2', 'humidity', '50', 77],
      ['b', '2', 'temperature', '20.02', 77],
    ]);
    expect(rows[0]![4]).toBe('2026-11-23 10:00:05.000');
  });

  it('sorts any number of sensors by name, sent and derived together; big seqs as exact text', () => {
    const names = ['z9', 'b_2', 'm', 'a10', 'a1', 'q', 'c', 'b'];
    const values = Object.fromEntries(names.map((n, i) => [n, i + 0.5]));
    const plan = planReadings([
      item({ readings: [{ ...reading(1_732_000_000_123), values, derived: { heat_index: 1, aa: 2 } }] }),
    ]);
    const rows = rowsOf(plan.owners, 1);
    expect(rows.map((r) => r[2])).toEqual([...names, 'heat_index', 'aa'].sort());
    expect(rows.every((r) => r[1] === '1732000000123')).toBe(true);
    expect(rows.find((r) => r[2] === 'a1')![3]).toBe('4.5');
  });
});

describe('classify: replays and seq conflicts', () => {
  const old = reading(5);

  it('no stored rows: stored', () => {
    const plan = planReadings([item({ readings: [old] })]);
    expect(classify(plan.owners, []).outcomes).toEqual(['stored']);
  });

  it('an exact replay (same measured_at and values) is a duplicate and inserts nothing', () => {
    const plan = planReadings([item({ readings: [old] })]);
    const c = classify(plan.owners, stored('dev-1', old));
    expect(c.outcomes).toEqual(['duplicate']);
    expect(rowsOf(plan.owners, 1, c.insert)).toEqual([]);
  });

  it('a replay missing a derived value it now has gets just that row', () => {
    const again = { ...old, derived: { dew_point: 9.3 } };
    const plan = planReadings([item({ readings: [again] })]);
    const c = classify(plan.owners, stored('dev-1', old));
    expect(c.outcomes).toEqual(['duplicate']);
    expect(rowsOf(plan.owners, 1, c.insert).map((r) => r[2])).toEqual(['dew_point']);
  });

  it('derived values that differ are not compared (a formula change is not a conflict)', () => {
    const plan = planReadings([item({ readings: [{ ...old, derived: { dew_point: 1 } }] })]);
    expect(classify(plan.owners, stored('dev-1', { ...old, derived: { dew_point: 2 } })).outcomes).toEqual([
      'duplicate',
    ]);
  });

  it('another measured_at under the same seq is a conflict (seq counter went back)', () => {
    const newer = reading(5, { measuredMs: old.measuredMs + 3_600_000 });
    const plan = planReadings([item({ readings: [newer] })]);
    const c = classify(plan.owners, stored('dev-1', old));
    expect(c.outcomes).toEqual(['conflict']);
    expect(rowsOf(plan.owners, 1, c.insert)).toEqual([]);
  });

  it('the same measured_at with another value is a conflict too', () => {
    const plan = planReadings([
      item({ readings: [reading(5, { values: { temperature: 99, humidity: 50 } })] }),
    ]);
    expect(classify(plan.owners, stored('dev-1', old)).outcomes).toEqual(['conflict']);
  });

  it('the same seq of another device is not related', () => {
    const plan = planReadings([item({ readings: [old] })]);
    expect(classify(plan.owners, stored('dev-9', reading(5, { measuredMs: 1 }))).outcomes).toEqual([
      'stored',
    ]);
  });
});

describe('resolveOutcomes', () => {
  it('copies of an owner are duplicates, different copies conflicts', () => {
    const plan = planReadings([
      item({ readings: [reading(1), reading(2)] }),
      item({ readings: [reading(1), reading(2, { measuredMs: 1 })] }),
    ]);
    expect(resolveOutcomes(plan, ['stored', 'duplicate'])).toEqual([
      ['stored', 'duplicate'],
      ['duplicate', 'conflict'],
    ]);
    expect(resolveOutcomes(plan, ['conflict', 'stored'])[1]).toEqual(['conflict', 'conflict']);
  });
});

describe('seqRanges', () => {
  it('one range per device for contiguous seqs; gaps bigger than maxGap split', () => {
    const plan = planReadings([
      item({ deviceId: 'b', readings: [reading(3), reading(1), reading(2)] }),
      item({ deviceId: 'a', readings: [reading(10), reading(5000)] }),
    ]);
    expect(seqRanges(plan.owners)).toEqual([
      ['a', 10, 10],
      ['a', 5000, 5000],
      ['b', 1, 3],
    ]);
    expect(seqRanges(plan.owners, 10_000)[0]).toEqual(['a', 10, 5000]);
  });
});
