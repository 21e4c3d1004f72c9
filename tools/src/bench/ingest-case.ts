import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { createPool, migrate } from '@sensorfleet/mariadb';
import { receiverClientId, topics } from '@sensorfleet/shared';
import { httpGet, NodeService, waitFor, type MariaDbServer, type MosquittoServer } from '../harness/index.js';
import type { BenchCase } from './cases.js';
import { ProcSampler, type ProcUsage } from './proc-sampler.js';
import { PublisherFleet } from './publishers.js';
import { rawBatchInsert, rawMultiRowInsert, type RawResult } from './raw-insert.js';
import {
  addHistograms,
  emptyHistogram,
  histogramQuantile,
  parseCounter,
  parseHistogram,
  percentile,
  subtractHistogram,
  type Histogram,
} from './stats.js';
import { caseRows, deviceIds, telemetryPayload, type ReadingRow } from './telemetry.js';

export interface CaseEnv {
  db: MariaDbServer;
  broker: MosquittoServer;
  /** Readings a device keeps unacknowledged at most. */
  window: number;
  ackTimeoutMs: number;
  caseTimeoutMs: number;
  /** Runs of each raw baseline; the best counts (one run on a shared 2-core VM varied by ±30 %). */
  rawRepeats: number;
  /** Extra env of every receiver (e.g. NODE_OPTIONS=--cpu-prof …); the bench keeps receiver defaults. */
  receiverEnv: Record<string, string>;
  /** Receivers started (so Ctrl-C can stop them) and stopped. */
  track: (s: NodeService) => void;
  untrack: (s: NodeService) => void;
  log: (line: string) => void;
}

export interface CaseResult {
  name: string;
  kind: BenchCase['kind'];
  devices: number;
  readingsPerMessage: number;
  receivers: number;
  connections: number;
  complete: boolean;
  readings: number;
  ackedReadings: number;
  messages: number;
  resentMessages: number;
  /** Rows of the simulated devices found in `readings` at the end. */
  rows: number;
  seconds: number;
  rowsPerS: number;
  rawMultiRow: RawResult;
  rawBatch: RawResult;
  rawRowsPerS: number;
  ratio: number;
  commitP50Ms: number;
  commitP99Ms: number;
  ackP50Ms: number;
  ackP99Ms: number;
  /** Transactions the receivers committed, mean rows per transaction, share of the time in a transaction. */
  transactions: number;
  /** Receiver transactions per commit-time bucket: [upper bound in s (null = +Inf), count] (not cumulative). */
  commitBuckets: [number | null, number][];
  rowsPerTransaction: number;
  dbBusy: number;
  receiverRssMb: number;
  cpuSeconds: Record<string, number>;
}

const PROBE_DEVICE = 'bench-probe';

