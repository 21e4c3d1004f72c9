import { execFileSync } from 'node:child_process';
import { machineBasics, writeBenchJson } from './bench-output.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { createPool } from '@sensorfleet/mariadb';
import { OutboxStore } from '@sensorfleet/shared';
import { FleetProcess } from '../fleet/fleet-process.js';
import { cpuProfileEnv } from './cpu-profile-env.js';
import { autogroupEnabled, BULK_PATH_NICE, setCpuPriority } from '../harness/cpu-priority.js';
import {
  freePort,
  harnessRoot,
  httpGet,
  MariaDbServer,
  NodeService,
  RedisServer,
  REPO_ROOT,
  SecuredBroker,
  sleep,
  waitFor,
  type ManagedServer,
  type ServiceName,
} from '../harness/index.js';
import { TcpByteCounter } from './device-tcp-counter.js';
import { settleDatabase } from './ingest-case.js';
import { LatencyCollector, type LatencySummary, type PhaseWindow } from './latency-collector.js';
import { LiveWebClients } from './live-web-clients.js';
import { receiverEnvFromEnv } from './receiver-env.js';
import { mariadbArgsFromEnv, performanceSchemaOn, phaseFigures, snapshotMariaDb } from './mariadb-probe.js';
import { TelemetryTap } from './telemetry-tap.js';
import { ProcSampler, readCpuSeconds, type ProcUsage } from './proc-sampler.js';
import { EventLoopLagScraper } from './event-loop-lag.js';
import { pressurePercent, readPressureTotals } from './pressure-stall.js';
import { rawBatchInsert, rawMultiRowInsert, type RawResult } from './raw-insert.js';
import {
  addHistograms,
  emptyHistogram,
  fmt,
  formatTable,
  histogramQuantile,
  parseHistogram,
  subtractHistogram,
  type Histogram,
} from './stats.js';
import type { ReadingRow } from './telemetry.js';

/**
 * The end-to-end system benchmark (`runSystemBench`): the whole backend as deployed (secured Mosquitto with
 * the shipped config and accounts, MariaDB, two receiver replicas, the web admin), 1,000 simulated devices
 * at 1 Hz (the fleet simulator, its own process), one real device (sensor, mqtthandler, startstopbutton,
 * own Redis) and `clients` logged-in WebSocket clients on the whole fleet. Then 10 devices whose outboxes
 * hold 10,000 readings each (preloaded through the real OutboxStore) connect as real mqtthandler processes
 * and drain. Measured: live latency measured → committed (readings.received_at) and measured → browser,
 * during the drain and after it; drain time against the raw insert of the same rows into the same MariaDB;
 * RSS and CPU of every process; wire bytes per reading, batched against one reading per message.
 */
export interface SystemSizes {
  devices: number;
  backlogDevices: number;
  backlogPerDevice: number;
  clients: number;
  warmupS: number;
  afterS: number;
  /** Readings of the one-per-message wire case (replayed with MQTT_BATCH_MAX=1). */
  wireSingle: number;
  rawRepeats: number;
}

export const SYSTEM_SIZES: SystemSizes = {
  devices: 1000,
  backlogDevices: 10,
  backlogPerDevice: 10_000,
  clients: 20,
  warmupS: 10,
  afterS: 20,
  wireSingle: 2000,
  rawRepeats: 2,
};

export const SYSTEM_QUICK_SIZES: SystemSizes = {
  devices: 20,
  backlogDevices: 1,
  backlogPerDevice: 1000,
  clients: 3,
  warmupS: 2,
  afterS: 3,
  wireSingle: 200,
  rawRepeats: 1,
};

export interface SystemBenchOptions {
  quick?: boolean;
  /** Overrides of the sizes (else BENCH_SYSTEM_* variables, else the defaults). */
  sizes?: Partial<SystemSizes>;
  outFile?: string;
  log?: (line: string) => void;
}

/** Device services' RSS budget (the issue's target), MB. */
export const DEVICE_RSS_LIMIT_MB = 60;
export /** The drain second by second: [p99, max] ms of each path ([null, null] for a second without samples). */
function drainTimeline(
  broker: LatencySummary[],
  browser: LatencySummary[],
  committed: LatencySummary[],
): { s: number; broker: (number | null)[]; browser: (number | null)[]; committed: (number | null)[] }[] {
  const pair = (x: LatencySummary | undefined) =>
    x && x.samples ? [Math.round(x.p99Ms), Math.round(x.maxMs)] : [null, null];
  return broker.map((b, s) => ({
    s,
    broker: pair(b),
    browser: pair(browser[s]),
    committed: pair(committed[s]),
  }));
}

/** How long the backlog devices' processes run, link closed, before the drain starts. */
const BACKLOG_SETTLE_MS = 3000;
const BROWSER_P99_TARGET_MS = 250;
const DRAIN_TIMEOUT_MS = 900_000;
const BACKLOG_PREFIX = 'backlog-';
const WIRE_DEVICE = 'wire-single';
const REAL_DEVICE = 'sysbench-device';
/**
 * The fleet's devices batch like a deployed mqtthandler (its MQTT_BATCH_MAX_WAIT_MS default), not with the
 * simulator's own default of one reading interval, which would add up to a second of latency per reading.
 */
const DEVICE_BATCH_WAIT_MS = 200;
/** Live devices: the fleet and the real device (a backlog's readings are hours old by design). */
const isLive = (deviceId: string): boolean =>
  !deviceId.startsWith(BACKLOG_PREFIX) && deviceId !== WIRE_DEVICE;

/** An integer setting within [min, max]; unset or empty gives the fallback, anything else names the variable. */
function intFromEnv(
  env: NodeJS.ProcessEnv,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `${min}–${max}`;
    throw new Error(`${name} must be an integer ${range} (got ${raw})`);
  }
  return n;
}

const envSize = (name: string, fallback: number): number =>
  intFromEnv(process.env, name, fallback, 1, Number.MAX_SAFE_INTEGER);

/**
 * BENCH_SYSTEM_DEVICE_NICE: the niceness (−20–19) given to the device-side stand-ins (fleet simulator and
 * its Redis, the backlog mqtthandlers and their Redis, the real device's services and Redis). In
 * production each of them is a separate machine; on this machine they compete with the backend for the
 * same cores. Default 0: equal priority throughout (the niced phases are left out; a niced fleet is not a
 * fleet on machines of its own, its own readings just wait longer); above 0 the drain's first half and a
 * phase after it run with the stand-ins behind the backend, below 0 (root or CAP_SYS_NICE) ahead of it.
 */
export function deviceNiceFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return intFromEnv(env, 'BENCH_SYSTEM_DEVICE_NICE', 0, -20, 19);
}

/**
 * BENCH_SYSTEM_FLEET_PROCESSES: how many fleet simulator processes share the live devices (default 1). On a
 * fleet every device has its own CPU; one process runs all 1,000 device links on one event loop.
 */
export function fleetProcessesFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return intFromEnv(env, 'BENCH_SYSTEM_FLEET_PROCESSES', 1, 1, 16);
}

/**
 * BENCH_SYSTEM_BULK_NICE: the niceness (0–19) of the backend's bulk path, the receivers and MariaDB, for the
 * whole run. Default BULK_PATH_NICE, as shipped (their `cpu_shares` in docker-compose.backend.yml, the
 * local stack): the live path (device → broker → web admin → browser) goes first, a backlog's storing
 * takes what is left. 0: everything at equal priority.
 */
