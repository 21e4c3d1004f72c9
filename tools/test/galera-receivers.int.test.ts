import { createPool, migrations } from '@sensorfleet/mariadb';
import type { Pool } from 'mariadb';
import { afterAll, describe, expect, it } from 'vitest';
import {
  GaleraCluster,
  httpGet,
  MosquittoServer,
  NodeService,
  shippedBrokerLimits,
  waitFor,
} from '@sensorfleet/tools/harness';
import { DeviceFleet } from './support/device-fleet.js';

/**
 * Receivers on a 3-node Galera cluster (DATABASE_URL as a list): real devices stream through Mosquitto
 * into 2 receiver processes while the node they all write to is killed -9. Every seq must be stored
 * exactly once, and the time until writes go on on another node is measured and printed.
 */
const ROWS_PER_READING = 5;

let cluster: GaleraCluster | undefined;
let broker: MosquittoServer | undefined;
let fleet: DeviceFleet | undefined;
let pool: Pool | undefined;
const receivers: NodeService[] = [];

afterAll(async () => {
  await fleet?.close();
  await Promise.allSettled(receivers.map((r) => r.stop()));
  await pool?.end().catch(() => undefined);
  await broker?.stop();
  await cluster?.destroy();
});

async function metric(service: NodeService, name: string, labels = ''): Promise<number> {
  const { body } = await httpGet(`http://127.0.0.1:${service.port}/metrics`, 5000);
  let total = 0;
  for (const line of body.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (labels && !line.includes(labels)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe('receivers on a Galera cluster', () => {
  it('2 receivers, the node they write to killed -9 mid-stream: every seq stored exactly once', async () => {
    [cluster, broker] = await Promise.all([
      GaleraCluster.start({ nodes: 3 }),
      MosquittoServer.start({ extraConfig: shippedBrokerLimits() }),
    ]);
    const c = cluster;
    const databaseUrl = await c.createDatabase();
    // Both replicas start together on the fresh cluster: the migrations must run once.
    for (const i of [1, 2]) {
      receivers.push(
        await NodeService.start('backend/receiver', {
          label: `receiver-${i}`,
          env: {
            LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
            DATABASE_URL: databaseUrl,
            MQTT_URL: broker.url,
            INGEST_MAX_WAIT_MS: '20',
            FOLD_INTERVAL: '200ms',
            RECEIVER_REPLICA_ID: `receiver-${i}`,
          },
        }),
      );
    }
    await waitFor('receivers healthy', 120_000, async () => {
      const answers = await Promise.all(
        receivers.map((r) => httpGet(r.healthUrl).catch(() => ({ status: 0 }))),
      );
      return answers.every((a) => a.status === 200);
    });
    // Reads for the checks go to node 3, which is never killed.
    pool = createPool(c.node(2).databaseUrl(new URL(databaseUrl.split(',')[0]!).pathname.slice(1)), {
      connectionLimit: 2,
    });
    const p = pool;
    // Both started on the fresh cluster at once: the schema is complete, each migration recorded once.
    const versions = (await p.query('SELECT version FROM schema_migrations ORDER BY version')) as {
      version: number;
    }[];
    expect(versions.map((v) => Number(v.version))).toEqual(
      migrations.map((m) => m.version).sort((a, b) => a - b),
    );

    // Both replicas write to node 1, the first in the list.
    const node1 = `127.0.0.1:${c.node(0).port}`;
    const node2 = `127.0.0.1:${c.node(1).port}`;
    await waitFor('both receivers on node 1', 30_000, async () => {
      const on = await Promise.all(
        receivers.map((r) => metric(r, 'sensorfleet_db_active_node', `node="${node1}"`)),
      );
      return on.every((n) => n === 1);
    });

    fleet = await DeviceFleet.start(2, broker.url);
    const f = fleet;
    const perDevice = 1500;
    const stored = async (): Promise<number> => {
      const [row] = (await p.query('SELECT COUNT(*) AS n FROM readings')) as { n: number }[];
      return Number(row?.n);
    };
    let killedAt = 0;
    let resumedAt = 0;
    let watcher: Promise<void> | undefined;
    await f.produce(perDevice, 200, async (n) => {
      if (n !== 500) return;
      const before = await stored();
      killedAt = Date.now();
      await c.node(0).kill();
      watcher = waitFor(
        'writes resumed on another node',
        120_000,
        async () => {
          if ((await stored()) <= before) return false;
          resumedAt = Date.now();
          return true;
        },
        50,
      );
    });
    await watcher;

    await waitFor('every reading stored and every outbox empty', 180_000, async () => {
      const n = await stored();
      const backlog = await f.backlog();
      return n === f.ids.length * perDevice * ROWS_PER_READING && backlog === 0
        ? true
        : JSON.stringify({ n, backlog });
    });
    const audit = (await p.query(
      `SELECT device_id, COUNT(*) AS n, COUNT(DISTINCT seq) AS seqs, MIN(seq) AS lo, MAX(seq) AS hi,
         SUM(CASE sensor WHEN 'counter' THEN value <> seq ELSE 0 END) AS wrong
       FROM readings GROUP BY device_id ORDER BY device_id`,
    )) as Record<string, number | string>[];
    expect(
      audit.map((a) => [
        a.device_id,
        Number(a.n),
        Number(a.seqs),
        Number(a.lo),
        Number(a.hi),
        Number(a.wrong),
      ]),
    ).toEqual([...f.ids].sort().map((id) => [id, perDevice * ROWS_PER_READING, perDevice, 1, perDevice, 0]));
    // Counted once too: the fold job stays single-actor across the failover.
    await waitFor('the fold job to catch up', 60_000, async () => {
      const [row] = (await p.query('SELECT COUNT(*) AS n FROM ingest_batches')) as { n: number }[];
      return Number(row?.n) === 0;
    });
    const counters = (await p.query(
      'SELECT device_id, SUM(stored_readings) AS stored FROM ingest_counters GROUP BY device_id ORDER BY device_id',
    )) as { device_id: string; stored: number }[];
    expect(counters.map((r) => Number(r.stored))).toEqual(f.ids.map(() => perDevice));

    // Both replicas moved to node 2, and said so in their metrics.
    for (const r of receivers) {
      expect(await metric(r, 'sensorfleet_db_active_node', `node="${node2}"`)).toBe(1);
      expect(await metric(r, 'sensorfleet_db_node_failures_total', `node="${node1}"`)).toBeGreaterThan(0);
    }
    const failoverMs = resumedAt - killedAt;
    console.log(
      `[galera] node 1 killed -9 under 2 receivers: writes resumed on node 2 after ${failoverMs} ms`,
    );
    expect(failoverMs).toBeGreaterThan(0);
  }, 420_000);
});
