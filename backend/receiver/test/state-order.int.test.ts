import { createPool, migrate } from '@sensorfleet/mariadb';
import type { Pool } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MariaDbServer } from '@sensorfleet/tools/harness';
import { writeRegistry } from '../src/ingest/device-registry-writer.js';
import type { RegistryUpdate } from '../src/ingest/ingest-item.js';
import { planRegistry } from '../src/ingest/registry-updates.js';
import { item } from './support/items.js';

/**
 * The stored device state against a real MariaDB: each state is its own batch, so the SQL upsert (not the
 * batch planner) decides which one is kept, in every order two replicas may write them.
 */
const HOUR = 3_600_000;
const T = Date.UTC(2026, 10, 23, 10, 0, 0);

let db: MariaDbServer;
let pools: Pool[];
beforeAll(async () => {
  db = await MariaDbServer.start();
  const url = await db.createDatabase();
  pools = [0, 1].map(() =>
    createPool(url, {
      connectionLimit: 2,
      initSql: 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED',
    }),
  );
  await migrate(pools[0]!);
});
afterAll(async () => {
  await Promise.allSettled((pools ?? []).map((p) => p.end()));
  await db?.stop();
});

type StateUpdate = Extract<RegistryUpdate, { kind: 'state' }>;
const state = (n: number, at: number, rev?: number): StateUpdate => {
  const body = { v: 1, n, ts: new Date(at).toISOString(), ...(rev !== undefined ? { rev } : {}) };
  return { kind: 'state', state: body, at, ...(rev !== undefined ? { rev } : {}) };
};

async function apply(pool: Pool, deviceId: string, u: StateUpdate): Promise<void> {
  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    await writeRegistry(conn, planRegistry([item({ deviceId, kind: 'state', registry: [u] })], [[]]));
    await conn.commit();
  } finally {
    await conn.release();
  }
}

async function stored(deviceId: string): Promise<{ n: number; at: string }> {
  const [row] = (await pools[0]!.query('SELECT last_state, last_state_at FROM devices WHERE id = ?', [
    deviceId,
  ])) as { last_state: string | Record<string, unknown>; last_state_at: Date }[];
  const s = typeof row!.last_state === 'string' ? JSON.parse(row!.last_state) : row!.last_state;
  return { n: (s as { n: number }).n, at: row!.last_state_at.toISOString() };
}

function permutations<T>(xs: T[]): T[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

describe('devices.last_state upsert', () => {
  // Before the jump (rev 7, 8), then the device clock goes back an hour (rev 9, 10).
  const jumped = [
    state(1, T - 1000, 7),
    state(2, T, 8),
    state(3, T - HOUR, 9),
    state(4, T - HOUR + 5000, 10),
  ];

  it('keeps the highest revision, and its ts, in every order of arrival', async () => {
    const orders = permutations([0, 1, 2, 3]);
    await Promise.all(
      orders.map(async (order, k) => {
        for (const i of order) await apply(pools[k % 2]!, `perm-${k}`, jumped[i]!);
      }),
    );
    for (let k = 0; k < orders.length; k++) {
      expect(await stored(`perm-${k}`), `order ${orders[k]!.join(',')}`).toEqual({
        n: 4,
        at: new Date(T - HOUR + 5000).toISOString(),
      });
    }
  });

  it('two replicas writing redelivered states at once end on the newest', async () => {
    for (let round = 0; round < 5; round++) {
      const id = `race-${round}`;
      await Promise.all([
        (async () => {
          for (const u of [jumped[3]!, jumped[0]!, jumped[2]!]) await apply(pools[0]!, id, u);
        })(),
        (async () => {
          for (const u of [jumped[1]!, jumped[3]!, jumped[0]!]) await apply(pools[1]!, id, u);
        })(),
      ]);
      expect((await stored(id)).n).toBe(4);
    }
  });

  it('without a revision on either side, the newer ts wins (older devices, the upgrade)', async () => {
    await apply(pools[0]!, 'old-dev', state(1, T));
    await apply(pools[0]!, 'old-dev', state(2, T - HOUR));
    expect(await stored('old-dev')).toEqual({ n: 1, at: new Date(T).toISOString() });
    await apply(pools[0]!, 'old-dev', state(3, T + 1000, 1)); // upgraded: first state with a revision
    expect((await stored('old-dev')).n).toBe(3);
    await apply(pools[0]!, 'old-dev', state(4, T + 500)); // an old retained copy without one
    expect((await stored('old-dev')).n).toBe(3);
    await apply(pools[0]!, 'old-dev', state(5, T - HOUR, 2));
    expect(await stored('old-dev')).toEqual({ n: 5, at: new Date(T - HOUR).toISOString() });
    await apply(pools[0]!, 'old-dev', state(5, T - HOUR, 2)); // applied again: unchanged
    expect(await stored('old-dev')).toEqual({ n: 5, at: new Date(T - HOUR).toISOString() });
  });

  it('decides per row in a multi-row upsert (one replaced, one kept, one new)', async () => {
    await apply(pools[0]!, 'multi-a', state(1, T, 5));
    await apply(pools[0]!, 'multi-b', state(1, T, 5));
    const batch = [
      item({ deviceId: 'multi-a', kind: 'state', registry: [state(2, T - HOUR, 6)] }),
      item({ deviceId: 'multi-b', kind: 'state', registry: [state(2, T + HOUR, 4)] }),
      item({ deviceId: 'multi-c', kind: 'state', registry: [state(2, T, 1)] }),
    ];
    const conn = await pools[1]!.getConnection();
    try {
      await conn.beginTransaction();
      await writeRegistry(conn, planRegistry(batch, [[], [], []]));
      await conn.commit();
    } finally {
      await conn.release();
    }
    expect(await stored('multi-a')).toEqual({ n: 2, at: new Date(T - HOUR).toISOString() });
    expect(await stored('multi-b')).toEqual({ n: 1, at: new Date(T).toISOString() });
    expect(await stored('multi-c')).toEqual({ n: 2, at: new Date(T).toISOString() });
  });

  it('compares revisions as numbers, beyond 32 bits', async () => {
    await apply(pools[0]!, 'big-rev', state(1, T, 1_764_000_000_999));
    await apply(pools[0]!, 'big-rev', state(2, T - HOUR, 1_764_000_001_000));
    await apply(pools[0]!, 'big-rev', state(3, T + HOUR, 999_999_999_999));
    expect((await stored('big-rev')).n).toBe(2);
  });
});
