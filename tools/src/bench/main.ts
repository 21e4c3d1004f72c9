import { machineBasics, writeBenchJson } from './bench-output.js';
import { runDeviceBench } from './device-bench.js';
import { runDeviceMemoryBench } from './device-memory.js';
import { runWebadminBench } from './webadmin-bench.js';
import { runSystemBench } from './system-bench.js';
import { runClusterBench } from './cluster-bench.js';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { MariaDbServer, MosquittoServer, REPO_ROOT, type ManagedServer } from '../harness/index.js';
import { benchCases, DEFAULT_SIZES, QUICK_SIZES, selectCases } from './cases.js';
import { runCase, type CaseResult } from './ingest-case.js';
import { fmt, formatTable, type Column } from './stats.js';
import { cpuProfileEnv } from './cpu-profile-env.js';
import { receiverEnvFromEnv } from './receiver-env.js';

/**
 * `npm run bench`: receiver ingest end to end (simulated devices → Mosquitto → receiver → MariaDB, timed
 * from first publish to last ack) against the best raw insert rate of the same rows into the same
 * MariaDB. See bench-results/README.md for what each figure means and the knobs (BENCH_* variables).
 */
const quick = process.env.BENCH_QUICK === '1';
const intEnv = (name: string, fallback: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) {
    process.stderr.write(`${name} must be a positive integer (got ${JSON.stringify(raw)})\n`);
    process.exit(2);
  }
  return n;
};
const window = intEnv('BENCH_WINDOW', 2000);
const ackTimeoutMs = intEnv('BENCH_ACK_TIMEOUT_MS', 30_000);
const caseTimeoutMs = intEnv('BENCH_CASE_TIMEOUT_MS', quick ? 60_000 : 180_000);
const rawRepeats = intEnv('BENCH_RAW_REPEATS', quick ? 1 : 3);
/**
 * Broker limits: in flight per client as in backend/mqttserver/mosquitto.conf (10000: the receiver's
 * batch across messages, since it PUBACKs after its commit); the queue per client beyond that is larger
 * than production's, so that a burst of 1-reading messages measures the receiver rather than drops and
 * ack-timeout resends (which the table would show as `resent`).
 */
const brokerInflight = intEnv('BENCH_BROKER_MAX_INFLIGHT', 10_000);
const brokerQueue = intEnv('BENCH_BROKER_MAX_QUEUED', 1_000_000);
const brokerConfig = [
  `max_inflight_messages ${brokerInflight}`,
  `max_queued_messages ${brokerQueue}`,
  'max_queued_bytes 268435456',
].join('\n');
// A smoke run is not a result: it goes to the temp dir unless BENCH_OUT says otherwise.
const outFile = process.env.BENCH_OUT
  ? path.resolve(process.env.BENCH_OUT)
  : quick
    ? path.join(os.tmpdir(), 'sensorfleet-bench-ingest.quick.json')
    : path.join(REPO_ROOT, 'bench-results/ingest.json');
const cpuProfDir = process.env.BENCH_CPU_PROF ? path.resolve(process.env.BENCH_CPU_PROF) : undefined;

const say = (line: string): void => void process.stderr.write(`${line}\n`);

const servers: ManagedServer[] = [];
let stopping = false;
async function stopAll(): Promise<void> {
  for (const s of [...servers].reverse()) await s.stop().catch(() => undefined);
  servers.length = 0;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130); // second Ctrl-C: the harness's exit handler SIGKILLs what is left
    stopping = true;
    say(`\n${signal}: stopping the bench's servers…`);
    void stopAll().finally(() => process.exit(130));
  });
}

