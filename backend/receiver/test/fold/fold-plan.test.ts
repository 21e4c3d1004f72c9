import { describe, expect, it } from 'vitest';
import {
  mergeRanges,
  mergeRecords,
  minutesOfRows,
  rollupsOf,
  valuesInKeyOrder,
} from '../../src/fold/fold-plan.js';
import type { ReadingRow } from '../../src/ingest/reading-plan.js';

describe('mergeRanges: the union the fold scans', () => {
  it('merges one-seq ranges of many batches into one range per device', () => {
    const ranges: [string, number, number][] = [];
    for (let batch = 0; batch < 50; batch++) {
      for (const device of ['b', 'a', 'c']) ranges.push([device, batch + 1, batch + 1]);
    }
    expect(mergeRanges(ranges)).toEqual([
      ['a', 1, 50],
      ['b', 1, 50],
      ['c', 1, 50],
    ]);
  });

  it('bridges gaps up to maxGap and keeps larger gaps apart', () => {
    expect(
      mergeRanges(
        [
          ['a', 10, 20],
          ['a', 1, 5],
          ['a', 2000, 2001],
          ['a', 22, 25],
        ],
        5,
      ),
    ).toEqual([
      ['a', 1, 25],
      ['a', 2000, 2001],
    ]);
  });

  it('handles overlapping and contained ranges, and never merges across devices', () => {
    expect(
      mergeRanges([
        ['a', 1, 100],
        ['a', 50, 60],
        ['a', 90, 120],
        ['b', 101, 101],
      ]),
    ).toEqual([
      ['a', 1, 120],
      ['b', 101, 101],
    ]);
    expect(mergeRanges([])).toEqual([]);
  });

  it('does not change its input', () => {
    const input: [string, number, number][] = [
      ['a', 5, 6],
      ['a', 1, 2],
    ];
    mergeRanges(input);
    expect(input).toEqual([
      ['a', 5, 6],
      ['a', 1, 2],
    ]);
  });
});

describe('mergeRecords: many batch records, one upsert row per key', () => {
  const counters = (minute: string, deviceId: string, messages: number) => ({
    minute,
    deviceId,
    messages,
    readings: messages,
    storedReadings: messages,
    duplicateReadings: 0,
    rejectedReadings: 0,
    rejectedMessages: 0,
    storedRows: 2 * messages,
  });
  const touch = (id: string, lastSeen: string | null, lastSeq: number | null, protocol: 'native' | null) => ({
    id,
    firstSeen: lastSeen ?? '2026-11-23 10:00:00.000',
    lastSeen,
    lastDataAt: lastSeen,
    lastSeq,
    protocol,
  });

  it('adds counters and rejections per key and keeps the latest of every device, in key order', () => {
    const merged = mergeRecords([
      {
        ranges: [['b', 1, 3]],
        counters: [counters('2026-11-23 10:01:00', 'b', 2), counters('2026-11-23 10:00:00', 'a', 1)],
        rejections: [
          { minute: '2026-11-23 10:00:00', deviceId: 'a', scope: 'reading', reason: 'schema', n: 1 },
        ],
        touch: [touch('b', '2026-11-23 10:01:05.000', 3, 'native')],
      },
      {
        ranges: [['a', 1, 1]],
        counters: [counters('2026-11-23 10:01:00', 'b', 3)],
        rejections: [
          { minute: '2026-11-23 10:00:00', deviceId: 'a', scope: 'reading', reason: 'schema', n: 2 },
        ],
        // Only retained messages: no last seen, so neither it nor the protocol moves.
        touch: [touch('b', null, null, null), touch('a', '2026-11-23 10:00:01.000', 1, 'native')],
      },
    ]);
    expect(merged.ranges).toEqual([
      ['b', 1, 3],
      ['a', 1, 1],
    ]);
    expect(merged.counters.map((c) => [c.minute, c.deviceId, c.messages, c.storedRows])).toEqual([
      ['2026-11-23 10:00:00', 'a', 1, 2],
      ['2026-11-23 10:01:00', 'b', 5, 10],
    ]);
    expect(merged.rejections.map((r) => r.n)).toEqual([3]);
    expect(merged.touch.map((t) => [t.id, t.lastSeen, t.lastSeq, t.protocol])).toEqual([
      ['a', '2026-11-23 10:00:01.000', 1, 'native'],
      ['b', '2026-11-23 10:01:05.000', 3, 'native'],
    ]);
  });

  it('rolls minute aggregates (possibly split over several SELECTs) up into minutes and hours', () => {
    const agg = (bucket: string, n: number, min: number, max: number) => ({
      device_id: 'a',
      sensor: 'temperature',
      bucket,
      n,
      sum_value: n * 20,
      min_value: min,
      max_value: max,
    });
    const { minutes, hours } = rollupsOf([
      agg('2026-11-23 10:01:00', 2, 19, 21),
      agg('2026-11-23 10:00:00', 1, 20, 20),
      agg('2026-11-23 10:01:00', 1, 18, 22),
    ]);
    expect(minutes.map((m) => [m.bucket, m.n, m.min_value, m.max_value])).toEqual([
      ['2026-11-23 10:00:00', 1, 20, 20],
      ['2026-11-23 10:01:00', 3, 18, 22],
    ]);
    expect(hours.map((h) => [h.bucket, h.n, h.sum_value, h.min_value, h.max_value])).toEqual([
      ['2026-11-23 10:00:00', 4, 80, 18, 22],
    ]);
  });

  it('takes the minute rollups a record carries instead of its ranges (those are read back only without them)', () => {
    const merged = mergeRecords([
      {
        ranges: [['a', 1, 2]],
        counters: [],
        rejections: [],
        touch: [],
        minutes: [['a', 'temperature', '2026-11-23 10:00:00', 2, 41, 20, 21]],
      },
      { ranges: [['b', 7, 9]], counters: [], rejections: [], touch: [] },
    ]);
    expect(merged.ranges).toEqual([['b', 7, 9]]);
    expect(merged.minutes).toEqual([
      {
        device_id: 'a',
        sensor: 'temperature',
        bucket: '2026-11-23 10:00:00',
        n: 2,
        sum_value: 41,
        min_value: 20,
        max_value: 21,
      },
    ]);
  });
});

