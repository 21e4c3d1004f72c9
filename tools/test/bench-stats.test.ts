import { describe, expect, it } from 'vitest';
import { createDecoder, TelemetryBatch } from '@sensorfleet/shared';
import {
  benchCases,
  DEFAULT_SIZES,
  QUICK_SIZES,
  readingsPerDevice,
  selectCases,
} from '../src/bench/cases.js';
import { groupOf, summarise, type CpuProfile } from '../src/bench/profile-summary.js';
import {
  addHistograms,
  fmt,
  formatTable,
  histogramQuantile,
  parseCounter,
  parseHistogram,
  percentile,
  subtractHistogram,
} from '../src/bench/stats.js';
import { caseRows, deviceIds, telemetryPayload, toSqlDateTime } from '../src/bench/telemetry.js';

const METRICS = `# HELP sensorfleet_commit_seconds time to write and commit one transaction
# TYPE sensorfleet_commit_seconds histogram
sensorfleet_commit_seconds_bucket{le="0.001",service="receiver"} 0
sensorfleet_commit_seconds_bucket{le="0.005",service="receiver"} 0
sensorfleet_commit_seconds_bucket{le="0.01",service="receiver"} 10
sensorfleet_commit_seconds_bucket{le="0.025",service="receiver"} 90
sensorfleet_commit_seconds_bucket{le="0.05",service="receiver"} 100
sensorfleet_commit_seconds_bucket{le="+Inf",service="receiver"} 100
sensorfleet_commit_seconds_sum{service="receiver"} 1.5
sensorfleet_commit_seconds_count{service="receiver"} 100
# TYPE sensorfleet_messages_total counter
sensorfleet_messages_total{service="receiver"} 1234
sensorfleet_messages_total_created{service="receiver"} 1
`;

describe('percentile', () => {
  it('interpolates between ranks and ignores input order', () => {
    expect(percentile([5, 1, 4, 2, 3], 50)).toBe(3);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2.5);
    expect(percentile([1, 2, 3, 4], 0)).toBe(1);
    expect(percentile([1, 2, 3, 4], 100)).toBe(4);
    expect(
      percentile(
        Array.from({ length: 101 }, (_, i) => i),
        99,
      ),
    ).toBe(99);
  });
  it('is NaN without values', () => {
    expect(percentile([], 50)).toBeNaN();
  });
});

describe('Prometheus histograms', () => {
  it('parses buckets, sum and count, and counters', () => {
    const h = parseHistogram(METRICS, 'sensorfleet_commit_seconds')!;
    expect(h.count).toBe(100);
    expect(h.sum).toBe(1.5);
    expect(h.buckets.map((b) => b.le)).toEqual([0.001, 0.005, 0.01, 0.025, 0.05, Infinity]);
    expect(parseHistogram(METRICS, 'sensorfleet_nothing')).toBeUndefined();
    expect(parseCounter(METRICS, 'sensorfleet_messages_total')).toBe(1234);
  });

  it('estimates quantiles like histogram_quantile()', () => {
    const h = parseHistogram(METRICS, 'sensorfleet_commit_seconds')!;
    // rank 50 lies in (0.01, 0.025]: 10 below, 80 inside → 0.01 + 0.015 · 40/80
    expect(histogramQuantile(h, 0.5)).toBeCloseTo(0.0175, 10);
    // rank 99 lies in (0.025, 0.05]: 90 below, 10 inside → 0.025 + 0.025 · 9/10
    expect(histogramQuantile(h, 0.99)).toBeCloseTo(0.0475, 10);
    expect(histogramQuantile({ buckets: [], sum: 0, count: 0 }, 0.5)).toBeNaN();
  });

  it('answers the largest finite bound for ranks in +Inf', () => {
    const h = {
      buckets: [
        { le: 0.1, count: 1 },
        { le: Infinity, count: 10 },
      ],
      sum: 50,
      count: 10,
    };
    expect(histogramQuantile(h, 0.99)).toBe(0.1);
  });

  it('adds two receivers and subtracts an earlier scrape', () => {
    const h = parseHistogram(METRICS, 'sensorfleet_commit_seconds')!;
    const twice = addHistograms(h, h);
    expect(twice.count).toBe(200);
    expect(twice.buckets.find((b) => b.le === 0.025)?.count).toBe(180);
    const diff = subtractHistogram(twice, h);
    expect(diff).toEqual(h);
  });
});

describe('table', () => {
  it('aligns columns', () => {
    const text = formatTable(
      [
        { title: 'case', value: (r: { n: string; v: number }) => r.n, align: 'left' },
        { title: 'rows/s', value: (r) => fmt(r.v) },
      ],
      [
        { n: 'a', v: 1234567 },
        { n: 'longer', v: 5 },
      ],
    );
    expect(text.split('\n')).toEqual([
      'case       rows/s',
      '------  ---------',
      'a       1,234,567',
      'longer          5',
    ]);
    expect(fmt(NaN)).toBe('–');
    expect(fmt(0.456, 2)).toBe('0.46');
  });
});

