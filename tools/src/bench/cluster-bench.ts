import { randomBytes } from 'node:crypto';
import { machineBasics, writeBenchJson } from './bench-output.js';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createPool, migrate } from '@sensorfleet/mariadb';
import {
  GaleraCluster,
  httpGet,
  MariaDbServer,
  MosquittoServer,
  NodeService,
  RabbitMqCluster,
  REPO_ROOT,
  waitFor,
} from '../harness/index.js';
import {
  commitHistogram,
  endReceiverSessions,
  probeReceivers,
  settleDatabase,
  storedRows,
  type SqlServer,
} from './ingest-case.js';
import { ProcSampler } from './proc-sampler.js';
import { readParents, treePids } from './proc-tree.js';
import { PublisherFleet } from './publishers.js';
import { rawBatchInsert, rawMultiRowInsert, type RawResult } from './raw-insert.js';
import { fmt, formatTable, histogramQuantile, subtractHistogram, type Column } from './stats.js';
import { caseRows, deviceIds, type ReadingRow } from './telemetry.js';

/**
 * The scale-out path against the default one, in one run on this machine: the same devices' messages
 * through (a) Mosquitto + receivers + MariaDB, (b) a 3-node RabbitMQ cluster (MQTT in, the receivers'
 * AMQP quorum-queue intake) + MariaDB, (c) RabbitMQ + a 3-node Galera cluster; 1 and 2 receivers; each
 * against the raw insert of the same rows into the same database. Results: bench-results/cluster.json.
 */
export interface ClusterSizes {
  devices: number;
  /** Readings per device of the 1-reading-per-message cases. */
  smallMessageReadingsPerDevice: number;
  /** Readings per device of the batched cases (a multiple of batchReadingsPerMessage). */
  batchReadingsPerDevice: number;
  batchReadingsPerMessage: number;
  rawRepeats: number;
  /** The case grid on each path: message shapes (1-reading, batched) × receiver counts. */
  shapes: ('single' | 'batched')[];
  receivers: (1 | 2)[];
}

export const CLUSTER_SIZES: ClusterSizes = {
  devices: 10,
  smallMessageReadingsPerDevice: 2_000,
  batchReadingsPerDevice: 6_000,
  batchReadingsPerMessage: 50,
  rawRepeats: 2,
  shapes: ['single', 'batched'],
  receivers: [1, 2],
};

export const CLUSTER_QUICK_SIZES: ClusterSizes = {
  devices: 4,
  smallMessageReadingsPerDevice: 40,
  batchReadingsPerDevice: 100,
  batchReadingsPerMessage: 50,
  rawRepeats: 1,
  // The smoke run proves every path stores every row once with competing receivers; the grid's other
  // corners only matter as measurements.
  shapes: ['batched'],
  receivers: [2],
};

export interface ClusterBenchOptions {
  quick?: boolean;
  sizes?: ClusterSizes;
  outFile?: string;
  log?: (line: string) => void;
}

/** The broker and database one group of cases runs on. */
interface Topology {
  name: string;
  /** For the publishers (lean client) and the probe (mqtt.js, credentials in the URL). */
  mqttUrl: string;
  probeUrl: string;
  username?: string;
  password?: string;
  receiverEnv(index: number, databaseUrl: string): Record<string, string>;
  /** Root pids to sample, by group (`broker`, `db`): each one's whole process tree counts. */
  processes(): Record<'broker' | 'db', number[]>;
  /** An empty database; its DATABASE_URL (one URL, or the Galera list). */
  createDatabase(label: string): Promise<string>;
  dropDatabase(url: string): Promise<void>;
  sqlServers: SqlServer[];
  /** After the receivers stopped: whatever a later case with other receivers must not inherit. */
  afterCase(receivers: number): Promise<void>;
}

