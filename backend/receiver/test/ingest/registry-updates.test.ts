import { describe, expect, it } from 'vitest';
import { deepMerge, planRegistry } from '../../src/ingest/registry-updates.js';
import { item, reading } from '../support/items.js';

const T = Date.UTC(2026, 10, 23, 10, 0, 0);
const sql = (ms: number) => new Date(ms).toISOString().slice(0, 23).replace('T', ' ');

describe('planRegistry', () => {
  it('touches every device once: last seen, last data and last seq from committed readings only', () => {
    const plan = planRegistry(
      [
        item({ receivedAt: T, readings: [reading(1), reading(2)] }),
        item({ receivedAt: T + 500, readings: [reading(3)] }),
        item({ deviceId: 'a-dev', kind: 'heartbeat', acks: false, receivedAt: T + 100 }),
      ],
      [['stored', 'duplicate'], ['conflict'], []],
    );
    expect(plan.touch).toEqual([
      {
        id: 'a-dev',
        firstSeen: sql(T + 100),
        lastSeen: sql(T + 100),
        lastDataAt: null,
        lastSeq: null,
        protocol: 'compat004',
      },
      {
        id: 'dev-1',
        firstSeen: sql(T),
        lastSeen: sql(T + 500),
        lastDataAt: sql(reading(2).measuredMs),
        lastSeq: 2,
        protocol: 'native',
      },
    ]);
  });

  it('a retained message creates the device but does not move last seen', () => {
    const plan = planRegistry(
      [item({ kind: 'online', retained: true, registry: [{ kind: 'online', online: true }] })],
      [[]],
    );
    expect(plan.touch[0]).toMatchObject({ lastSeen: null, protocol: null });
    expect(plan.online).toEqual([{ id: 'dev-1', online: 1, at: sql(item().receivedAt) }]);
  });

  it('004 seqs (epoch ms) never become last_seq', () => {
    const plan = planRegistry(
      [item({ kind: 'data', acks: false, readings: [reading(1_766_125_800_000)] })],
      [['stored']],
    );
    expect(plan.touch[0]?.lastSeq).toBeNull();
  });

  it('the last online flag of a device in the batch wins; the newest state by its own ts', () => {
    const plan = planRegistry(
      [
        item({ kind: 'online', registry: [{ kind: 'online', online: false }] }),
        item({ kind: 'online', registry: [{ kind: 'online', online: true }] }),
        item({ kind: 'state', registry: [{ kind: 'state', state: { v: 1, n: 2 }, at: T + 2000 }] }),
        item({ kind: 'state', registry: [{ kind: 'state', state: { v: 1, n: 1 }, at: T + 1000 }] }),
      ],
      [[], [], [], []],
    );
    expect(plan.online.map((o) => o.online)).toEqual([1]);
    expect(plan.state).toEqual([{ id: 'dev-1', state: '{"v":1,"n":2}', at: sql(T + 2000) }]);
  });

  it('states with a revision are ordered by it, not by ts: a clock set back does not hide newer states', () => {
    const HOUR = 3_600_000;
    const states = [
      { kind: 'state' as const, state: { v: 1, rev: 7 }, at: T, rev: 7 },
      { kind: 'state' as const, state: { v: 1, rev: 8 }, at: T - HOUR, rev: 8 },
      { kind: 'state' as const, state: { v: 1, rev: 9 }, at: T - HOUR + 5000, rev: 9 },
    ];
    // Every order a batch may see them in (redelivery, retained copies, two replicas) keeps rev 9.
    for (const order of [
      [0, 1, 2],
      [2, 1, 0],
      [1, 2, 0],
      [2, 0, 1],
      [0, 2, 1],
      [1, 0, 2],
    ]) {
      const plan = planRegistry(
        order.map((i) => item({ kind: 'state', registry: [states[i]!] })),
        order.map(() => []),
      );
      expect(plan.state).toEqual([{ id: 'dev-1', state: '{"v":1,"rev":9}', at: sql(T - HOUR + 5000) }]);
    }
  });

  it('without a revision on both sides the newer ts wins (older devices)', () => {
    const plan = planRegistry(
      [
        item({ kind: 'state', registry: [{ kind: 'state', state: { v: 1, rev: 9 }, at: T, rev: 9 }] }),
        item({ kind: 'state', registry: [{ kind: 'state', state: { v: 1, n: 1 }, at: T + 1000 }] }),
        item({
          kind: 'state',
          registry: [{ kind: 'state', state: { v: 1, rev: 10 }, at: T + 500, rev: 10 }],
        }),
      ],
      [[], [], []],
    );
    // rev 9 → no rev (newer ts) → rev 10 (older ts than the stored state without rev: refused).
    expect(plan.state).toEqual([{ id: 'dev-1', state: '{"v":1,"n":1}', at: sql(T + 1000) }]);
  });

  it('004 status merges keep their order (rounds); data reports are deep-merged', () => {
    const plan = planRegistry(
      [
        item({
          kind: 'status',
          registry: [{ kind: 'status004', status: { battery: 95 }, deviceStatus: 'online' }],
        }),
        item({ kind: 'status', registry: [{ kind: 'status004', status: { battery: null } }] }),
        item({ kind: 'data', registry: [{ kind: 'report004', report: { sensors: { t: { value: 1 } } } }] }),
        item({ kind: 'data', registry: [{ kind: 'report004', report: { sensors: { h: { value: 2 } } } }] }),
      ],
      [[], [], [], []],
    );
    expect(plan.statusRounds.map((r) => r.map((s) => [s.patch, s.deviceStatus]))).toEqual([
      [['{"status":{"battery":95}}', 'online']],
      [['{"status":{"battery":null}}', null]],
    ]);
    expect(JSON.parse(plan.report[0]!.patch)).toEqual({ sensors: { t: { value: 1 }, h: { value: 2 } } });
  });
});

describe('deepMerge', () => {
  it('merges nested objects, later values win', () => {
    expect(deepMerge({ a: { x: 1, y: 1 }, b: 1 }, { a: { y: 2 }, b: [1] })).toEqual({
      a: { x: 1, y: 2 },
      b: [1],
    });
  });
});
