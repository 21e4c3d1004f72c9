import { createPool, migrate, migrations } from '@sensorfleet/mariadb';
import type { Pool } from 'mariadb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GaleraCluster } from '@sensorfleet/tools/harness';

/**
 * @sensorfleet/mariadb on a real 3-node Galera cluster: migrations started on two nodes at once run once
 * (a lock row, since GET_LOCK is node-local), and statements that lose a certification conflict to a
 * writer on another node are run again.
 */
let cluster: GaleraCluster;
const pools: Pool[] = [];
const track = (pool: Pool): Pool => (pools.push(pool), pool);

beforeAll(async () => {
  cluster = await GaleraCluster.start({ nodes: 3 });
});
afterAll(async () => {
  await Promise.allSettled(pools.map((p) => p.end()));
  await cluster?.destroy();
});

const dbOf = (url: string): string => new URL(url.split(',')[0]!).pathname.slice(1);

describe('migrations on Galera', () => {
  it('run once when two services start together on different nodes', async () => {
    const url = await cluster.createDatabase();
    const db = dbOf(url);
    // A migration that fails when run twice: CREATE TABLE without IF NOT EXISTS.
    const list = [
      ...migrations,
      { version: 9001, name: 'once', statements: ['CREATE TABLE once_marker (id INT PRIMARY KEY)'] },
    ];
    const viaNode1 = track(createPool(cluster.databaseUrl(db, [0, 1, 2])));
    const viaNode2 = track(createPool(cluster.databaseUrl(db, [1, 2, 0])));
    const [a, b] = await Promise.all([migrate(viaNode1, list), migrate(viaNode2, list)]);
    const all = list.map((m) => m.version).sort((x, y) => x - y);
    expect([...a.applied, ...b.applied].sort((x, y) => x - y)).toEqual(all);
    expect(a.current).toBe(9001);
    expect(b.current).toBe(9001);
    const rows = (await cluster
      .node(2)
      .query(`SELECT version FROM \`${db}\`.schema_migrations`)) as unknown[];
    expect(rows).toHaveLength(list.length);
    const lock = (await cluster.node(2).query(`SELECT holder FROM \`${db}\`.schema_migration_lock`)) as {
      holder: string | null;
    }[];
    expect(lock).toEqual([{ holder: null }]);
  });
});

describe('certification conflicts', () => {
  it('an autocommit update losing to a writer on another node is run again, never lost', async () => {
    const url = await cluster.createDatabase();
    const db = dbOf(url);
    await cluster.node(0).query(`CREATE TABLE \`${db}\`.hot (id INT PRIMARY KEY, n INT NOT NULL)`);
    await cluster.node(0).query(`INSERT INTO \`${db}\`.hot VALUES (1, 0)`);
    let retries = 0;
    // The server's own autocommit retry off, so every lost certification reaches the client.
    const opts = {
      connectionLimit: 4,
      initSql: 'SET SESSION wsrep_retry_autocommit = 0',
      onConflictRetry: () => void retries++,
    };
    const onNode1 = track(createPool(cluster.databaseUrl(db, [0, 1, 2]), opts));
    const onNode2 = track(createPool(cluster.databaseUrl(db, [1, 2, 0]), opts));
    const perWriter = 160;
    await Promise.all(
      [onNode1, onNode2].flatMap((pool) =>
        Array.from({ length: 4 }, async () => {
          for (let i = 0; i < perWriter / 4; i++) await pool.query('UPDATE hot SET n = n + 1 WHERE id = 1');
        }),
      ),
    );
    const [row] = (await cluster.node(2).query(`SELECT n FROM \`${db}\`.hot WHERE id = 1`)) as {
      n: number;
    }[];
    expect(Number(row?.n)).toBe(2 * perWriter);
    expect(retries).toBeGreaterThan(0);
    console.log(`[galera] ${2 * perWriter} contended updates on two nodes: ${retries} conflict retries`);
  });
});