function mosquittoVersion(): string {
  try {
    const out = execFileSync('mosquitto', ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return /mosquitto version (\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch (err) {
    const out = String((err as { stdout?: unknown }).stdout ?? '');
    return /mosquitto version (\S+)/.exec(out)?.[1] ?? 'unknown';
  }
}

const cores = os.cpus().length;
const receiverCpu = (r: CaseResult): number =>
  Object.entries(r.cpuSeconds)
    .filter(([k]) => k.startsWith('receiver'))
    .reduce((sum, [, v]) => sum + v, 0);
/** CPU seconds of the system under test (receivers, MariaDB, Mosquitto; not the simulated devices). */
const systemCpu = (r: CaseResult): number =>
  receiverCpu(r) + (r.cpuSeconds['mariadb'] ?? 0) + (r.cpuSeconds['mosquitto'] ?? 0);
/**
 * The ratio this machine could reach if CPU were the only limit: the system's CPU seconds spread perfectly
 * over all cores (the simulated devices' own CPU not counted), against the raw baseline.
 */
const cpuCeiling = (r: CaseResult): number => r.rows / (systemCpu(r) / cores) / r.rawRowsPerS;

/**
 * Rows the receivers store per second of their own CPU: what one receiver core takes when the broker, the
 * database and the devices have cores of their own (as deployed), unlike on the bench machine.
 */
const receiverRowsPerCpuS = (r: CaseResult): number => r.rows / receiverCpu(r);

const ms = (a: number, b: number): string => `${fmt(a, a < 10 ? 1 : 0)} / ${fmt(b, b < 10 ? 1 : 0)}`;
const columns: Column<CaseResult>[] = [
  { title: 'case', value: (r) => r.name + (r.complete ? '' : ' (INCOMPLETE)'), align: 'left' },
  { title: 'rows', value: (r) => fmt(r.rows) },
  { title: 's', value: (r) => fmt(r.seconds, 1) },
  { title: 'rows/s', value: (r) => fmt(r.rowsPerS) },
  { title: 'raw (a) rows/s', value: (r) => fmt(r.rawMultiRow.rowsPerS) },
  { title: 'raw (b) rows/s', value: (r) => fmt(r.rawBatch.rowsPerS) },
  { title: 'ratio', value: (r) => fmt(r.ratio, 2) },
  { title: 'CPU ceiling', value: (r) => fmt(cpuCeiling(r), 2) },
  { title: 'recv rows/CPU s', value: (r) => fmt(receiverRowsPerCpuS(r)) },
  { title: 'commit p50/p99 ms', value: (r) => ms(r.commitP50Ms, r.commitP99Ms) },
  { title: 'ack p50/p99 ms', value: (r) => ms(r.ackP50Ms, r.ackP99Ms) },
  { title: 'rows/txn', value: (r) => fmt(r.rowsPerTransaction) },
  { title: 'db busy', value: (r) => `${fmt(r.dbBusy * 100)}%` },
  { title: 'resent', value: (r) => fmt(r.resentMessages) },
  { title: 'RSS MB', value: (r) => fmt(r.receiverRssMb) },
  {
    title: 'CPU s recv/db/mqtt/bench',
    value: (r) => {
      const c = r.cpuSeconds;
      return [receiverCpu(r), c['mariadb'], c['mosquitto'], c['bench']].map((v) => fmt(v, 1)).join('/');
    },
  },
];

function jsonEntry(r: CaseResult): Record<string, unknown> {
  const round = (n: number, d = 0): number | null => (Number.isFinite(n) ? Number(n.toFixed(d)) : null);
  return {
    rows_per_s: round(r.rowsPerS),
    raw_rows_per_s: round(r.rawRowsPerS),
    ratio: round(r.ratio, 3),
    commit_p50_ms: round(r.commitP50Ms, 1),
    commit_p99_ms: round(r.commitP99Ms, 1),
    receiver_rss_mb: round(r.receiverRssMb, 1),
    devices: r.devices,
    readings_per_message: r.readingsPerMessage,
    receivers: r.receivers,
    // Beyond the summary: enough to tell where the time went.
    kind: r.kind,
    complete: r.complete,
    rows: r.rows,
    seconds: round(r.seconds, 2),
    readings: r.readings,
    messages: r.messages,
    resent_messages: r.resentMessages,
    publisher_connections: r.connections,
    raw_multirow_rows_per_s: round(r.rawMultiRow.rowsPerS),
    raw_batch_rows_per_s: round(r.rawBatch.rowsPerS),
    commit_latency_source: 'receiver histogram sensorfleet_commit_seconds (bucket-interpolated)',
    ack_p50_ms: round(r.ackP50Ms, 1),
    ack_p99_ms: round(r.ackP99Ms, 1),
    transactions: r.transactions,
    commit_seconds_buckets: r.commitBuckets,
    rows_per_transaction: round(r.rowsPerTransaction),
    db_busy: round(r.dbBusy, 3),
    cpu_seconds: Object.fromEntries(Object.entries(r.cpuSeconds).map(([k, v]) => [k, round(v, 2)])),
    cpu_ms_per_1000_rows: {
      receivers: round((1e6 * receiverCpu(r)) / r.rows, 1),
      mariadb: round((1e6 * (r.cpuSeconds['mariadb'] ?? NaN)) / r.rows, 1),
      mosquitto: round((1e6 * (r.cpuSeconds['mosquitto'] ?? NaN)) / r.rows, 1),
      publishers: round((1e6 * (r.cpuSeconds['bench'] ?? NaN)) / r.rows, 1),
    },
    cpu_ceiling_ratio: round(cpuCeiling(r), 3),
    receiver_rows_per_cpu_s: round(receiverRowsPerCpuS(r)),
  };
}

async function main(): Promise<number> {
  const cases = selectCases(benchCases(quick ? QUICK_SIZES : DEFAULT_SIZES), process.env.BENCH_CASES);
  if (!cases.length) {
    say(`BENCH_CASES=${process.env.BENCH_CASES} matches no case`);
    return 2;
  }
  say(
    `ingest benchmark${quick ? ' (BENCH_QUICK: tiny cases, not a measurement)' : ''}: ${cases.length} case(s), ` +
      `publisher window ${window} readings/device, ack timeout ${ackTimeoutMs} ms`,
  );
  if (cases.some((c) => c.connections < c.devices))
    say(
      'note: cases with more than 100 devices publish over a few shared MQTT connections on behalf of many ' +
        'device ids (this private broker has no ACL; a production broker would refuse that).',
    );
  const broker = await MosquittoServer.start({ extraConfig: brokerConfig });
  servers.push(broker);
  const db = await MariaDbServer.start();
  servers.push(db);
  const mariadbVersion = String(
    ((await db.query('SELECT VERSION() AS v')) as { v: string }[])[0]?.v ?? 'unknown',
  );
  // For experiments only (the default run keeps the receiver's defaults): BENCH_RECEIVER_ENV=K=V,K=V.
  const receiverEnv = receiverEnvFromEnv();
  const experimentEnv = { ...receiverEnv };
  if (Object.keys(experimentEnv).length) say(`receiver env (experiment): ${JSON.stringify(experimentEnv)}`);
  if (cpuProfDir) {
    Object.assign(receiverEnv, cpuProfileEnv(cpuProfDir, undefined, receiverEnv.NODE_OPTIONS));
    say(`receiver CPU profiles go to ${cpuProfDir}`);
  }

  const results: CaseResult[] = [];
  for (const c of cases) {
    if (stopping) break;
    say(
      `[${results.length + 1}/${cases.length}] ${c.name}: ${c.devices} devices × ${c.readingsPerDevice} readings, ` +
        `${c.readingsPerMessage}/message, ${c.receivers} receiver(s), ${c.connections} connection(s)`,
    );
    const r = await runCase(
      {
        db,
        broker,
        window,
        ackTimeoutMs,
        rawRepeats,
        caseTimeoutMs,
        receiverEnv,
        track: (s) => servers.push(s),
        untrack: (s) => {
          const i = servers.indexOf(s);
          if (i >= 0) servers.splice(i, 1);
        },
        log: say,
      },
      c,
    );
    results.push(r);
    say(
      `  ${fmt(r.rows)} rows in ${fmt(r.seconds, 1)} s = ${fmt(r.rowsPerS)} rows/s; raw (a) ${fmt(r.rawMultiRow.rowsPerS)}, ` +
        `(b) ${fmt(r.rawBatch.rowsPerS)} rows/s; ratio ${fmt(r.ratio, 2)}; receiver RSS ${fmt(r.receiverRssMb)} MB`,
    );
  }

  const cpuModel = os.cpus()[0]?.model ?? 'unknown';
  process.stdout.write(
    `\nReceiver ingest, ${new Date().toISOString()} — ${cores} cores (${cpuModel}), ` +
      `Node ${process.version}, MariaDB ${mariadbVersion}, Mosquitto ${mosquittoVersion()}\n` +
      `rows/s: rows committed by the receiver(s) ÷ (first publish → last ack); raw (a): 1000-row INSERT IGNORE, ` +
      `commit each; raw (b): conn.batch(), one transaction; ratio = rows/s ÷ max(raw a, raw b).\n` +
      `commit p50/p99: receiver histogram sensorfleet_commit_seconds (bucket-interpolated); ack p50/p99: ` +
      `publish → ack per message, measured by the publishers. RSS: receiver peak VmRSS (max over receivers).\n` +
      `CPU ceiling: the ratio if the CPU seconds of receiver(s) + MariaDB + Mosquitto were spread perfectly over ` +
      `${cores} cores. recv rows/CPU s: rows stored per CPU second of the receiver(s), what one receiver core ` +
      `takes with the broker, database and devices elsewhere.\n` +
      `db busy: transactions open per receiver on average (up to INGEST_CONCURRENCY).\n\n` +
      formatTable(columns, results) +
      '\n',
  );
  const json: Record<string, unknown> = {};
  for (const r of results) json[r.name] = jsonEntry(r);
  json.machine = {
    ...machineBasics(),
    mariadb: mariadbVersion,
    mosquitto: mosquittoVersion(),
    mariadb_settings: 'harness MariaDbServer: innodb_flush_log_at_trx_commit=2, buffer pool 64M, no binlog',
    broker_settings: `harness MosquittoServer, ${brokerConfig.replaceAll('\n', ', ')}, no ACL`,
    publisher_window_readings: window,
    quick,
    ...(Object.keys(experimentEnv).length ? { receiver_env_experiment: experimentEnv } : {}),
  };
  json.date = new Date().toISOString();
  writeBenchJson(outFile, json);
  say(`\nwrote ${outFile}`);
  return results.every((r) => r.complete) ? 0 : 1;
}

let code = 1;
try {
  code = await main();
} catch (err) {
  say(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  code = 1;
} finally {
  if (!stopping) await stopAll();
}
// The device benchmark starts its own servers, after the ingest cases have stopped theirs.
if (!stopping && process.env.BENCH_DEVICE !== '0') {
  try {
    await runDeviceBench({ quick });
  } catch (err) {
    say(`device bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    code = 1;
  }
}
if (!stopping && process.env.BENCH_DEVICE_MEMORY !== '0') {
  try {
    await runDeviceMemoryBench({ quick });
  } catch (err) {
    say(`device memory bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    code = 1;
  }
}
if (!stopping && process.env.BENCH_WEBADMIN !== '0') {
  try {
    await runWebadminBench({ quick });
  } catch (err) {
    say(`webadmin bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    code = 1;
  }
}
if (!stopping && process.env.BENCH_SYSTEM !== '0') {
  try {
    await runSystemBench({ quick });
  } catch (err) {
    say(`system bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    code = 1;
  }
}
if (!stopping && process.env.BENCH_CLUSTER !== '0') {
  try {
    await runClusterBench({ quick });
  } catch (err) {
    say(`cluster bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    code = 1;
  }
}
if (!stopping) process.exit(code);