/** A server to run root statements on: a MariaDbServer, or one node of a Galera cluster. */
export interface SqlServer {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

function dbName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

async function freshDatabase(db: MariaDbServer, label: string): Promise<string> {
  const url = await db.createDatabase(`bench_${label}_${randomBytes(3).toString('hex')}`);
  const pool = createPool(url, { connectionLimit: 1 });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
  return url;
}

async function dropDatabase(db: MariaDbServer, url: string): Promise<void> {
  await db.query(`DROP DATABASE IF EXISTS \`${dbName(url)}\``).catch(() => undefined);
}

async function dirtyPages(db: SqlServer): Promise<{ dirty: number; total: number }> {
  const rows = (await db.query(
    'SELECT VARIABLE_NAME AS name, VARIABLE_VALUE AS value FROM information_schema.GLOBAL_STATUS ' +
      "WHERE VARIABLE_NAME IN ('INNODB_BUFFER_POOL_PAGES_DIRTY', 'INNODB_BUFFER_POOL_PAGES_TOTAL')",
  )) as { name: string; value: string }[];
  const get = (n: string): number => Number(rows.find((r) => r.name === n)?.value ?? 0);
  return { dirty: get('INNODB_BUFFER_POOL_PAGES_DIRTY'), total: get('INNODB_BUFFER_POOL_PAGES_TOTAL') };
}

/**
 * Lets MariaDB write out what the previous phase left dirty in its buffer pool (down to 5 % of the pool,
 * for at most `maxMs`), so that no phase pays for the one before it: the page cleaner flushes at full
 * speed while innodb_max_dirty_pages_pct is 0. Returns the ms it took.
 */
export async function settleDatabase(db: SqlServer, maxMs = 8000): Promise<number> {
  const started = Date.now();
  const [before] = (await db.query('SELECT @@GLOBAL.innodb_max_dirty_pages_pct AS pct')) as { pct: number }[];
  await db.query('SET GLOBAL innodb_max_dirty_pages_pct = 0');
  try {
    for (;;) {
      const { dirty, total } = await dirtyPages(db);
      if (dirty <= Math.max(64, total / 20) || Date.now() - started > maxMs) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await db.query(`SET GLOBAL innodb_max_dirty_pages_pct = ${Number(before?.pct ?? 90)}`);
  }
  return Date.now() - started;
}

async function scrape(receiver: NodeService): Promise<string> {
  const r = await httpGet(`http://127.0.0.1:${receiver.port}/metrics`, 5000);
  if (r.status !== 200) throw new Error(`receiver /metrics answered ${r.status}`);
  return r.body;
}

/**
 * Until every receiver has taken a message and one ack came back: proves the subscriptions are in place
 * (health only says "connected") before the clock starts. The probe device's rows are not counted.
 */
export async function probeReceivers(brokerUrl: string, receivers: NodeService[]): Promise<void> {
  const client = await mqtt.connectAsync(brokerUrl, {
    clientId: `bench-probe-${randomBytes(3).toString('hex')}`,
    clean: true,
    reconnectPeriod: 0,
  });
  try {
    let acked = false;
    client.on('message', () => (acked = true));
    await client.subscribeAsync(topics.ack(PROBE_DEVICE), { qos: 1 });
    let seq = 0;
    const publishProbe = (): Promise<unknown> =>
      client.publishAsync(topics.telemetry(PROBE_DEVICE), telemetryPayload(Date.now(), ++seq, 1), { qos: 1 });
    await waitFor('an ack of a probe message', 30_000, async () => {
      await publishProbe();
      return acked;
    });
    // Two receivers: until each has taken a message (if it exports sensorfleet_messages_total at all).
    if (receivers.length > 1) {
      await waitFor('every receiver to take a probe message', 15_000, async () => {
        await publishProbe();
        const taken = await Promise.all(
          receivers.map(async (r) => {
            const text = await scrape(r);
            return (
              !text.includes('sensorfleet_messages_total') ||
              parseCounter(text, 'sensorfleet_messages_total') > 0
            );
          }),
        );
        return taken.every(Boolean);
      });
    }
  } finally {
    await client.endAsync(true).catch(() => undefined);
  }
}

export async function commitHistogram(receivers: NodeService[]): Promise<{ h: Histogram; stored: number }> {
  let h = emptyHistogram();
  let stored = 0;
  for (const r of receivers) {
    const text = await scrape(r);
    h = addHistograms(h, parseHistogram(text, 'sensorfleet_commit_seconds') ?? emptyHistogram());
    stored += parseCounter(text, 'sensorfleet_stored_rows_total');
  }
  return { h, stored };
}

/** One case: MQTT → receiver(s) → MariaDB, then the raw-insert baselines of the same rows. */
export async function runCase(env: CaseEnv, c: BenchCase): Promise<CaseResult> {
  const ids = deviceIds(c.devices);
  // Live devices measure "now"; a backlog is readings from the hours the link was down.
  const readingsSpanMs = c.readingsPerDevice * 1000;
  const baseMs = Date.now() - readingsSpanMs - (c.kind === 'backlog' ? 3_600_000 : 0);

  // --- end to end ---
  const e2eUrl = await freshDatabase(env.db, 'e2e');
  await settleDatabase(env.db);
  const receivers: NodeService[] = [];
  let fleet: PublisherFleet | undefined;
  let sampler: ProcSampler | undefined;
  let usage: Record<string, ProcUsage> = {};
  try {
    const started = await Promise.allSettled(
      Array.from({ length: c.receivers }, (_, i) =>
        NodeService.start('backend/receiver', {
          label: `receiver-${i + 1}`,
          env: {
            LOG_LEVEL: 'warn',
            ...env.receiverEnv,
            SENSORFLEET_CPU_PROF_LABEL: `${c.name}-receiver-${i + 1}`,
            // Every case has a broker of its own, so the ids need only differ between replicas.
            RECEIVER_REPLICA_ID: `receiver-${i + 1}`,
            DATABASE_URL: e2eUrl,
            MQTT_URL: env.broker.url,
          },
        }),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') receivers.push(s.value);
    receivers.forEach(env.track);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    for (const r of receivers) {
      await waitFor(`${r.healthUrl} to report healthy`, 30_000, async () => {
        return (await httpGet(r.healthUrl)).status === 200;
      });
    }
    await probeReceivers(env.broker.url, receivers);
    fleet = await PublisherFleet.connect({
      brokerUrl: env.broker.url,
      deviceIds: ids,
      readingsPerDevice: c.readingsPerDevice,
      readingsPerMessage: c.readingsPerMessage,
      window: env.window,
      connections: c.connections,
      baseMs,
      ackTimeoutMs: env.ackTimeoutMs,
    });
    const before = await commitHistogram(receivers);
    const pids: Record<string, number | undefined> = {
      mariadb: env.db.pid,
      mosquitto: env.broker.pid,
    };
    receivers.forEach((r, i) => (pids[`receiver-${i + 1}`] = r.pid));
    sampler = new ProcSampler(pids, 200);
    sampler.start();
    const result = await fleet.run(env.caseTimeoutMs);
    usage = sampler.stop();
    sampler = undefined;
    const after = await commitHistogram(receivers);
    const commits = subtractHistogram(after.h, before.h);
    // What the receivers stored (values and any derived values such as heat_index / dew_point): the raw
    // baselines insert exactly these rows.
    const stored = await storedRows(e2eUrl, c.readingsPerMessage);
    const rows = stored.length;
    const seconds = (result.finishedAt - result.startedAt) / 1000;
    if (!result.complete)
      env.log(
        `  ${c.name}: NOT COMPLETE after ${result.finishedAt - result.startedAt} ms: ` +
          `${result.ackedReadings}/${result.readings} readings acked` +
          (result.connectionError
            ? `; ${result.connectionError} (${result.publishErrors} publishes without PUBACK)`
            : ''),
      );
    if (result.resentMessages)
      env.log(`  ${c.name}: ${result.resentMessages} messages resent after an ack timeout`);
    const receiverRss = Math.max(
      ...Object.entries(usage)
        .filter(([name]) => name.startsWith('receiver'))
        .map(([, u]) => u.peakRssMb),
    );
    const cpuSeconds: Record<string, number> = {};
    for (const [name, u] of Object.entries(usage)) cpuSeconds[name] = u.cpuSeconds;

    // Free the receivers' CPU and the buffer pool before the baselines.
    await Promise.allSettled(receivers.map((r) => r.stop().then(() => env.untrack(r))));
    await endReceiverSessions(env.broker.url, c.receivers);
    await fleet.close();
    fleet = undefined;
    await dropDatabase(env.db, e2eUrl);

    // --- raw baselines: the same rows, each into a fresh, migrated, empty database ---
    const rowsOfCase = rows ? stored : caseRows(ids, c.readingsPerDevice, c.readingsPerMessage, baseMs);
    const best = async (name: string, insert: (url: string) => Promise<RawResult>): Promise<RawResult> => {
      let top: RawResult | undefined;
      for (let i = 0; i < env.rawRepeats; i++) {
        const r = await withDatabase(env.db, name, insert);
        if (!top || r.rowsPerS > top.rowsPerS) top = r;
      }
      return top!;
    };
    const rawMultiRow = await best('raw_a', (url) => rawMultiRowInsert(url, rowsOfCase));
    const rawBatch = await best('raw_b', (url) => rawBatchInsert(url, rowsOfCase));
    const rawRowsPerS = Math.max(rawMultiRow.rowsPerS, rawBatch.rowsPerS);
    const rowsPerS = rows / seconds;
    return {
      name: c.name,
      kind: c.kind,
      devices: c.devices,
      readingsPerMessage: c.readingsPerMessage,
      receivers: c.receivers,
      connections: c.connections,
      complete: result.complete,
      readings: result.readings,
      ackedReadings: result.ackedReadings,
      messages: result.messages,
      resentMessages: result.resentMessages,
      rows,
      seconds,
      rowsPerS,
      rawMultiRow,
      rawBatch,
      rawRowsPerS,
      ratio: rowsPerS / rawRowsPerS,
      commitP50Ms: histogramQuantile(commits, 0.5) * 1000,
      commitP99Ms: histogramQuantile(commits, 0.99) * 1000,
      ackP50Ms: percentile(result.ackLatenciesMs, 50),
      ackP99Ms: percentile(result.ackLatenciesMs, 99),
      transactions: commits.count,
      commitBuckets: commits.buckets.map((b, i) => [
        Number.isFinite(b.le) ? b.le : null,
        b.count - (commits.buckets[i - 1]?.count ?? 0),
      ]),
      rowsPerTransaction: (after.stored - before.stored) / Math.max(1, commits.count),
      dbBusy: commits.sum / c.receivers / seconds,
      receiverRssMb: receiverRss,
      cpuSeconds,
    };
  } finally {
    sampler?.stop();
    await fleet?.close();
    await Promise.allSettled(receivers.map((r) => r.stop().then(() => env.untrack(r))));
    await endReceiverSessions(env.broker.url, c.receivers).catch(() => undefined);
    await dropDatabase(env.db, e2eUrl);
  }
}

/**
 * The receivers' sessions outlive them (persistent, per replica id) and Mosquitto keeps giving an
 * offline member of a shared subscription its share: a later case with fewer receivers would wait for
 * messages queued to a replica that never comes. A clean-session connect under the same client id
 * deletes a session; the case is over, so nothing is lost.
 */
export async function endReceiverSessions(brokerUrl: string, receivers: number): Promise<void> {
  for (let i = 1; i <= receivers; i++) {
    const client = await mqtt.connectAsync(brokerUrl, {
      clientId: receiverClientId(`receiver-${i}`),
      clean: true,
      reconnectPeriod: 0,
    });
    await client.endAsync();
  }
}

/**
 * The devices' rows stored in `url` (the probe's left out), in the order they arrived: message by message,
 * the devices taking turns (like caseRows()).
 */
export async function storedRows(url: string, readingsPerMessage: number): Promise<ReadingRow[]> {
  const pool = createPool(url, { connectionLimit: 1 });
  try {
    const rows = (await pool.query(
      {
        sql:
          "SELECT device_id, seq, sensor, value, DATE_FORMAT(measured_at, '%Y-%m-%d %H:%i:%s.%f') " +
          'FROM readings WHERE device_id <> ? ORDER BY device_id, seq, sensor',
        rowsAsArray: true,
      },
      [PROBE_DEVICE],
    )) as ReadingRow[];
    const message = (r: ReadingRow): number => Math.floor((r[1] - 1) / readingsPerMessage);
    return rows.sort((a, b) => message(a) - message(b)); // stable: devices in order within a message
  } finally {
    await pool.end();
  }
}

async function withDatabase<T>(
  db: MariaDbServer,
  label: string,
  fn: (url: string) => Promise<T>,
): Promise<T> {
  // The raw baselines migrate the database themselves (raw-insert.ts).
  const url = await db.createDatabase(`bench_${label}_${randomBytes(3).toString('hex')}`);
  await settleDatabase(db);
  try {
    return await fn(url);
  } finally {
    await dropDatabase(db, url);
  }
}