describe('mergeRecords: the carried minute rollups', () => {
  it('merges the same bucket from several records into one aggregate, and keeps the others apart', () => {
    const record = (minutes: [string, string, string, number, number, number, number][]) => ({
      ranges: [],
      counters: [],
      rejections: [],
      touch: [],
      minutes,
    });
    const minute = '2026-11-23 10:00:00';
    const merged = mergeRecords([
      record([
        ['a', 'temperature', minute, 1, 20, 20, 20],
        ['a', 'humidity', minute, 1, 50, 50, 50],
      ]),
      record([['a', 'temperature', minute, 2, 43, 21, 22]]),
      record([['b', 'temperature', minute, 1, 19, 19, 19]]),
      record([['a', 'temperature', minute, 1, 18, 18, 18]]),
    ]);
    expect(
      merged.minutes.map((m) => [m.device_id, m.sensor, m.n, m.sum_value, m.min_value, m.max_value]),
    ).toEqual([
      ['a', 'temperature', 4, 81, 18, 22],
      ['a', 'humidity', 1, 50, 50, 50],
      ['b', 'temperature', 1, 19, 19, 19],
    ]);
    // The fold's totals are the same whether merged here or in rollupsOf.
    expect(rollupsOf(merged.minutes).hours.map((h) => [h.device_id, h.sensor, h.n, h.sum_value])).toEqual([
      ['a', 'humidity', 1, 50],
      ['a', 'temperature', 4, 81],
      ['b', 'temperature', 1, 19],
    ]);
  });
});

describe('minutesOfRows: the rollups a batch records of the rows it stored', () => {
  it('groups by device, sensor and UTC minute of measured_at, with the values the texts parse to', () => {
    const row = (d: string, seq: number, sensor: string, value: string, at: string): ReadingRow => [
      d,
      String(seq),
      sensor,
      value,
      at,
      7,
    ];
    const minutes = minutesOfRows([
      row('a', 1, 'temperature', '20.5', '2026-11-23 10:00:59.999'),
      row('a', 2, 'temperature', '-1e-7', '2026-11-23 10:00:00.000'),
      row('a', 2, 'humidity', '40', '2026-11-23 10:00:00.000'),
      row('a', 3, 'temperature', '22', '2026-11-23 10:01:00.000'),
      row('b', 1, 'temperature', '19', '2026-11-23 10:00:30.000'),
    ]);
    expect(minutes).toEqual([
      ['a', 'temperature', '2026-11-23 10:00:00', 2, 20.5 - 1e-7, -1e-7, 20.5],
      ['a', 'humidity', '2026-11-23 10:00:00', 1, 40, 40, 40],
      ['a', 'temperature', '2026-11-23 10:01:00', 1, 22, 22, 22],
      ['b', 'temperature', '2026-11-23 10:00:00', 1, 19, 19, 19],
    ]);
    expect(minutesOfRows([])).toEqual([]);
  });
});

describe('valuesInKeyOrder: upsert rows in lock order', () => {
  it('orders by the whole key, as string comparison does, whatever the insertion order', () => {
    const key = (...parts: string[]) => parts.join('\u0000');
    const map = new Map<string, string>([
      [key('b', 'temperature'), 'b/t'],
      [key('a1', 'humidity'), 'a1/h'],
      [key('a', 'temperature'), 'a/t'],
      [key('a', 'humidity'), 'a/h'],
    ]);
    // 'a' + NUL sorts before 'a1': a device's rows stay together before longer ids sharing its prefix.
    expect(valuesInKeyOrder(map)).toEqual(['a/h', 'a/t', 'a1/h', 'b/t']);
    expect(valuesInKeyOrder(new Map())).toEqual([]);
  });
});