describe('bench telemetry', () => {
  it('publishes valid TelemetryBatch payloads with contiguous seqs', () => {
    const decoded = createDecoder(TelemetryBatch).decode(telemetryPayload(Date.UTC(2026, 10, 23), 7, 50));
    expect(decoded.ok).toBe(true);
    if (!decoded.ok) return;
    expect(decoded.value.v).toBe(1);
    expect(decoded.value.readings.map((r) => r.seq)).toEqual(Array.from({ length: 50 }, (_, i) => 7 + i));
    expect(Object.keys(decoded.value.readings[0]!.values)).toEqual(['temperature', 'humidity', 'pressure']);
  });

  it('gives the raw baseline the rows the receiver stores, in arrival order', () => {
    const base = Date.UTC(2026, 10, 23);
    const rows = caseRows(deviceIds(2), 3, 2, base);
    expect(rows).toHaveLength(2 * 3 * 3);
    expect(rows.map((r) => `${r[0]}:${r[1]}`).filter((_, i) => i % 3 === 0)).toEqual([
      'bench-00001:1',
      'bench-00001:2',
      'bench-00002:1',
      'bench-00002:2',
      'bench-00001:3',
      'bench-00002:3',
    ]);
    expect(rows[0]).toEqual(['bench-00001', 1, 'temperature', 20.01, '2026-11-23 00:00:01.000']);
    expect(toSqlDateTime('2026-11-23T10:00:00.123Z')).toBe('2026-11-23 10:00:00.123');
  });
});

describe('bench cases', () => {
  it('covers devices × message sizes × receivers plus the backlog replay', () => {
    const cases = benchCases(DEFAULT_SIZES);
    expect(cases).toHaveLength(13);
    expect(new Set(cases.map((c) => c.name)).size).toBe(13);
    const backlog = cases.find((c) => c.kind === 'backlog')!;
    expect(backlog.devices * backlog.readingsPerDevice).toBe(100_000);
    expect(backlog.readingsPerMessage).toBe(100);
    for (const c of cases) {
      expect(c.readingsPerDevice % c.readingsPerMessage).toBe(0);
      expect(c.connections).toBe(c.devices > 100 ? 10 : c.devices);
    }
    for (const c of benchCases(QUICK_SIZES))
      expect(c.devices * c.readingsPerDevice).toBeLessThanOrEqual(50_000);
  });

  it('sizes a case in whole messages, at least one per device', () => {
    expect(readingsPerDevice(60_000, 1000, 50)).toBe(50);
    expect(readingsPerDevice(60_000, 10, 50)).toBe(6000);
    expect(readingsPerDevice(10, 1000, 50)).toBe(50);
    // quick runs: fewer readings than a message holds
    expect(readingsPerDevice(2000, 1000, 50, false)).toBe(2);
    expect(readingsPerDevice(10, 1000, 50, false)).toBe(1);
  });

  it('selects cases by name fragments', () => {
    const cases = benchCases(DEFAULT_SIZES);
    expect(selectCases(cases, '').length).toBe(13);
    expect(selectCases(cases, 'backlog').map((c) => c.kind)).toEqual(['backlog']);
    expect(selectCases(cases, 'live-d10-m1-r1, m50-r2').map((c) => c.name)).toEqual([
      'live-d10-m1-r1',
      'live-d10-m50-r2',
      'live-d100-m50-r2',
      'live-d1000-m50-r2',
    ]);
  });
});

describe('profile summary', () => {
  it('groups self and total time by package', () => {
    expect(groupOf('file:///x/node_modules/mariadb/lib/a.js', 'f')).toBe('mariadb');
    expect(groupOf('file:///x/node_modules/@sinclair/typebox/a.js', 'f')).toBe('@sinclair/typebox');
    expect(groupOf('file:///work/main/backend/receiver/dist/ingest-batcher.js', 'take')).toBe(
      'receiver/ingest-batcher.js',
    );
    expect(groupOf('', '(garbage collector)')).toBe('(garbage collector)');
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '', lineNumber: 0 }, children: [2] },
        { id: 2, callFrame: { functionName: 'outer', url: 'a.js', lineNumber: 0 }, children: [3] },
        { id: 3, callFrame: { functionName: 'inner', url: 'b.js', lineNumber: 0 } },
      ],
      samples: [2, 3, 3],
      timeDeltas: [0, 1000, 1000, 1000],
      startTime: 0,
      endTime: 3000,
    };
    const { totalMs, rows } = summarise(profile, (n) => n.callFrame.functionName);
    expect(totalMs).toBe(3);
    expect(rows.find((r) => r.key === 'inner')).toMatchObject({ selfMs: 2, totalMs: 2 });
    expect(rows.find((r) => r.key === 'outer')).toMatchObject({ selfMs: 1, totalMs: 3 });
  });
});