export function bulkNiceFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  return intFromEnv(env, 'BENCH_SYSTEM_BULK_NICE', BULK_PATH_NICE, 0, 19);
}

const PHASES = [
  'during_drain',
  'during_drain_stand_ins_niced',
  'during_drain_equal_priority',
  'after_drain',
  'after_drain_stand_ins_niced',
] as const;
type PhaseName = (typeof PHASES)[number];

function sizesFrom(quick: boolean, overrides: Partial<SystemSizes> = {}): SystemSizes {
  const base = quick ? SYSTEM_QUICK_SIZES : SYSTEM_SIZES;
  return {
    devices: envSize('BENCH_SYSTEM_DEVICES', base.devices),
    backlogDevices: envSize('BENCH_SYSTEM_BACKLOG_DEVICES', base.backlogDevices),
    backlogPerDevice: envSize('BENCH_SYSTEM_BACKLOG', base.backlogPerDevice),
    clients: envSize('BENCH_SYSTEM_CLIENTS', base.clients),
    warmupS: base.warmupS,
    afterS: envSize('BENCH_SYSTEM_AFTER_S', base.afterS),
    wireSingle: base.wireSingle,
    rawRepeats: envSize('BENCH_SYSTEM_RAW_REPEATS', base.rawRepeats),
    ...overrides,
  };
}

/** Values like the simulated sensor's (4 channels), varying so the JSON is as long as a real one. */
function backlogValues(i: number): Record<string, number> {
  return {
    temperature: Math.round((21 + 4 * Math.sin(i / 500) + (i % 7) / 10) * 100) / 100,
    humidity: Math.round((55 - 15 * Math.sin(i / 500) + (i % 5) / 3) * 100) / 100,
    pressure: Math.round((1013 + 8 * Math.sin(i / 5000) + (i % 3) / 20) * 100) / 100,
    sine: Math.round(Math.sin(i / 60) * 100) / 100,
  };
}

/** `count` readings 1 s apart, ending an hour ago: what a device collects while its uplink is down. */
async function preload(outbox: OutboxStore, count: number): Promise<void> {
  const start = Date.now() - 3_600_000 - count * 1000;
  for (let i = 0; i < count; i += 1000) {
    const n = Math.min(1000, count - i);
    await Promise.all(
      Array.from({ length: n }, (_, k) =>
        outbox.append(new Date(start + (i + k) * 1000).toISOString(), backlogValues(i + k), {
          maxReadings: 0,
          maxAgeMs: 0,
        }),
      ),
    );
  }
}

async function metricsText(port: number): Promise<string> {
  return (await httpGet(`http://127.0.0.1:${port}/metrics`, 5000)).body;
}