export interface ClusterCaseResult {
  topology: string;
  name: string;
  readingsPerMessage: number;
  receivers: number;
  complete: boolean;
  messages: number;
  readings: number;
  resentMessages: number;
  rows: number;
  /** Rows the devices' readings carry, before the receiver's derived values. */
  measuredRows: number;
  /** storedOnce(): every reading stored, each row once. */
  allStoredOnce: boolean;
  seconds: number;
  rowsPerS: number;
  rawMultiRow: RawResult;
  rawBatch: RawResult;
  rawRowsPerS: number;
  ratio: number;
  commitP50Ms: number;
  commitP99Ms: number;
  cpuSeconds: { receivers: number; broker: number; db: number; bench: number };
}

const dbName = (url: string): string => decodeURIComponent(new URL(url.split(',')[0]!).pathname.slice(1));

async function migrated(url: string): Promise<string> {
  const pool = createPool(url, { connectionLimit: 1 });
  try {
    await migrate(pool);
  } finally {
    await pool.end();
  }
  return url;
}

/** Broker limits of the Mosquitto cases: those of `npm run bench`'s ingest cases (main.ts). */
const MOSQUITTO_CONFIG = [
  'max_inflight_messages 10000',
  'max_queued_messages 1000000',
  'max_queued_bytes 268435456',
].join('\n');

function mosquittoTopology(broker: MosquittoServer, db: MariaDbServer): Topology {
  return {
    name: 'mosquitto+mariadb',
    mqttUrl: broker.url,
    probeUrl: broker.url,
    receiverEnv: (i, url) => ({
      RECEIVER_REPLICA_ID: `receiver-${i + 1}`,
      DATABASE_URL: url,
      MQTT_URL: broker.url,
    }),
    processes: () => ({ broker: [broker.pid!], db: [db.pid!] }),
    createDatabase: (label) => db.createDatabase(`bench_${label}_${randomBytes(3).toString('hex')}`),
    dropDatabase: async (url) => {
      await db.query(`DROP DATABASE IF EXISTS \`${dbName(url)}\``).catch(() => undefined);
    },
    sqlServers: [db],
    // Mosquitto keeps queueing to an offline member of the shared subscription (see ingest-case.ts).
    afterCase: (receivers) => endReceiverSessions(broker.url, receivers),
  };
}

function rabbitTopology(
  name: string,
  rabbit: RabbitMqCluster,
  database: Pick<Topology, 'createDatabase' | 'dropDatabase' | 'sqlServers'> & { pids: () => number[] },
): Topology {
  const { username, password } = rabbit.admin;
  const node = rabbit.nodes[0]!;
  return {
    name,
    // The devices publish to one node (as behind a proxy that picked it); the queue spans all three.
    mqttUrl: node.mqttUrl,
    probeUrl: `mqtt://${username}:${password}@127.0.0.1:${node.mqttPort}`,
    username,
    password,
    receiverEnv: (i, url) => {
      // Each replica lists the nodes from a different one, so the receivers spread over the cluster.
      const nodes = [...rabbit.nodes.slice(i), ...rabbit.nodes.slice(0, i)];
      return {
        RECEIVER_INTAKE: 'amqp',
        AMQP_URL: nodes.map((n) => n.amqpUrl).join(','),
        RECEIVER_REPLICA_ID: `receiver-${i + 1}`,
        DATABASE_URL: url,
      };
    },
    processes: () => ({ broker: rabbit.nodes.map((n) => n.pid!), db: database.pids() }),
    createDatabase: database.createDatabase,
    dropDatabase: database.dropDatabase,
    sqlServers: database.sqlServers,
    afterCase: async () => undefined, // one shared queue, empty once every message was acked
  };
}

function mariadbAsDatabase(db: MariaDbServer) {
  return {
    createDatabase: (label: string) => db.createDatabase(`bench_${label}_${randomBytes(3).toString('hex')}`),
    dropDatabase: async (url: string) => {
      await db.query(`DROP DATABASE IF EXISTS \`${dbName(url)}\``).catch(() => undefined);
    },
    sqlServers: [db],
    pids: () => [db.pid!],
  };
}

