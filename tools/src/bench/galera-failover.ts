import { writeBenchJson } from './bench-output.js';
import path from 'node:path';
import { createPool } from '@sensorfleet/mariadb';
import { GaleraCluster, REPO_ROOT, sleep, waitFor } from '../harness/index.js';
import { formatTable, type Column } from './stats.js';

/**
 * `node tools/dist/bench/galera-failover.js`: what a kill -9 of the Galera node the services write to
 * costs, drill-style, on a private 3-node cluster. A writer inserts through a FailoverPool (the
 * DATABASE_URL list) at a steady pace; node 1 is killed; measured: when the survivors evict it (cluster
 * size 2), the longest gap between two committed inserts (the write outage), and how long the restarted
 * node takes to be Synced again. Once with Galera's default timeouts, once with shorter ones.
 * GALERA_BENCH_RUNS (default 2) runs per setting. Results: bench-results/galera-failover.json.
 */
const runs = Number(process.env.GALERA_BENCH_RUNS ?? 2);

const SETTINGS = [
  { name: 'defaults (evs.suspect_timeout PT5S)', options: '' },
  {
    name: 'short (suspect PT2S, inactive PT4S)',
    options:
      'evs.keepalive_period=PT0.5S;evs.inactive_check_period=PT0.5S;evs.suspect_timeout=PT2S;evs.inactive_timeout=PT4S;evs.install_timeout=PT3S',
  },
];

interface Row {
  setting: string;
  run: number;
  evictedMs: number;
  writeGapMs: number;
  writeErrors: number;
  rejoinMs: number;
}

async function measure(setting: (typeof SETTINGS)[number], run: number): Promise<Row> {
  const cluster = await GaleraCluster.start({ nodes: 3, providerOptions: setting.options });
  try {
    const url = await cluster.createDatabase();
    const db = new URL(url.split(',')[0]!).pathname.slice(1);
    await cluster.node(0).query(`CREATE TABLE \`${db}\`.t (id BIGINT AUTO_INCREMENT PRIMARY KEY, at BIGINT)`);
    const pool = createPool(url, { connectionLimit: 2 });
    let writing = true;
    let last = Date.now();
    let gap = 0;
    let errors = 0;
    const writer = (async () => {
      while (writing) {
        try {
          await pool.query('INSERT INTO t (at) VALUES (?)', [Date.now()]);
          const now = Date.now();
          gap = Math.max(gap, now - last);
          last = now;
        } catch {
          errors++; // the statement in flight on the killed node; the next one goes elsewhere
        }
        await sleep(10);
      }
    })();
    await sleep(1000);
    gap = 0;
    const killedAt = Date.now();
    await cluster.node(0).kill();
    let evictedMs = -1;
    await waitFor(
      'the survivors to evict node 1',
      60_000,
      async () => {
        const sizes = await Promise.all([1, 2].map((i) => cluster.node(i).status()));
        if (!sizes.every((s) => s.clusterSize === 2 && s.clusterStatus === 'Primary')) return false;
        evictedMs = Date.now() - killedAt;
        return true;
      },
      20,
    );
    await sleep(2000);
    writing = false;
    await writer;
    await pool.end();
    const restartAt = Date.now();
    await cluster.node(0).start();
    await cluster.waitForSize(3);
    return {
      setting: setting.name,
      run,
      evictedMs,
      writeGapMs: gap,
      writeErrors: errors,
      rejoinMs: Date.now() - restartAt,
    };
  } finally {
    await cluster.destroy();
  }
}

const rows: Row[] = [];
for (const setting of SETTINGS) {
  for (let run = 1; run <= runs; run++) {
    const row = await measure(setting, run);
    rows.push(row);
    process.stderr.write(`[galera-failover] ${JSON.stringify(row)}\n`);
  }
}
const columns: Column<Row>[] = [
  { title: 'setting', value: (r) => r.setting, align: 'left' },
  { title: 'run', value: (r) => String(r.run) },
  { title: 'evicted after ms', value: (r) => String(r.evictedMs) },
  { title: 'longest write gap ms', value: (r) => String(r.writeGapMs) },
  { title: 'failed statements', value: (r) => String(r.writeErrors) },
  { title: 'rejoin (restart → Synced) ms', value: (r) => String(r.rejoinMs) },
];
process.stdout.write(`${formatTable(columns, rows)}\n`);
const out = path.join(REPO_ROOT, 'bench-results', 'galera-failover.json');
writeBenchJson(out, { measuredAt: new Date().toISOString(), rows });