/** A sample of `name` (no labels, or the first label set) in a Prometheus exposition; 0 when absent. */
function metricIn(text: string, name: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

/** A mqtthandler's send counters (its Prometheus metrics). */
async function handlerCounters(port: number) {
  const text = await metricsText(port);
  const value = (name: string) => metricIn(text, name);
  return {
    messages: value('sensorfleet_published_messages_total'),
    bytes: value('sensorfleet_published_bytes_total'),
    sentReadings: value('sensorfleet_published_readings_total'),
    ackTimeouts: value('sensorfleet_ack_timeouts_total'),
    seqConflicts: value('sensorfleet_seq_conflicts_total'),
  };
}

async function commitHistogram(receivers: NodeService[]): Promise<Histogram[]> {
  return Promise.all(
    receivers.map(
      async (r) =>
        parseHistogram(await metricsText(r.port), 'sensorfleet_commit_seconds') ?? emptyHistogram(),
    ),
  );
}

function mosquittoVersion(): string {
  try {
    const out = execFileSync('mosquitto', ['-h'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    return /mosquitto version (\S+)/.exec(out)?.[1] ?? 'unknown';
  } catch (err) {
    return (
      /mosquitto version (\S+)/.exec(String((err as { stdout?: unknown }).stdout ?? ''))?.[1] ?? 'unknown'
    );
  }
}

export interface WireFigure {
  case: string;
  batchMax: number;
  readings: number;
  messages: number;
  /** Readings published, resends included. */
  sentReadings: number;
  ackTimeouts: number;
  upBytes: number;
  payloadBytes: number;
  downBytes: number;
}

/**
 * BENCH_CPU_PROF=<dir>: the receivers, the web admin and the fleet simulator are profiled (as the ingest
 * bench does for receivers); each writes `<dir>/<label>-<pid>.cpuprofile` when it exits.
 */
function profiled(label: string): Record<string, string> {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? cpuProfileEnv(dir, label) : {};
}

export async function runSystemBench(opts: SystemBenchOptions = {}): Promise<Record<string, unknown>> {
  const quick = opts.quick ?? process.env.BENCH_QUICK === '1';
  const log = opts.log ?? ((l: string) => void process.stderr.write(`${l}\n`));
  const sizes = sizesFrom(quick, opts.sizes);
  const outFile = path.resolve(
    opts.outFile ??
      process.env.BENCH_SYSTEM_OUT ??
      (quick
        ? path.join(os.tmpdir(), 'sensorfleet-bench-system.quick.json')
        : path.join(REPO_ROOT, 'bench-results/system.json')),
  );
  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
  const servers: ManagedServer[] = [];
  const proxies: TcpByteCounter[] = [];
  const redisClients: Redis[] = [];
  let clients: LiveWebClients | undefined;
  let tap: TelemetryTap | undefined;
  const work = mkdtempSync(path.join(harnessRoot(), 'system-bench-'));
  const track = <T extends ManagedServer>(s: T): T => (servers.push(s), s);
  const stopServer = async (s: ManagedServer) => {
    await s.stop().catch(() => undefined);
    const i = servers.indexOf(s);
    if (i >= 0) servers.splice(i, 1);
  };

  try {
    log(
      `\nsystem benchmark${quick ? ' (BENCH_QUICK: tiny sizes, not a measurement)' : ''}: ${sizes.devices} live devices at 1 Hz, ` +
        `${sizes.backlogDevices} × ${fmt(sizes.backlogPerDevice)} backlog, ${sizes.clients} web clients`,
    );
    const fleetIds = Array.from(
      { length: sizes.devices },
      (_, i) => `sim-${String(i + 1).padStart(Math.max(4, String(sizes.devices).length), '0')}`,
    );
    const backlogIds = Array.from(
      { length: sizes.backlogDevices },
      (_, i) => `${BACKLOG_PREFIX}${String(i + 1).padStart(2, '0')}`,
    );

    // The backend as deployed: the shipped secured broker config, an account per service and device.
    const secured = await SecuredBroker.start({ dir: path.join(work, 'mosquitto') });
    track(secured.server);
    const passwords = await secured.setAccounts([
      'receiver',
      'webadmin',
      REAL_DEVICE,
      WIRE_DEVICE,
      ...backlogIds,
      ...fleetIds,
    ]);
    const account = (user: string) => ({ MQTT_USERNAME: user, MQTT_PASSWORD: passwords.get(user)! });
    const brokerLogin = (user: string) => ({ username: user, password: passwords.get(user)! });
    const mariadbArgs = mariadbArgsFromEnv();
    const db = track(await MariaDbServer.start({ serverArgs: mariadbArgs }));
    const digestsOn = await performanceSchemaOn(db);
    const databaseUrl = await db.createDatabase('sensorfleet');
    const mariadbVersion = String(
      ((await db.query('SELECT VERSION() AS v')) as { v: string }[])[0]?.v ?? 'unknown',
    );
    // Two replicas on the shared subscription, each with its own stable id, as docker-compose.backend.yml.
    const receiverEnv = receiverEnvFromEnv();
    if (Object.keys(receiverEnv).length) log(`  receiver env (experiment): ${JSON.stringify(receiverEnv)}`);
    const receivers: NodeService[] = [];
    for (const id of ['receiver-1', 'receiver-2']) {
      receivers.push(
        track(
          await NodeService.start('backend/receiver', {
            label: id,
            env: {
              LOG_LEVEL: logLevel,
              DATABASE_URL: databaseUrl,
              MQTT_URL: secured.url,
              RECEIVER_REPLICA_ID: id,
              ...receiverEnv,
              ...account('receiver'),
              ...profiled(id),
            },
          }),
        ),
      );
    }
    const httpPort = await freePort();
    const baseUrl = `http://127.0.0.1:${httpPort}`;
    const webadmin = track(
      await NodeService.start('backend/webadmin', {
        label: 'webadmin',
        env: {
          LOG_LEVEL: logLevel,
          DATABASE_URL: databaseUrl,
          MQTT_URL: secured.url,
          HTTP_PORT: String(httpPort),
          HTTP_HOST: '127.0.0.1',
          PUBLIC_URL: baseUrl,
          ...account('webadmin'),
          ...profiled('webadmin'),
        },
      }),
    );
    await waitFor('the web admin to be healthy', 60_000, async () =>
      httpGet(webadmin.healthUrl).then(
        (r) => r.status === 200,
        () => false,
      ),
    );
    const password = execFileSync(
      process.execPath,
      [
        path.join(REPO_ROOT, 'backend/webadmin/dist/cli/user.js'),
        'add',
        'bench',
        '--role',
        'viewer',
        '--generate',
      ],
      {
        env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    )
      .trim()
      .split('\n')
      .pop()!;

    // One real device: its own Redis and the three services as on balena.
    const deviceRedis = track(await RedisServer.start({ appendfsync: 'everysec' }));
    const deviceProxy = new TcpByteCounter({
      host: '127.0.0.1',
      port: Number(new URL(secured.deviceUrl).port),
    });
    await deviceProxy.start();
    proxies.push(deviceProxy);
    const deviceService = async (name: ServiceName, env: Record<string, string>) =>
      track(
        await NodeService.start(name, {
          label: `device-${name.split('/')[1]}`,
          env: { LOG_LEVEL: logLevel, REDIS_URL: deviceRedis.url, ...env },
        }),
      );
    const deviceMqtthandler = await deviceService('device/mqtthandler', {
      DEVICE_ID: REAL_DEVICE,
      MQTT_URL: `mqtt://127.0.0.1:${deviceProxy.port}`,
      ...account(REAL_DEVICE),
    });
    const deviceSensor = await deviceService('device/sensor', {
      SENSOR_DRIVER: 'simulated',
      SENSOR_INTERVAL_MS: '1000',
    });
    const deviceButton = await deviceService('device/startstopbutton', { BUTTON_DRIVER: 'none' });
    const deviceRedisClient = new Redis(deviceRedis.url, { maxRetriesPerRequest: null });
    redisClients.push(deviceRedisClient);
    const deviceOutbox = new OutboxStore(deviceRedisClient, 'sf:');

    // The fleet simulator, its own process(es) as `npm run fleet` runs it; one Redis for all of them.
    const fleetRedis = track(await RedisServer.start());
    const fleetProcesses = fleetProcessesFromEnv();
    const fleetLabel = (k: number) => (fleetProcesses === 1 ? 'fleet' : `fleet-${k + 1}`);
    const fleets: FleetProcess[] = [];
    for (let k = 0; k < fleetProcesses; k++) {
      const ids = fleetIds.filter((_, i) => i % fleetProcesses === k);
      const credentials = path.join(work, `${fleetLabel(k)}-credentials.json`);
      writeFileSync(
        credentials,
        JSON.stringify(ids.map((id) => ({ id, username: id, password: passwords.get(id) }))),
        { mode: 0o600 },
      );
      fleets.push(
        track(
          await FleetProcess.start({
            args: [
              '--url',
              secured.deviceUrl,
              '--credentials',
              credentials,
              '--redis',
              fleetRedis.url,
              '--rate',
              '1',
              '--batch-wait',
              String(DEVICE_BATCH_WAIT_MS),
            ],
            env: { LOG_LEVEL: logLevel, ...profiled(fleetLabel(k)) },
          }),
        ),
      );
    }
    await waitFor(`${sizes.devices} fleet devices to connect`, 180_000, async () => {
      let connected = 0;
      for (const fleet of fleets) {
        const r = await httpGet(fleet.healthUrl).catch(() => undefined);
        if (!r) return false;
        const detail = (JSON.parse(r.body) as { checks?: { fleet?: { detail?: { connected?: number } } } })
          .checks?.fleet?.detail;
        connected += detail?.connected ?? 0;
      }
      return connected === sizes.devices;
    });

    // The backlog devices: outboxes filled through the real OutboxStore before their mqtthandlers start.
    const backlogRedis = track(await RedisServer.start({ appendfsync: 'everysec' }));
    const backlogRedisClient = new Redis(backlogRedis.url, { maxRetriesPerRequest: null });
    redisClients.push(backlogRedisClient);
    const backlogOutboxes = backlogIds.map((id) => new OutboxStore(backlogRedisClient, `${id}:`));
    log(`  preloading ${fmt(sizes.backlogDevices * sizes.backlogPerDevice)} readings into the outboxes`);
    for (const o of backlogOutboxes) await preload(o, sizes.backlogPerDevice);

    // The web clients, logged in and subscribed before the measurement starts.
    clients = new LiveWebClients({
      baseUrl,
      username: 'bench',
      password,
      clients: sizes.clients,
      timed: isLive,
      apart: REAL_DEVICE,
    });
    await clients.start();
    tap = new TelemetryTap({
      url: secured.url,
      ...brokerLogin('webadmin'),
      timed: isLive,
      apart: REAL_DEVICE,
    });
    await tap.start();
    const bulkNice = bulkNiceFromEnv();
    let bulkNiced = true;
    if (bulkNice) {
      for (const pid of [db.pid, ...receivers.map((r) => r.pid)]) {
        if (!setCpuPriority(pid, bulkNice)) bulkNiced = false;
      }
      log(`  receivers and MariaDB at niceness ${bulkNice}${bulkNiced ? '' : ' (refused for some threads)'}`);
    }
    log(`  ${sizes.clients} web clients subscribed; ${sizes.warmupS} s warm-up`);
    await sleep(sizes.warmupS * 1000);

    // Device-side stand-ins: separate machines in production, on these 2 cores here. The drain's first half
    // runs them niced, its second half at equal priority; after the drain, equal priority first, then niced.
    const deviceNice = deviceNiceFromEnv();
    const standInPids = (): (number | undefined)[] => [
      ...fleets.map((f) => f.pid),
      fleetRedis.pid,
      deviceSensor.pid,
      deviceMqtthandler.pid,
      deviceButton.pid,
      deviceRedis.pid,
      backlogRedis.pid,
      ...backlogHandlersStarted.map((h) => h.pid),
    ];
    const backlogHandlersStarted: NodeService[] = [];
    let equalPriorityRestored = true;
    const setStandInPriority = (nice: number) => {
      for (const pid of standInPids()) if (!setCpuPriority(pid, nice)) equalPriorityRestored = false;
    };
    const basePids: Record<string, number | undefined> = {
      mosquitto: secured.server.pid,
      mariadb: db.pid,
      'receiver-1': receivers[0]!.pid,
      'receiver-2': receivers[1]!.pid,
      webadmin: webadmin.pid,
      ...Object.fromEntries(fleets.map((f, k) => [fleetLabel(k), f.pid])),
      'fleet-redis': fleetRedis.pid,
      'device-sensor': deviceSensor.pid,
      'device-mqtthandler': deviceMqtthandler.pid,
      'device-startstopbutton': deviceButton.pid,
      'device-redis': deviceRedis.pid,
      'backlog-redis': backlogRedis.pid,
    };

    // Drain: the backlog devices (real mqtthandler processes) come back online. They start first, each
    // behind a closed link (a proxy that drops their connections, as a network that is down), so their
    // processes' start-up, which on a fleet costs each device its own CPU, is over before the drain is
    // measured; then every link opens at once and they reconnect within their backoff (short here: 0.2–1 s).
    // The first one's link also counts the bytes.
    log(`  drain: ${sizes.backlogDevices} mqtthandler processes come online and replay their outboxes`);
    const backlogLinks = backlogIds.map(
      () =>
        new TcpByteCounter(
          { host: '127.0.0.1', port: Number(new URL(secured.deviceUrl).port) },
          { closed: true },
        ),
    );
    for (const link of backlogLinks) {
      await link.start();
      proxies.push(link);
    }
    const backlogProxy = backlogLinks[0]!;
    const commitBefore = await commitHistogram(receivers);
    const deviceSeqBefore = await deviceOutbox.lastSeq();
    const deviceWireBefore = deviceProxy.snapshot();
    const deviceCountersBefore = await handlerCounters(deviceMqtthandler.port);
    const drainSampler = new ProcSampler(basePids, 200);
    const servicePorts = (): Record<string, number> => ({
      'receiver-1': receivers[0]!.port,
      'receiver-2': receivers[1]!.port,
      webadmin: webadmin.port,
      ...Object.fromEntries(fleets.map((f, k) => [fleetLabel(k), f.port])),
      'device-mqtthandler': deviceMqtthandler.port,
    });
    // Per half of the drain (stand-ins niced, then equal priority): CPU, run-queue wait, event-loop delay.
    const firstHalfSampler = new ProcSampler(basePids, 200);
    const secondHalfSampler = new ProcSampler(basePids, 200);
    const firstHalfLag = new EventLoopLagScraper(servicePorts());
    const secondHalfLag = new EventLoopLagScraper(servicePorts());
    const backlogHandlers = await Promise.all(
      backlogIds.map(async (id, i) =>
        track(
          await NodeService.start('device/mqtthandler', {
            label: `${id}-mqtthandler`,
            env: {
              LOG_LEVEL: logLevel,
              REDIS_URL: backlogRedis.url,
              REDIS_KEY_PREFIX: `${id}:`,
              DEVICE_ID: id,
              MQTT_URL: `mqtt://127.0.0.1:${backlogLinks[i]!.port}`,
              MQTT_RECONNECT_MIN_MS: '200',
              MQTT_RECONNECT_MAX_MS: '1000',
              ...account(id),
            },
          }),
        ),
      ),
    );
    backlogHandlersStarted.push(...backlogHandlers);
    await sleep(BACKLOG_SETTLE_MS); // their start-up's CPU (module loading, first compiles) is behind them
    const loadBefore = os.loadavg()[0]!;
    const pressureAtDrain = readPressureTotals();
    setStandInPriority(deviceNice);
    const drainStart = Date.now();
    drainSampler.start();
    firstHalfSampler.start();
    firstHalfLag.start();
    for (const link of backlogLinks) link.open();
    const backlogLag = new EventLoopLagScraper(
      Object.fromEntries(backlogHandlers.map((h, i) => [`${backlogIds[i]}-mqtthandler`, h.port])),
    );
    backlogLag.start();
    const backlogSampler = new ProcSampler(
      Object.fromEntries(backlogHandlers.map((h, i) => [`${backlogIds[i]}-mqtthandler`, h.pid])),
      200,
    );
    backlogSampler.start();
    let drainMid: number | undefined;
    let firstHalf: { usage: Record<string, ProcUsage>; lag: Record<string, unknown> } | undefined;
    await waitFor(
      'the backlog to drain',
      DRAIN_TIMEOUT_MS,
      async () => {
        const lens = await Promise.all(backlogOutboxes.map((o) => backlogRedisClient.xlen(o.keys.outbox)));
        const left = lens.reduce((a, b) => a + b, 0);
        if (drainMid === undefined && left <= (sizes.backlogDevices * sizes.backlogPerDevice) / 2) {
          // Half the backlog acknowledged: the stand-ins back to equal priority for the second half.
          setStandInPriority(0);
          drainMid = Date.now();
          firstHalf = { usage: firstHalfSampler.stop(), lag: firstHalfLag.stop() };
          secondHalfSampler.start();
          secondHalfLag.start();
        }
        return left === 0;
      },
      100,
    );
    const drainEnd = Date.now();
    const pressureDrain = pressurePercent(pressureAtDrain, readPressureTotals(), drainEnd - drainStart);
    const drainUsage = drainSampler.stop();
    const secondHalf = { usage: secondHalfSampler.stop(), lag: secondHalfLag.stop() };
    const backlogUsage = backlogSampler.stop();
    const backlogLagFigures = backlogLag.stop();
    const backlogCpuLifetime = backlogHandlers.map((h) => readCpuSeconds(h.pid!) ?? NaN);
    const commitAfter = await commitHistogram(receivers);
    const drainSeconds = (drainEnd - drainStart) / 1000;
    const backlogReadings = sizes.backlogDevices * sizes.backlogPerDevice;
    log(`  drained ${fmt(backlogReadings)} readings in ${fmt(drainSeconds, 1)} s`);
    await sleep(300); // the last acks' PUBACKs, before the bytes are read
    const backlogCounters = await Promise.all(backlogHandlers.map((h) => handlerCounters(h.port)));
    const sum = (key: keyof (typeof backlogCounters)[number]) =>
      backlogCounters.reduce((total, c) => total + c[key], 0);
    const batchedWire: WireFigure = {
      case: `backlog replay, batched (MQTT_BATCH_MAX 100), ${backlogIds[0]}`,
      batchMax: 100,
      readings: sizes.backlogPerDevice,
      messages: backlogCounters[0]!.messages,
      sentReadings: backlogCounters[0]!.sentReadings,
      ackTimeouts: backlogCounters[0]!.ackTimeouts,
      upBytes: backlogProxy.up,
      payloadBytes: backlogCounters[0]!.bytes,
      downBytes: backlogProxy.down,
    };
    for (const h of backlogHandlers) await stopServer(h);

    // After the drain: the same live load alone.
    const afterSampler = new ProcSampler(basePids, 200);
    const afterLag = new EventLoopLagScraper(servicePorts());
    const dbBeforeAfter = await snapshotMariaDb(db, digestsOn);
    const afterStart = Date.now();
    const pressureAtAfter = readPressureTotals();
    afterSampler.start();
    afterLag.start();
    await sleep(sizes.afterS * 1000);
    const afterEnd = Date.now();
    const pressureAfter = pressurePercent(pressureAtAfter, readPressureTotals(), afterEnd - afterStart);
    const loadAfter = os.loadavg()[0]!;
    const afterUsage = afterSampler.stop();
    const afterLagFigures = afterLag.stop();
    const dbAfterAfter = await snapshotMariaDb(db, digestsOn);
    // The same live load alone with the stand-ins niced.
    setStandInPriority(deviceNice);
    const afterNicedSampler = new ProcSampler(basePids, 200);
    const afterNicedLag = new EventLoopLagScraper(servicePorts());
    const afterNicedStart = Date.now();
    afterNicedSampler.start();
    afterNicedLag.start();
    if (deviceNice) await sleep(sizes.afterS * 1000);
    const afterNicedEnd = Date.now();
    const afterNiced = { usage: afterNicedSampler.stop(), lag: afterNicedLag.stop() };
    setStandInPriority(0);
    const deviceReadings = (await deviceOutbox.lastSeq()) - deviceSeqBefore;
    const deviceWireAfter = deviceProxy.snapshot();
    const deviceCountersAfter = await handlerCounters(deviceMqtthandler.port);
    clients.stop();
    await tap.stop();
    const mid = deviceNice ? (drainMid ?? drainEnd) : drainStart;
    const windows: Record<PhaseName, PhaseWindow> = {
      during_drain: { fromMs: drainStart, toMs: drainEnd },
      during_drain_stand_ins_niced: { fromMs: drainStart, toMs: mid },
      during_drain_equal_priority: { fromMs: mid, toMs: drainEnd },
      after_drain: { fromMs: afterStart, toMs: afterEnd },
      after_drain_stand_ins_niced: { fromMs: afterNicedStart, toMs: afterNicedEnd },
    };
    const summaries = (c: LatencyCollector) =>
      Object.fromEntries(PHASES.map((ph) => [ph, c.summary(windows[ph])])) as Record<
        PhaseName,
        LatencySummary
      >;

    // Wire bytes, one reading per message: a backlog replayed with MQTT_BATCH_MAX=1 through a counter.
    log(`  wire: ${fmt(sizes.wireSingle)} readings replayed one per message`);
    const wireOutbox = new OutboxStore(backlogRedisClient, `${WIRE_DEVICE}:`);
    await preload(wireOutbox, sizes.wireSingle);
    const wireProxy = new TcpByteCounter({
      host: '127.0.0.1',
      port: Number(new URL(secured.deviceUrl).port),
    });
    await wireProxy.start();
    proxies.push(wireProxy);
    const wireHandler = track(
      await NodeService.start('device/mqtthandler', {
        label: `${WIRE_DEVICE}-mqtthandler`,
        env: {
          LOG_LEVEL: logLevel,
          REDIS_URL: backlogRedis.url,
          REDIS_KEY_PREFIX: `${WIRE_DEVICE}:`,
          DEVICE_ID: WIRE_DEVICE,
          MQTT_URL: `mqtt://127.0.0.1:${wireProxy.port}`,
          MQTT_BATCH_MAX: '1',
          ...account(WIRE_DEVICE),
        },
      }),
    );
    await waitFor(
      'the one-per-message replay',
      DRAIN_TIMEOUT_MS,
      async () => (await backlogRedisClient.xlen(wireOutbox.keys.outbox)) === 0,
    );
    await sleep(300);
    const single = await handlerCounters(wireHandler.port);
    const singleWire: WireFigure = {
      case: 'backlog replay, one reading per message (MQTT_BATCH_MAX=1)',
      batchMax: 1,
      readings: sizes.wireSingle,
      messages: single.messages,
      sentReadings: single.sentReadings,
      ackTimeouts: single.ackTimeouts,
      upBytes: wireProxy.up,
      payloadBytes: single.bytes,
      downBytes: wireProxy.down,
    };
    const liveWire: WireFigure = {
      case: `live 1 Hz, ${REAL_DEVICE} (a reading per message: 1 s apart > MQTT_BATCH_MAX_WAIT_MS)`,
      batchMax: 100,
      readings: deviceReadings,
      messages: deviceCountersAfter.messages - deviceCountersBefore.messages,
      sentReadings: deviceCountersAfter.sentReadings - deviceCountersBefore.sentReadings,
      ackTimeouts: deviceCountersAfter.ackTimeouts - deviceCountersBefore.ackTimeouts,
      upBytes: deviceWireAfter.up - deviceWireBefore.up,
      payloadBytes: deviceCountersAfter.bytes - deviceCountersBefore.bytes,
      downBytes: deviceWireAfter.down - deviceWireBefore.down,
    };
    await stopServer(wireHandler);

    // Stop the load; everything below reads what was stored.
    for (const s of [...fleets, deviceSensor, deviceButton, deviceMqtthandler]) await stopServer(s);
    const pool = createPool(databaseUrl, { connectionLimit: 2 });
    let committed: Record<PhaseName, LatencySummary>;
    let committedTimeline: LatencySummary[] = [];
    let storedOnce: Record<string, unknown>;
    let rows: ReadingRow[];
    let afterLiveReadings = 0;
    try {
      const timed = new LatencyCollector();
      // One sensor per reading: every live device measures temperature; received_at is the INSERT's time.
      const lat = (await pool.query(
        {
          sql:
            'SELECT UNIX_TIMESTAMP(measured_at) * 1000 AS m, TIMESTAMPDIFF(MICROSECOND, measured_at, received_at) / 1000 AS d ' +
            "FROM readings WHERE sensor = 'temperature' AND device_id NOT LIKE ? AND device_id <> ? AND measured_at >= ? AND measured_at < ?",
          rowsAsArray: true,
        },
        [`${BACKLOG_PREFIX}%`, WIRE_DEVICE, new Date(drainStart), new Date(afterNicedEnd)],
      )) as [number | string, number | string][];
      for (const [m, d] of lat) timed.add(Number(m), Number(d));
      committed = summaries(timed);
      committedTimeline = timed.timeline(windows.during_drain, 1000);
      // Live readings stored in the after-drain phase: the unit of MariaDB's CPU per live reading.
      const [afterCount] = (await pool.query(
        "SELECT COUNT(*) AS n FROM readings WHERE sensor = 'temperature' AND device_id NOT LIKE ? AND device_id <> ? " +
          'AND received_at >= ? AND received_at < ?',
        [`${BACKLOG_PREFIX}%`, WIRE_DEVICE, new Date(afterStart), new Date(afterEnd)],
      )) as { n: number | bigint }[];
      afterLiveReadings = Number(afterCount?.n ?? 0);
      const perDevice = (await pool.query(
        'SELECT device_id AS id, COUNT(DISTINCT seq) AS readings, MIN(seq) AS first, MAX(seq) AS last, COUNT(*) AS nrows ' +
          'FROM readings WHERE device_id LIKE ? OR device_id = ? GROUP BY device_id ORDER BY device_id',
        [`${BACKLOG_PREFIX}%`, WIRE_DEVICE],
      )) as { id: string; readings: number; first: number; last: number; nrows: number }[];
      const expected = new Map<string, number>([
        ...backlogIds.map((id) => [id, sizes.backlogPerDevice] as [string, number]),
        [WIRE_DEVICE, sizes.wireSingle],
      ]);
      const complete = [...expected].every(([id, n]) => {
        const d = perDevice.find((p) => p.id === id);
        return d !== undefined && Number(d.readings) === n && Number(d.first) === 1 && Number(d.last) === n;
      });
      storedOnce = {
        complete,
        devices: Object.fromEntries(
          perDevice.map((d) => [
            d.id,
            {
              expected: expected.get(d.id),
              readings: Number(d.readings),
              first_seq: Number(d.first),
              last_seq: Number(d.last),
              rows: Number(d.nrows),
            },
          ]),
        ),
      };
      rows = (await pool.query(
        {
          sql:
            "SELECT device_id, seq, sensor, value, DATE_FORMAT(measured_at, '%Y-%m-%d %H:%i:%s.%f') FROM readings " +
            'WHERE device_id LIKE ? ORDER BY seq, device_id, sensor',
          rowsAsArray: true,
        },
        [`${BACKLOG_PREFIX}%`],
      )) as ReadingRow[];
    } finally {
      await pool.end();
    }

    // The raw baseline: the drained rows inserted by a plain client into the same MariaDB, the rest stopped.
    for (const s of [webadmin, ...receivers]) await stopServer(s);
    log(`  raw insert of the same ${fmt(rows.length)} rows (best of ${sizes.rawRepeats} × 2 methods)`);
    const best = async (insert: (url: string, r: readonly ReadingRow[]) => Promise<RawResult>) => {
      let top: RawResult | undefined;
      for (let i = 0; i < sizes.rawRepeats; i++) {
        const url = await db.createDatabase();
        await settleDatabase(db);
        const r = await insert(url, rows);
        if (!top || r.seconds < top.seconds) top = r;
        await db.query(`DROP DATABASE \`${new URL(url).pathname.slice(1)}\``);
      }
      return top!;
    };
    const rawMulti = await best(rawMultiRowInsert);
    const rawBatch = await best(rawBatchInsert);
    const raw = rawMulti.seconds < rawBatch.seconds ? rawMulti : rawBatch;

    // Figures.
    const round = (n: number, d = 1): number | null => (Number.isFinite(n) ? Number(n.toFixed(d)) : null);
    const latencyJson = (s: LatencySummary) => ({
      samples: s.samples,
      p50_ms: round(s.p50Ms),
      p99_ms: round(s.p99Ms),
      max_ms: round(s.maxMs),
    });
    const phasesJson = (x: Record<PhaseName, LatencySummary>) =>
      Object.fromEntries(PHASES.map((ph) => [ph, latencyJson(x[ph])]));
    const atBroker = summaries(tap.latencies);
    const browser = summaries(clients.latencies);
    const commitDrain = receivers
      .map((_, i) => subtractHistogram(commitAfter[i]!, commitBefore[i]!))
      .reduce(addHistograms, emptyHistogram());
    const afterSeconds = (afterEnd - afterStart) / 1000;
    const phaseUsage = (usage: Record<string, ProcUsage>, ms: number) =>
      Object.fromEntries(
        Object.entries(usage).map(([name, u]) => [
          name,
          {
            cpu_percent: round((100 * u.cpuSeconds * 1000) / ms),
            run_queue_wait_ms_per_s: round((1000 * u.runQueueWaitSeconds * 1000) / ms),
          },
        ]),
      );
    const processes: Record<string, Record<string, number | null>> = {};
    const usageRow = (
      peak: number,
      peakAnon: number,
      drainCpu: number,
      afterCpu: number,
      drainWait: number,
      afterWait: number,
    ) => ({
      peak_rss_mb: round(peak),
      peak_rss_anon_mb: round(peakAnon),
      cpu_percent_during_drain: round((100 * drainCpu) / drainSeconds),
      cpu_percent_after_drain: round((100 * afterCpu) / afterSeconds),
      // Time runnable but waiting for a CPU, ms per second of the phase (/proc/<pid>/schedstat).
      run_queue_wait_ms_per_s_during_drain: round((1000 * drainWait) / drainSeconds),
      run_queue_wait_ms_per_s_after_drain: round((1000 * afterWait) / afterSeconds),
    });
    for (const name of [...Object.keys(basePids), 'bench']) {
      const d: ProcUsage | undefined = drainUsage[name];
      const a: ProcUsage | undefined = afterUsage[name];
      processes[name] = usageRow(
        Math.max(d?.peakRssMb ?? NaN, a?.peakRssMb ?? NaN),
        Math.max(d?.peakRssAnonMb ?? NaN, a?.peakRssAnonMb ?? NaN),
        d?.cpuSeconds ?? NaN,
        a?.cpuSeconds ?? NaN,
        d?.runQueueWaitSeconds ?? NaN,
        a?.runQueueWaitSeconds ?? NaN,
      );
    }
    backlogHandlers.forEach((_, i) => {
      const name = `${backlogIds[i]}-mqtthandler`;
      const u = backlogUsage[name];
      processes[name] = {
        peak_rss_mb: round(u?.peakRssMb ?? NaN),
        peak_rss_anon_mb: round(u?.peakRssAnonMb ?? NaN),
        // Its whole life (start-up included): the process existed only for the drain.
        cpu_percent_during_drain: round((100 * (backlogCpuLifetime[i] ?? NaN)) / drainSeconds),
        cpu_percent_after_drain: null,
        run_queue_wait_ms_per_s_during_drain: round((1000 * (u?.runQueueWaitSeconds ?? NaN)) / drainSeconds),
        run_queue_wait_ms_per_s_after_drain: null,
      };
    });
    const deviceServices = Object.entries(processes).filter(
      ([name]) => /^device-(sensor|mqtthandler|startstopbutton)$/.test(name) || name.endsWith('-mqtthandler'),
    );
    const deviceRssMax = Math.max(...deviceServices.map(([, p]) => p.peak_rss_mb ?? NaN));
    const deviceAnonMax = Math.max(...deviceServices.map(([, p]) => p.peak_rss_anon_mb ?? NaN));
    const wireJson = (w: WireFigure) => ({
      case: w.case,
      batch_max: w.batchMax,
      readings: w.readings,
      messages: w.messages,
      sent_readings: w.sentReadings,
      resent_readings: w.sentReadings - w.readings,
      ack_timeouts: w.ackTimeouts,
      readings_per_message: round(w.sentReadings / w.messages),
      up_bytes_per_reading: round(w.upBytes / w.readings),
      payload_bytes_per_reading: round(w.payloadBytes / w.readings),
      down_bytes_per_reading: round(w.downBytes / w.readings),
    });
    const drainRows = rows.length;
    const result = {
      system: {
        live_devices: sizes.devices,
        live_rate_hz: 1,
        real_device: `${REAL_DEVICE} (sensor + mqtthandler + startstopbutton BUTTON_DRIVER=none, own Redis)`,
        backlog_devices: sizes.backlogDevices,
        backlog_readings_per_device: sizes.backlogPerDevice,
        web_clients: sizes.clients,
        receivers: receivers.length,
        broker: 'SecuredBroker: the shipped mosquitto.conf, an account per service and device, ACLs',
        device_side_nice: deviceNice,
        fleet_processes: fleetProcesses,
        // The receivers' and MariaDB's niceness (BENCH_SYSTEM_BULK_NICE); false in bulk_niced: refused.
        bulk_nice: bulkNice,
        bulk_niced: bulkNiced,
      },
      // p99 of each service's event-loop delay per scrape (1 s), median and max over the phase.
      event_loop_lag: {
        during_drain_stand_ins_niced: deviceNice ? (firstHalf?.lag ?? null) : null,
        during_drain_equal_priority: secondHalf.lag,
        during_drain_backlog_mqtthandlers: backlogLagFigures,
        after_drain: afterLagFigures,
        after_drain_stand_ins_niced: deviceNice ? afterNiced.lag : null,
      },
      // CPU and run-queue wait (ms per s) per phase of the backend and the stand-ins.
      phases: {
        during_drain_stand_ins_niced:
          deviceNice && firstHalf ? phaseUsage(firstHalf.usage, mid - drainStart) : null,
        during_drain_equal_priority: phaseUsage(secondHalf.usage, drainEnd - mid),
        after_drain: phaseUsage(afterUsage, afterEnd - afterStart),
        after_drain_stand_ins_niced: deviceNice
          ? phaseUsage(afterNiced.usage, afterNicedEnd - afterNicedStart)
          : null,
        equal_priority_restored: equalPriorityRestored,
      },
      // After the drain (live load alone, equal priority): CPU per 1,000 live readings and what MariaDB did.
      after_drain_cost: afterDrainCost(afterUsage, afterLiveReadings, {
        ...phaseFigures(dbBeforeAfter, dbAfterAfter, afterLiveReadings),
        server_args: mariadbArgs,
      }),
      drain: {
        readings: backlogReadings,
        rows: drainRows,
        seconds: round(drainSeconds, 2),
        readings_per_s: round(backlogReadings / drainSeconds, 0),
        rows_per_s: round(drainRows / drainSeconds, 0),
        raw_seconds: round(raw.seconds, 2),
        raw_rows_per_s: round(raw.rowsPerS, 0),
        raw_multirow_rows_per_s: round(rawMulti.rowsPerS, 0),
        raw_batch_rows_per_s: round(rawBatch.rowsPerS, 0),
        drain_time_vs_raw: round(drainSeconds / raw.seconds, 2),
        commit_p50_ms: round(histogramQuantile(commitDrain, 0.5) * 1000),
        commit_p99_ms: round(histogramQuantile(commitDrain, 0.99) * 1000),
        transactions: commitDrain.count,
        // Resends: everything unacked goes again after MQTT_ACK_TIMEOUT_MS, or when a receiver (re)announces.
        sent_readings: sum('sentReadings'),
        resent_readings: sum('sentReadings') - backlogReadings,
        ack_timeouts: sum('ackTimeouts'),
        seq_conflicts: sum('seqConflicts'),
        stored_once: storedOnce,
      },
      latency: {
        browser: {
          ...phasesJson(browser),
        },
        committed: {
          ...phasesJson(committed),
        },
        broker: {
          ...phasesJson(atBroker),
        },
        broker_source:
          'a plain subscriber on devices/+/telemetry (backend listener): arrival − reading ts; what happens before the web admin',
        browser_source: 'WebSocket client arrival − reading ts (measured), same clock; live devices only',
        committed_source:
          'readings.received_at − measured_at (received_at = CURRENT_TIMESTAMP(3) of the receiver INSERT, i.e. just before its commit; the commit itself is commit_p50/p99_ms)',
        // The real device alone (its own sensor and mqtthandler processes, as on a device) against the
        // fleet simulator's 1,000 devices on one event loop.
        real_device: {
          broker: phasesJson(summaries(tap.apartLatencies)),
          browser: phasesJson(summaries(clients.apartLatencies)),
        },
        // Per second of the drain, by measurement time: where the slow readings were.
        drain_timeline_1s: drainTimeline(
          tap.latencies.timeline(windows.during_drain, 1000),
          clients.latencies.timeline(windows.during_drain, 1000),
          committedTimeline,
        ),
        browser_p99_target_ms: BROWSER_P99_TARGET_MS,
        // During the drain, at equal priority (the bench's original condition) and with the stand-ins niced.
        browser_p99_within_target: {
          equal_priority: (browser.during_drain_equal_priority.p99Ms ?? Infinity) <= BROWSER_P99_TARGET_MS,
          stand_ins_niced: (browser.during_drain_stand_ins_niced.p99Ms ?? Infinity) <= BROWSER_P99_TARGET_MS,
        },
      },
      clients: {
        count: sizes.clients,
        reading_frames_per_client: clients.frames,
        reading_frames_min: Math.min(...clients.frames),
        dropped_notices: clients.dropped,
      },
      processes,
      device_services: {
        rss_limit_mb: DEVICE_RSS_LIMIT_MB,
        max_peak_rss_mb: round(deviceRssMax),
        within_limit: deviceRssMax <= DEVICE_RSS_LIMIT_MB,
        max_peak_rss_anon_mb: round(deviceAnonMax),
        anon_within_limit: deviceAnonMax <= DEVICE_RSS_LIMIT_MB,
      },
      wire: [batchedWire, singleWire, liveWire].map(wireJson),
      windows: {
        drain_start: new Date(drainStart).toISOString(),
        drain_end: new Date(drainEnd).toISOString(),
        after_end: new Date(afterEnd).toISOString(),
      },
      machine: {
        ...machineBasics(),
        mariadb: mariadbVersion,
        mosquitto: mosquittoVersion(),
        mariadb_settings:
          'harness MariaDbServer: innodb_flush_log_at_trx_commit=2, buffer pool 64M, no binlog' +
          (mariadbArgs.length ? `; extra: ${mariadbArgs.join(' ')}` : ''),
        receiver_env_experiment: receiverEnv,
        // Everything shares these cores, with whatever else runs on the machine: the 1-minute load average
        // before the drain and at the end of the live phase (the bench's own processes included).
        load_average_1m: { before_drain: round(loadBefore, 2), after_live: round(loadAfter, 2) },
        // Linux pressure stall information: % of the wall time some task waited for a CPU, I/O or memory.
        pressure_some_percent: { during_drain: pressureDrain, after_drain: pressureAfter },
        // Sessions scheduled as groups: the nicenesses above are set on each service's group too.
        sched_autogroup: autogroupEnabled(),
        quick,
      },
      date: new Date().toISOString(),
    };
    process.stdout.write(formatSystemBench(result) + '\n');
    writeBenchJson(outFile, result);
    log(`wrote ${outFile}`);
    return result;
  } finally {
    clients?.stop();
    await tap?.stop();
    for (const r of redisClients) r.disconnect();
    for (const p of proxies) await p.stop().catch(() => undefined);
    for (const s of [...servers].reverse()) await s.stop().catch(() => undefined);
    rmSync(work, { recursive: true, force: true });
  }
}

/** CPU seconds per 1,000 live readings of the processes that store and show them, and MariaDB's view. */
function afterDrainCost(
  usage: Record<string, ProcUsage>,
  liveReadings: number,
  mariadb: Record<string, unknown>,
): Record<string, unknown> {
  const per1000 = (names: string[]) =>
    Number(((names.reduce((s, n) => s + (usage[n]?.cpuSeconds ?? NaN), 0) * 1000) / liveReadings).toFixed(4));
  return {
    live_readings: liveReadings,
    cpu_s_per_1000_live_readings: {
      mariadb: per1000(['mariadb']),
      receivers: per1000(['receiver-1', 'receiver-2']),
      webadmin: per1000(['webadmin']),
      mosquitto: per1000(['mosquitto']),
    },
    mariadb,
  };
}

type SystemResult = Awaited<ReturnType<typeof runSystemBench>>;

/** The tables printed to stdout. */
export function formatSystemBench(r: SystemResult): string {
  const x = r as {
    drain: Record<string, number | null>;
    latency: Record<string, Record<string, Record<string, number | null>>>;
    processes: Record<string, Record<string, number | null>>;
    wire: Record<string, string | number | null>[];
    date: string;
    machine: {
      cores: number;
      load_average_1m: { before_drain: number; after_live: number };
      pressure_some_percent?: { during_drain: { cpu?: number; io?: number } };
    };
    after_drain_cost: { live_readings: number; cpu_s_per_1000_live_readings: Record<string, number> };
  };
  const n = (v: unknown, d = 0) => fmt(typeof v === 'number' ? v : NaN, d);
  const realDevice = (
    r as { latency: { real_device?: Record<string, Record<string, Record<string, number | null>>> } }
  ).latency.real_device;
  const timeline =
    (r as { latency: { drain_timeline_1s?: ReturnType<typeof drainTimeline> } }).latency.drain_timeline_1s ??
    [];
  const latency = formatTable(
    [
      { title: 'live latency', value: (row: { name: string }) => row.name, align: 'left' },
      { title: 'samples', value: (row) => n(row.s['samples']) },
      { title: 'p50 ms', value: (row) => n(row.s['p50_ms'], 1) },
      { title: 'p99 ms', value: (row) => n(row.s['p99_ms'], 1) },
      { title: 'max ms', value: (row) => n(row.s['max_ms'], 1) },
    ],
    (
      [
        ['committed', 'measured → committed'],
        ['broker', 'measured → broker subscriber'],
        ['browser', 'measured → browser'],
      ] as const
    ).flatMap(([kind, label]) =>
      (
        [
          ['during_drain', 'during drain (whole)'],
          ['during_drain_equal_priority', 'during drain, equal priority'],
          ['during_drain_stand_ins_niced', 'during drain, stand-ins niced'],
          ['after_drain', 'after drain, equal priority'],
          ['after_drain_stand_ins_niced', 'after drain, stand-ins niced'],
        ] as const
      )
        .filter(([phase]) => x.latency[kind]![phase])
        .map(([phase, when]) => ({ name: `${label}, ${when}`, s: x.latency[kind]![phase]! })),
    ),
  );
  const procs = formatTable(
    [
      { title: 'process', value: (p: [string, Record<string, number | null>]) => p[0], align: 'left' },
      { title: 'peak RSS MB', value: (p) => n(p[1]['peak_rss_mb'], 1) },
      { title: 'of it anon MB', value: (p) => n(p[1]['peak_rss_anon_mb'], 1) },
      { title: 'CPU % drain', value: (p) => n(p[1]['cpu_percent_during_drain'], 1) },
      { title: 'CPU % after', value: (p) => n(p[1]['cpu_percent_after_drain'], 1) },
    ],
    Object.entries(x.processes),
  );
  const wire = formatTable(
    [
      {
        title: 'wire (device → broker)',
        value: (w: Record<string, string | number | null>) => String(w['case']),
        align: 'left',
      },
      { title: 'readings', value: (w) => n(w['readings']) },
      { title: 'readings/msg', value: (w) => n(w['readings_per_message'], 1) },
      { title: 'resent', value: (w) => n(w['resent_readings']) },
      { title: 'up B/reading', value: (w) => n(w['up_bytes_per_reading'], 1) },
      { title: 'payload B/reading', value: (w) => n(w['payload_bytes_per_reading'], 1) },
      { title: 'down B/reading', value: (w) => n(w['down_bytes_per_reading'], 1) },
    ],
    x.wire,
  );
  const d = x.drain;
  return [
    `\nSystem, ${x.date} — ${x.machine.cores} shared cores, load average ${x.machine.load_average_1m.before_drain} before the drain, ${x.machine.load_average_1m.after_live} after` +
      (x.machine.pressure_some_percent?.during_drain.cpu === undefined
        ? ''
        : `; a task waiting for a CPU ${x.machine.pressure_some_percent.during_drain.cpu} % of the drain, for I/O ${x.machine.pressure_some_percent.during_drain.io ?? '–'} %`),
    `drain: ${n(d['readings'])} readings (${n(d['rows'])} rows) in ${n(d['seconds'], 1)} s = ${n(d['rows_per_s'])} rows/s; ` +
      `raw insert of the same rows ${n(d['raw_seconds'], 2)} s (${n(d['raw_rows_per_s'])} rows/s): drain takes ${n(d['drain_time_vs_raw'], 2)}× the raw time; ` +
      `receiver commit p50/p99 ${n(d['commit_p50_ms'], 1)} / ${n(d['commit_p99_ms'], 1)} ms; ` +
      `resent ${n(d['resent_readings'])} readings (${n(d['ack_timeouts'])} ack timeouts)`,
    '',
    latency,
    `(target: measured → browser p99 ≤ ${BROWSER_P99_TARGET_MS} ms during the drain)`,
    `the real device alone (${n(realDevice?.browser?.during_drain?.samples)} browser samples during the drain): ` +
      `broker p50 / p99 ${n(realDevice?.broker?.during_drain?.p50_ms)} / ${n(realDevice?.broker?.during_drain?.p99_ms)} ms, ` +
      `browser ${n(realDevice?.browser?.during_drain?.p50_ms)} / ${n(realDevice?.browser?.during_drain?.p99_ms)} ms during the drain; ` +
      `browser ${n(realDevice?.browser?.after_drain?.p50_ms)} / ${n(realDevice?.browser?.after_drain?.p99_ms)} ms after`,
    ...(['broker', 'browser'] as const).map(
      (path) =>
        `${path} p99 ms per second of the drain: ` +
        timeline.map((t) => (t[path][0] === null ? '–' : String(t[path][0]))).join(' '),
    ),
    '',
    procs,
    `after the drain: ${n(x.after_drain_cost.live_readings)} live readings stored; CPU s per 1,000: ` +
      Object.entries(x.after_drain_cost.cpu_s_per_1000_live_readings)
        .map(([name, v]) => `${name} ${n(v, 3)}`)
        .join(', '),
    '',
    wire,
  ].join('\n');
}