function galeraAsDatabase(galera: GaleraCluster) {
  return {
    createDatabase: (label: string) =>
      galera.createDatabase(`bench_${label}_${randomBytes(3).toString('hex')}`),
    dropDatabase: async (url: string) => {
      await galera
        .node(0)
        .query(`DROP DATABASE IF EXISTS \`${dbName(url)}\``)
        .catch(() => undefined);
    },
    sqlServers: galera.nodes,
    pids: () => galera.nodes.map((n) => n.pid!),
  };
}

/** BENCH_CLUSTER_* : the cluster on other hosts (see bench-results/README.md, "On real hosts"). */
export interface ExternalCluster {
  /** MQTT URL the simulated devices publish to, with an account that may publish any device's topics. */
  mqttUrl: string;
  /** The receivers' AMQP_URL list. */
  amqpUrl: string;
  /** DATABASE_URL list of a user that may CREATE and DROP databases named bench_*; any existing db. */
  databaseUrl: string;
}

/** The three BENCH_CLUSTER_* variables, all or none; a partial set is a configuration error. */
export function externalClusterFromEnv(env: NodeJS.ProcessEnv): ExternalCluster | undefined {
  const names = ['BENCH_CLUSTER_MQTT_URL', 'BENCH_CLUSTER_AMQP_URL', 'BENCH_CLUSTER_DATABASE_URL'] as const;
  const set = names.filter((n) => env[n]?.trim());
  if (!set.length) return undefined;
  const missing = names.filter((n) => !set.includes(n));
  if (missing.length)
    throw new Error(`${missing.join(', ')} must be set too (the external cluster takes all three)`);
  const mqttUrl = env.BENCH_CLUSTER_MQTT_URL!.trim();
  if (!/^(mqtt|tcp):\/\//.test(mqttUrl))
    throw new Error(
      `BENCH_CLUSTER_MQTT_URL must be mqtt://user:password@host:port (got ${JSON.stringify(mqttUrl)})`,
    );
  return {
    mqttUrl,
    amqpUrl: env.BENCH_CLUSTER_AMQP_URL!.trim(),
    databaseUrl: env.BENCH_CLUSTER_DATABASE_URL!.trim(),
  };
}

/** The same database name in every URL of a DATABASE_URL list. */
function withDatabase(list: string, db: string): string {
  return list
    .split(',')
    .map((u) => {
      const url = new URL(u.trim());
      url.pathname = `/${encodeURIComponent(db)}`;
      return url.toString();
    })
    .join(',');
}

/**
 * Brokers and databases on other hosts: nothing is started, their CPU is not sampled (read it on those
 * hosts), and the bench never changes their global settings (no settleDatabase()).
 */
function externalTopology(ext: ExternalCluster): Topology {
  const mqtt = new URL(ext.mqttUrl);
  const username = decodeURIComponent(mqtt.username);
  const password = decodeURIComponent(mqtt.password);
  const amqpNodes = ext.amqpUrl
    .split(',')
    .map((u) => u.trim())
    .filter(Boolean);
  const admin = async (sql: string): Promise<void> => {
    const pool = createPool(ext.databaseUrl, { connectionLimit: 1 });
    try {
      await pool.query(sql);
    } finally {
      await pool.end();
    }
  };
  return {
    name: 'external',
    mqttUrl: `mqtt://${mqtt.host}`,
    probeUrl: ext.mqttUrl,
    ...(username ? { username } : {}),
    ...(password ? { password } : {}),
    receiverEnv: (i, url) => ({
      RECEIVER_INTAKE: 'amqp',
      AMQP_URL: [...amqpNodes.slice(i % amqpNodes.length), ...amqpNodes.slice(0, i % amqpNodes.length)].join(
        ',',
      ),
      RECEIVER_REPLICA_ID: `bench-receiver-${i + 1}`,
      DATABASE_URL: url,
    }),
    processes: () => ({ broker: [], db: [] }),
    createDatabase: async (label) => {
      const db = `bench_${label}_${randomBytes(3).toString('hex')}`;
      await admin(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
      return withDatabase(ext.databaseUrl, db);
    },
    dropDatabase: async (url) => {
      await admin(`DROP DATABASE IF EXISTS \`${dbName(url)}\``).catch(() => undefined);
    },
    sqlServers: [],
    afterCase: async () => undefined,
  };
}

/** Sums the CPU of whole process trees per group (ProcSampler measures single pids). */
function groupSampler(groups: Record<string, number[]>): {
  start: () => void;
  stop: () => Record<string, number>;
} {
  const parents = readParents();
  const pids: Record<string, number> = {};
  for (const [group, roots] of Object.entries(groups))
    for (const root of roots) for (const pid of treePids(parents, root)) pids[`${group}@${pid}`] = pid;
  const sampler = new ProcSampler(pids, 200);
  return {
    start: () => sampler.start(),
    stop: () => {
      const usage = sampler.stop();
      const out: Record<string, number> = {};
      for (const [key, u] of Object.entries(usage)) {
        const group = key.split('@')[0]!;
        if (Number.isFinite(u.cpuSeconds)) out[group] = (out[group] ?? 0) + u.cpuSeconds;
      }
      return out;
    },
  };
}

/**
 * Every reading the devices sent is there with all its measured values, nothing else is, and no row is
 * doubled. The receiver adds derived values (heat index, dew point) as rows of their own, so the stored
 * rows per reading are at least the measured ones.
 */
export function storedOnce(stored: readonly ReadingRow[], expected: readonly ReadingRow[]): boolean {
  const key = (r: ReadingRow): string => `${r[0]}|${r[1]}|${r[2]}`;
  const reading = (r: ReadingRow): string => `${r[0]}|${r[1]}`;
  const keys = new Set(stored.map(key));
  const storedReadings = new Set(stored.map(reading));
  const expectedReadings = new Set(expected.map(reading));
  return (
    keys.size === stored.length &&
    storedReadings.size === expectedReadings.size &&
    [...expectedReadings].every((r) => storedReadings.has(r)) &&
    expected.every((r) => keys.has(key(r))) &&
    stored.length % expectedReadings.size === 0
  );
}

async function runClusterCase(
  topo: Topology,
  sizes: ClusterSizes,
  readingsPerMessage: number,
  receiverCount: 1 | 2,
  log: (line: string) => void,
  caseTimeoutMs: number,
): Promise<ClusterCaseResult> {
  const ids = deviceIds(sizes.devices);
  const readingsPerDevice =
    readingsPerMessage === 1 ? sizes.smallMessageReadingsPerDevice : sizes.batchReadingsPerDevice;
  const baseMs = Date.now() - readingsPerDevice * 1000;
  const expected = caseRows(ids, readingsPerDevice, readingsPerMessage, baseMs);
  const name = `m${readingsPerMessage}-r${receiverCount}`;
  const url = await migrated(await topo.createDatabase('e2e'));
  for (const s of topo.sqlServers) await settleDatabase(s);
  const receivers: NodeService[] = [];
  let fleet: PublisherFleet | undefined;
  try {
    const started = await Promise.allSettled(
      Array.from({ length: receiverCount }, (_, i) =>
        NodeService.start('backend/receiver', {
          label: `receiver-${i + 1}`,
          env: { LOG_LEVEL: 'warn', ...topo.receiverEnv(i, url) },
        }),
      ),
    );
    for (const s of started) if (s.status === 'fulfilled') receivers.push(s.value);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    for (const r of receivers)
      await waitFor(`${r.healthUrl} to report healthy`, 60_000, async () => {
        return (await httpGet(r.healthUrl)).status === 200;
      });
    await probeReceivers(topo.probeUrl, receivers);
    fleet = await PublisherFleet.connect({
      brokerUrl: topo.mqttUrl,
      deviceIds: ids,
      readingsPerDevice,
      readingsPerMessage,
      window: 2000,
      connections: ids.length,
      baseMs,
      ackTimeoutMs: 30_000,
      ...(topo.username !== undefined ? { username: topo.username } : {}),
      ...(topo.password !== undefined ? { password: topo.password } : {}),
    });
    const before = await commitHistogram(receivers);
    const groups: Record<string, number[]> = { ...topo.processes() };
    receivers.forEach((r) => (groups.receivers = [...(groups.receivers ?? []), r.pid!]));
    const sampler = groupSampler(groups);
    sampler.start();
    const result = await fleet.run(caseTimeoutMs);
    const cpu = sampler.stop();
    const after = await commitHistogram(receivers);
    const commits = subtractHistogram(after.h, before.h);
    const stored = await storedRows(url, readingsPerMessage);
    const seconds = (result.finishedAt - result.startedAt) / 1000;
    const allStoredOnce = storedOnce(stored, expected);
    if (!result.complete)
      log(`  ${topo.name} ${name}: NOT COMPLETE: ${result.ackedReadings}/${result.readings} readings acked`);
    if (!allStoredOnce)
      log(`  ${topo.name} ${name}: stored ${stored.length} rows, expected ${expected.length}`);

    await Promise.allSettled(receivers.map((r) => r.stop()));
    receivers.length = 0;
    await topo.afterCase(receiverCount);
    await fleet.close();
    fleet = undefined;
    await topo.dropDatabase(url);

    const best = async (insert: (u: string) => Promise<RawResult>): Promise<RawResult> => {
      let top: RawResult | undefined;
      for (let i = 0; i < sizes.rawRepeats; i++) {
        const rawUrl = await topo.createDatabase('raw');
        for (const s of topo.sqlServers) await settleDatabase(s);
        try {
          const r = await insert(rawUrl);
          if (!top || r.rowsPerS > top.rowsPerS) top = r;
        } finally {
          await topo.dropDatabase(rawUrl);
        }
      }
      return top!;
    };
    const rawRows = stored.length ? stored : expected;
    const rawMultiRow = await best((u) => rawMultiRowInsert(u, rawRows));
    const rawBatch = await best((u) => rawBatchInsert(u, rawRows));
    const rawRowsPerS = Math.max(rawMultiRow.rowsPerS, rawBatch.rowsPerS);
    const rowsPerS = stored.length / seconds;
    return {
      topology: topo.name,
      name,
      readingsPerMessage,
      receivers: receiverCount,
      complete: result.complete,
      messages: result.messages,
      readings: result.readings,
      resentMessages: result.resentMessages,
      rows: stored.length,
      measuredRows: expected.length,
      allStoredOnce,
      seconds,
      rowsPerS,
      rawMultiRow,
      rawBatch,
      rawRowsPerS,
      ratio: rowsPerS / rawRowsPerS,
      commitP50Ms: histogramQuantile(commits, 0.5) * 1000,
      commitP99Ms: histogramQuantile(commits, 0.99) * 1000,
      cpuSeconds: {
        receivers: cpu.receivers ?? NaN,
        broker: cpu.broker ?? NaN,
        db: cpu.db ?? NaN,
        bench: cpu.bench ?? NaN,
      },
    };
  } finally {
    await fleet?.close();
    await Promise.allSettled(receivers.map((r) => r.stop()));
    await topo.dropDatabase(url);
  }
}

const cores = os.cpus().length;
const systemCpu = (r: ClusterCaseResult): number =>
  r.cpuSeconds.receivers + r.cpuSeconds.broker + r.cpuSeconds.db;
/** Share of the machine's cores the system under test used (devices not counted). */
export const coresUsed = (r: ClusterCaseResult): number => systemCpu(r) / r.seconds / cores;
/** The ratio if the system's CPU seconds were spread perfectly over all cores (as in ingest.json). */
export const cpuCeiling = (r: ClusterCaseResult): number => r.rows / (systemCpu(r) / cores) / r.rawRowsPerS;
export const receiverUsPerRow = (r: ClusterCaseResult): number => (1e6 * r.cpuSeconds.receivers) / r.rows;
export const brokerUsPerMessage = (r: ClusterCaseResult): number => (1e6 * r.cpuSeconds.broker) / r.messages;

const columns: Column<ClusterCaseResult>[] = [
  { title: 'path', value: (r) => r.topology, align: 'left' },
  {
    title: 'case',
    value: (r) => r.name + (r.complete && r.allStoredOnce ? '' : ' (INCOMPLETE)'),
    align: 'left',
  },
  { title: 'rows', value: (r) => fmt(r.rows) },
  { title: 'rows/s', value: (r) => fmt(r.rowsPerS) },
  { title: 'raw rows/s', value: (r) => fmt(r.rawRowsPerS) },
  { title: 'ratio', value: (r) => fmt(r.ratio, 2) },
  {
    title: 'cores used',
    value: (r) => (Number.isFinite(coresUsed(r)) ? `${fmt(coresUsed(r) * 100)}%` : '–'),
  },
  { title: 'CPU ceiling', value: (r) => fmt(cpuCeiling(r), 2) },
  { title: 'recv µs/row', value: (r) => fmt(receiverUsPerRow(r), 1) },
  { title: 'broker µs/msg', value: (r) => fmt(brokerUsPerMessage(r)) },
  { title: 'commit p50/p99 ms', value: (r) => `${fmt(r.commitP50Ms, 0)} / ${fmt(r.commitP99Ms, 0)}` },
  {
    title: 'CPU s recv/broker/db/bench',
    value: (r) =>
      [r.cpuSeconds.receivers, r.cpuSeconds.broker, r.cpuSeconds.db, r.cpuSeconds.bench]
        .map((v) => fmt(v, 1))
        .join('/'),
  },
];

const round = (n: number, d = 0): number | null => (Number.isFinite(n) ? Number(n.toFixed(d)) : null);

function jsonEntry(r: ClusterCaseResult): Record<string, unknown> {
  return {
    rows_per_s: round(r.rowsPerS),
    raw_rows_per_s: round(r.rawRowsPerS),
    ratio: round(r.ratio, 3),
    cores_used: round(coresUsed(r), 3),
    cpu_ceiling_ratio: round(cpuCeiling(r), 3),
    receiver_cpu_us_per_row: round(receiverUsPerRow(r), 2),
    broker_cpu_us_per_message: round(brokerUsPerMessage(r), 1),
    readings_per_message: r.readingsPerMessage,
    receivers: r.receivers,
    complete: r.complete,
    all_rows_stored_once: r.allStoredOnce,
    rows: r.rows,
    measured_rows: r.measuredRows,
    messages: r.messages,
    readings: r.readings,
    resent_messages: r.resentMessages,
    seconds: round(r.seconds, 2),
    raw_multirow_rows_per_s: round(r.rawMultiRow.rowsPerS),
    raw_batch_rows_per_s: round(r.rawBatch.rowsPerS),
    commit_p50_ms: round(r.commitP50Ms, 1),
    commit_p99_ms: round(r.commitP99Ms, 1),
    cpu_seconds: Object.fromEntries(Object.entries(r.cpuSeconds).map(([k, v]) => [k, round(v, 2)])),
  };
}

interface FailoverRow {
  event: string;
  figures_s: number[];
  how: string;
}

/**
 * Failover times are not measured here (a kill under this load would mix both figures); they come from
 * the measurements that exist for them, cited. The RabbitMQ ones are printed by the intake test and
 * recorded in the root README; Galera's are read from galera-failover.json.
 */
function failoverTable(): { rows: FailoverRow[]; galera_measured_at?: string } {
  const rows: FailoverRow[] = [
    {
      event:
        'RabbitMQ: kill -9 of the quorum queue leader node → a reading produced after the kill committed (leader re-election, receivers reconnect)',
      figures_s: [0.32, 0.42],
      how: 'tools/test/rabbitmq-intake.int.test.ts, 50 readings/s, polled every 100 ms, two runs 2026-12-03 (README "Scaling out")',
    },
    {
      event:
        "RabbitMQ: kill -9 of the device's node → the device (mqtthandler) reconnected to the next node in MQTT_URL and a new reading committed",
      figures_s: [0.52, 0.42],
      how: 'tools/test/rabbitmq-intake.int.test.ts, as above',
    },
  ];
  const file = path.join(REPO_ROOT, 'bench-results/galera-failover.json');
  if (!existsSync(file)) return { rows };
  const g = JSON.parse(readFileSync(file, 'utf8')) as {
    measuredAt: string;
    rows: { setting: string; evictedMs: number; writeGapMs: number; rejoinMs: number }[];
  };
  const settings = [...new Set(g.rows.map((r) => r.setting))];
  for (const setting of settings) {
    const of = g.rows.filter((r) => r.setting === setting);
    rows.push({
      event: `Galera (${setting}): kill -9 of the written node → the survivors evict it (size 2)`,
      figures_s: of.map((r) => r.evictedMs / 1000),
      how: 'node tools/dist/bench/galera-failover.js (bench-results/galera-failover.json), polled every 20 ms',
    });
    rows.push({
      event: `Galera (${setting}): longest gap between two committed inserts of a FailoverPool writer`,
      figures_s: of.map((r) => r.writeGapMs / 1000),
      how: 'as above',
    });
  }
  return { rows, galera_measured_at: g.measuredAt };
}

export async function runClusterBench(opts: ClusterBenchOptions = {}): Promise<Record<string, unknown>> {
  const quick = opts.quick ?? process.env.BENCH_QUICK === '1';
  const sizes = opts.sizes ?? (quick ? CLUSTER_QUICK_SIZES : CLUSTER_SIZES);
  const log = opts.log ?? ((l: string) => void process.stderr.write(`${l}\n`));
  const external = externalClusterFromEnv(process.env);
  // A smoke run is not a result, and figures of other hosts do not replace this machine's.
  const outFile = path.resolve(
    opts.outFile ??
      process.env.BENCH_CLUSTER_OUT ??
      (quick
        ? path.join(os.tmpdir(), 'sensorfleet-bench-cluster.quick.json')
        : path.join(
            REPO_ROOT,
            external ? 'bench-results/cluster-external.json' : 'bench-results/cluster.json',
          )),
  );
  const caseTimeoutMs = quick ? 60_000 : 300_000;
  const load = [os.loadavg()[0]!];
  log(
    `cluster benchmark${quick ? ' (BENCH_QUICK: tiny, not a measurement)' : ''}: ${sizes.devices} devices, ` +
      `${sizes.shapes.map((m) => (m === 'single' ? '1' : String(sizes.batchReadingsPerMessage))).join(' and ')}-reading ` +
      `messages, ${sizes.receivers.join(' and ')} receiver(s), 3 paths`,
  );
  const results: ClusterCaseResult[] = [];
  const runAll = async (topo: Topology): Promise<void> => {
    for (const rpm of sizes.shapes.map((m) => (m === 'single' ? 1 : sizes.batchReadingsPerMessage)))
      for (const receivers of sizes.receivers) {
        log(`[cluster] ${topo.name} m${rpm}-r${receivers}`);
        const r = await runClusterCase(topo, sizes, rpm, receivers, log, caseTimeoutMs);
        results.push(r);
        log(
          `  ${fmt(r.rows)} rows in ${fmt(r.seconds, 1)} s = ${fmt(r.rowsPerS)} rows/s; raw ${fmt(r.rawRowsPerS)}; ` +
            `ratio ${fmt(r.ratio, 2)}; recv ${fmt(receiverUsPerRow(r), 1)} µs/row; broker ${fmt(brokerUsPerMessage(r))} µs/msg`,
        );
      }
  };

  let mosquitto: MosquittoServer | undefined;
  let mariadb: MariaDbServer | undefined;
  let rabbit: RabbitMqCluster | undefined;
  let galera: GaleraCluster | undefined;
  const versions: Record<string, string> = {};
  try {
    if (external) {
      log('[cluster] BENCH_CLUSTER_* set: the external cluster only, nothing started here');
      await runAll(externalTopology(external));
    } else {
      // One engine set at a time where possible: what is not under test does not take the cores.
      mosquitto = await MosquittoServer.start({ extraConfig: MOSQUITTO_CONFIG });
      mariadb = await MariaDbServer.start();
      versions.mariadb = String(((await mariadb.query('SELECT VERSION() AS v')) as { v: string }[])[0]?.v);
      await runAll(mosquittoTopology(mosquitto, mariadb));
      await mosquitto.stop();
      mosquitto = undefined;
      log('[cluster] starting a 3-node RabbitMQ cluster');
      rabbit = await RabbitMqCluster.start({ nodes: 3 });
      versions.rabbitmq = (await rabbit.ctl(['version'])).trim();
      await runAll(rabbitTopology('rabbitmq3+mariadb', rabbit, mariadbAsDatabase(mariadb)));
      await mariadb.stop();
      mariadb = undefined;
      log('[cluster] starting a 3-node Galera cluster');
      galera = await GaleraCluster.start({ nodes: 3 });
      await runAll(rabbitTopology('rabbitmq3+galera3', rabbit, galeraAsDatabase(galera)));
    }
  } finally {
    await galera?.destroy().catch(() => undefined);
    await rabbit?.destroy().catch(() => undefined);
    await mariadb?.stop().catch(() => undefined);
    await mosquitto?.stop().catch(() => undefined);
  }
  load.push(os.loadavg()[0]!);

  const cpuModel = os.cpus()[0]?.model ?? 'unknown';
  const failover = failoverTable();
  process.stdout.write(
    `\nIngest through the cluster, ${new Date().toISOString()} — ${cores} cores (${cpuModel}), Node ${process.version}` +
      (external
        ? '; broker and database: BENCH_CLUSTER_* hosts (their CPU not sampled)\n'
        : '; every process (3 RabbitMQ nodes, 3 Galera nodes, receivers, publishers) on the same cores\n') +
      `rows/s: rows committed ÷ (first publish → last ack); raw: best of a 1000-row multi-row INSERT and conn.batch() ` +
      `of the same rows into the same database (Galera too); cores used: CPU s of receivers + broker + db ÷ ` +
      `(s × ${cores}); CPU ceiling: the ratio if that CPU were spread perfectly over ${cores} cores.\n\n` +
      formatTable(columns, results) +
      '\n\nFailover (cited measurements, not this run):\n' +
      failover.rows
        .map((f) => `  ${f.event}: ${f.figures_s.map((s) => `${s} s`).join(', ')} [${f.how}]`)
        .join('\n') +
      '\n',
  );
  const cases: Record<string, unknown> = {};
  for (const r of results) cases[`${r.topology}/${r.name}`] = jsonEntry(r);
  const json = {
    date: new Date().toISOString(),
    cases,
    failover,
    machine: {
      ...machineBasics(),
      ...versions,
      load_average_1m_start_end: load.map((l) => round(l, 2)),
      shared: 'all nodes of each cluster, the receivers and the simulated devices run on the same cores',
      quick,
      ...(external ? { external: 'BENCH_CLUSTER_* hosts; broker and database CPU not sampled' } : {}),
    },
    sizes,
    method: {
      devices: `${sizes.devices} simulated devices, one MQTT connection each, QoS 1, window 2000 readings, publishing to node 1 of the RabbitMQ cluster`,
      receivers:
        'backend/receiver with its defaults; AMQP cases: RECEIVER_INTAKE=amqp, AMQP_URL listing all nodes from a different one per replica, the harness admin account',
      broker_cpu:
        'CPU seconds of the broker processes (all RabbitMQ nodes with their process trees) ÷ device messages published',
      receiver_cpu: 'CPU seconds of all receivers ÷ rows stored',
    },
  };
  writeBenchJson(outFile, json);
  log(`wrote ${outFile}`);
  if (!results.every((r) => r.complete && r.allStoredOnce))
    throw new Error('a cluster bench case was incomplete');
  return json;
}
