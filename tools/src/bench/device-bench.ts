import { execFileSync } from 'node:child_process';
import { machineBasics, writeBenchJson } from './bench-output.js';
import path from 'node:path';
import { Redis } from 'ioredis';
import { OutboxStore } from '@sensorfleet/shared';
import {
  httpGet,
  MariaDbServer,
  MosquittoServer,
  NodeService,
  RedisServer,
  REPO_ROOT,
  sleep,
  waitFor,
  type ManagedServer,
  type ServiceName,
} from '../harness/index.js';
import { TcpByteCounter } from './device-tcp-counter.js';
import { ProcSampler, readRssBytes } from './proc-sampler.js';
import { fmt, formatTable } from './stats.js';

/**
 * The device benchmark (`runDeviceBench`), all figures from one run on this machine:
 * 1. resources: CPU (utime+stime from /proc/<pid>/stat over the phase) and RSS of each device service —
 *    sensor, mqtthandler, startstopbutton (BUTTON_DRIVER=none: the idle-Node baseline), Redis — measuring at
 *    1 Hz and at 100 Hz, with the backend acking so the outbox stays small (steady state);
 * 2. wire bytes per reading, device → broker, counted on a TCP proxy in front of the broker (MQTT framing +
 *    topic + payload; TCP/IP headers not included): live at 100 Hz batched (MQTT_BATCH_MAX 100, 200 ms
 *    wait), live one reading per message (MQTT_BATCH_MAX=1), and a backlog replay in full batches;
 * 3. replay: drain time of a 100 000-reading backlog to the real receiver + MariaDB, against the raw rate
 *    of reading the same entries from Redis (XRANGE in pages of the batch size) — the ceiling of the
 *    device side.
 */
export interface DeviceBenchOptions {
  /** Default: BENCH_DEVICE_OUT or bench-results/device.json (device.quick.json when quick). */
  outFile?: string;
  /** Tiny sizes and short phases: a smoke run, not a measurement (default: BENCH_QUICK=1). */
  quick?: boolean;
  /** Progress lines (default: stderr). */
  log?: (line: string) => void;
}

export interface ServiceUsage {
  cpuSeconds: number;
  /** CPU time as a share of one core over the phase, %. */
  cpuPercent: number;
  peakRssMb: number;
  endRssMb: number;
}

export interface ResourcePhase {
  hz: number;
  seconds: number;
  readingsPerS: number;
  backlogAtEnd: number;
  services: Record<string, ServiceUsage>;
}

export interface WireCase {
  name: string;
  batchMax: number;
  readings: number;
  messages: number;
  upBytesPerReading: number;
  payloadBytesPerReading: number;
  mqttOverheadBytesPerReading: number;
  downBytesPerReading: number;
}

export interface ReplayResult {
  backlog: number;
  page: number;
  drainSeconds: number;
  drainReadingsPerS: number;
  rawReadSeconds: number;
  rawReadingsPerS: number;
  ratio: number;
  rowsStored: number;
}

export interface DeviceBenchResult {
  resources: ResourcePhase[];
  wire: WireCase[];
  replay: ReplayResult;
  machine: Record<string, unknown>;
  date: string;
}

const MB = 2 ** 20;

/** Values like the simulated sensor's (4 channels), varying so JSON lengths are realistic. */
function simulatedValues(i: number): Record<string, number> {
  return {
    temperature: Math.round((21 + 4 * Math.sin(i / 500) + (i % 7) / 10) * 100) / 100,
    humidity: Math.round((55 - 15 * Math.sin(i / 500) + (i % 5) / 3) * 100) / 100,
    pressure: Math.round((1013 + 8 * Math.sin(i / 5000) + (i % 3) / 20) * 100) / 100,
    sine: Math.round(Math.sin(i / 60) * 100) / 100,
  };
}

async function preload(outbox: OutboxStore, count: number): Promise<void> {
  const start = Date.now() - count * 10;
  for (let i = 0; i < count; i += 1000) {
    const n = Math.min(1000, count - i);
    await Promise.all(
      Array.from({ length: n }, (_, k) =>
        outbox.append(new Date(start + (i + k) * 10).toISOString(), simulatedValues(i + k), {
          maxReadings: 0,
          maxAgeMs: 0,
        }),
      ),
    );
  }
}

async function metric(service: NodeService, name: string): Promise<number> {
  const { body } = await httpGet(`http://127.0.0.1:${service.port}/metrics`);
  const line = body.split('\n').find((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
}

function version(cmd: string, args: string[], pattern: RegExp): string {
  try {
    return pattern.exec(execFileSync(cmd, args, { encoding: 'utf8' }))?.[1] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export async function runDeviceBench(opts: DeviceBenchOptions = {}): Promise<DeviceBenchResult> {
  const quick = opts.quick ?? process.env.BENCH_QUICK === '1';
  const say = opts.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const sizes = quick
    ? { warmupMs: 1000, phaseMs: 3000, wireMs: 2000, wireBacklog: 500, replay: 5000 }
    : { warmupMs: 5000, phaseMs: 20_000, wireMs: 10_000, wireBacklog: 5000, replay: 100_000 };
  const outFile = path.resolve(
    REPO_ROOT,
    opts.outFile ??
      process.env.BENCH_DEVICE_OUT ??
      (quick ? 'bench-results/device.quick.json' : 'bench-results/device.json'),
  );
  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';

  const servers: ManagedServer[] = [];
  const redisServer = await RedisServer.start({ appendfsync: 'everysec' });
  servers.push(redisServer);
  const broker = await MosquittoServer.start();
  servers.push(broker);
  const db = await MariaDbServer.start();
  servers.push(db);
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  const proxies: TcpByteCounter[] = [];
  try {
    const databaseUrl = await db.createDatabase();
    const receiver = await NodeService.start('backend/receiver', {
      env: { LOG_LEVEL: logLevel, DATABASE_URL: databaseUrl, MQTT_URL: broker.url },
    });
    servers.push(receiver);

    const service = async (name: ServiceName, env: Record<string, string>): Promise<NodeService> => {
      const s = await NodeService.start(name, {
        env: { LOG_LEVEL: logLevel, REDIS_URL: redisServer.url, ...env },
      });
      servers.push(s);
      return s;
    };
    const stop = async (...list: NodeService[]) => {
      await Promise.all(list.map((s) => s.stop()));
      for (const s of list) servers.splice(servers.indexOf(s), 1);
    };

    // 1. resources at 1 Hz and 100 Hz
    const resources: ResourcePhase[] = [];
    for (const hz of [1, 100]) {
      say(
        `device bench: resources at ${hz} Hz (${sizes.phaseMs / 1000} s after ${sizes.warmupMs / 1000} s warm-up)`,
      );
      const prefix = `res${hz}:`;
      const outbox = new OutboxStore(redis, prefix);
      const common = { REDIS_KEY_PREFIX: prefix };
      const mqtthandler = await service('device/mqtthandler', {
        ...common,
        DEVICE_ID: `bench-res-${hz}hz`,
        MQTT_URL: broker.url,
      });
      const sensor = await service('device/sensor', {
        ...common,
        SENSOR_DRIVER: 'simulated',
        SENSOR_INTERVAL_MS: String(1000 / hz),
      });
      const button = await service('device/startstopbutton', { ...common, BUTTON_DRIVER: 'none' });
      await sleep(sizes.warmupMs);
      const pids = {
        sensor: sensor.pid,
        mqtthandler: mqtthandler.pid,
        startstopbutton: button.pid,
        redis: redisServer.pid,
      };
      const seqStart = await outbox.lastSeq();
      const startedAt = Date.now();
      const sampler = new ProcSampler(pids, 200);
      sampler.start();
      await sleep(sizes.phaseMs);
      const usage = sampler.stop();
      const seconds = (Date.now() - startedAt) / 1000;
      const seqEnd = await outbox.lastSeq();
      const services: Record<string, ServiceUsage> = {};
      for (const [name, pid] of Object.entries(pids)) {
        const u = usage[name]!;
        services[name] = {
          cpuSeconds: u.cpuSeconds,
          cpuPercent: (100 * u.cpuSeconds) / seconds,
          peakRssMb: u.peakRssMb,
          endRssMb: (pid !== undefined ? (readRssBytes(pid) ?? NaN) : NaN) / MB,
        };
      }
      resources.push({
        hz,
        seconds,
        readingsPerS: (seqEnd - seqStart) / seconds,
        backlogAtEnd: (await outbox.stats()).backlog,
        services,
      });
      await stop(button, sensor, mqtthandler);
    }

    // 2. wire bytes per reading
    const wire: WireCase[] = [];
    const wireCases = [
      { name: 'live 100 Hz, batched', batchMax: 100, live: true },
      { name: 'live 100 Hz, 1 per message', batchMax: 1, live: true },
      { name: `backlog of ${sizes.wireBacklog}, batched`, batchMax: 100, live: false },
    ];
    for (const c of wireCases) {
      say(`device bench: wire bytes, ${c.name}`);
      const prefix = `wire${wire.length}:`;
      const outbox = new OutboxStore(redis, prefix);
      const proxy = new TcpByteCounter({ host: '127.0.0.1', port: broker.port });
      await proxy.start();
      proxies.push(proxy);
      const mqtthandler = await service('device/mqtthandler', {
        REDIS_KEY_PREFIX: prefix,
        DEVICE_ID: `bench-wire-${wire.length}`,
        MQTT_URL: `mqtt://127.0.0.1:${proxy.port}`,
        MQTT_BATCH_MAX: String(c.batchMax),
      });
      await sleep(1500); // connected, subscribed, online and first state published: not part of the figure
      const before = proxy.snapshot();
      const [msgs0, payload0] = await Promise.all([
        metric(mqtthandler, 'sensorfleet_published_messages_total'),
        metric(mqtthandler, 'sensorfleet_published_bytes_total'),
      ]);
      if (c.live) {
        const sensor = await service('device/sensor', {
          REDIS_KEY_PREFIX: prefix,
          SENSOR_DRIVER: 'simulated',
          SENSOR_INTERVAL_MS: '10',
        });
        await sleep(sizes.wireMs);
        await stop(sensor);
      } else {
        await preload(outbox, sizes.wireBacklog);
      }
      await waitFor('the outbox to be acked', 120_000, async () => (await outbox.stats()).backlog === 0);
      await sleep(300);
      const after = proxy.snapshot();
      const readings = await outbox.lastSeq();
      const messages = (await metric(mqtthandler, 'sensorfleet_published_messages_total')) - msgs0;
      const payload = (await metric(mqtthandler, 'sensorfleet_published_bytes_total')) - payload0;
      const up = after.up - before.up;
      wire.push({
        name: c.name,
        batchMax: c.batchMax,
        readings,
        messages,
        upBytesPerReading: up / readings,
        payloadBytesPerReading: payload / readings,
        mqttOverheadBytesPerReading: (up - payload) / readings,
        downBytesPerReading: (after.down - before.down) / readings,
      });
      await stop(mqtthandler);
      await proxy.stop();
    }

    // 3. replay of a big backlog vs the raw Redis read rate
    say(`device bench: replay of a ${sizes.replay.toLocaleString('en-US')}-reading backlog`);
    const prefix = 'replay:';
    const outbox = new OutboxStore(redis, prefix);
    await preload(outbox, sizes.replay);
    const page = 100; // MQTT_BATCH_MAX default
    const rawStart = process.hrtime.bigint();
    let read = 0;
    for (let after = '-'; ;) {
      const entries = (await redis.xrange(outbox.keys.outbox, after, '+', 'COUNT', page)) as [
        string,
        string[],
      ][];
      if (!entries.length) break;
      read += entries.length;
      after = `(${entries[entries.length - 1]![0]}`;
    }
    const rawReadSeconds = Number(process.hrtime.bigint() - rawStart) / 1e9;
    if (read !== sizes.replay) throw new Error(`device bench: read ${read} of ${sizes.replay} entries`);
    const drainStart = Date.now();
    const mqtthandler = await service('device/mqtthandler', {
      REDIS_KEY_PREFIX: prefix,
      DEVICE_ID: 'bench-replay',
      MQTT_URL: broker.url,
    });
    await waitFor('the backlog to drain', 600_000, async () => (await redis.xlen(outbox.keys.outbox)) === 0);
    const drainSeconds = (Date.now() - drainStart) / 1000;
    await stop(mqtthandler);
    const rows = (await db.query(
      `SELECT COUNT(*) AS n FROM ${new URL(databaseUrl).pathname.slice(1)}.readings WHERE device_id = 'bench-replay'`,
    )) as { n: number }[];
    const replay: ReplayResult = {
      backlog: sizes.replay,
      page,
      drainSeconds,
      drainReadingsPerS: sizes.replay / drainSeconds,
      rawReadSeconds,
      rawReadingsPerS: sizes.replay / rawReadSeconds,
      ratio: sizes.replay / drainSeconds / (sizes.replay / rawReadSeconds),
      rowsStored: Number(rows[0]?.n ?? 0),
    };

    const result: DeviceBenchResult = {
      resources,
      wire,
      replay,
      machine: {
        ...machineBasics(),
        redis: version('redis-server', ['--version'], /v=(\S+)/),
        redis_settings:
          'harness RedisServer: device/redis/redis.conf (AOF only, appendfsync everysec, no RDB)',
        quick,
      },
      date: new Date().toISOString(),
    };
    say(formatDeviceBench(result));
    writeBenchJson(outFile, toJson(result));
    say(`device bench: results written to ${path.relative(process.cwd(), outFile) || outFile}`);
    return result;
  } finally {
    redis.disconnect();
    for (const p of proxies) await p.stop().catch(() => undefined);
    for (const s of [...servers].reverse()) await s.stop().catch(() => undefined);
  }
}

/** The three tables, as printed. */
export function formatDeviceBench(r: DeviceBenchResult): string {
  const usageRows = r.resources.flatMap((phase) =>
    Object.entries(phase.services).map(([name, u]) => ({ phase, name, u })),
  );
  const resources = formatTable(
    [
      { title: 'rate', value: (x) => `${x.phase.hz} Hz`, align: 'left' },
      { title: 'service', value: (x) => x.name, align: 'left' },
      { title: 'CPU % of 1 core', value: (x) => fmt(x.u.cpuPercent, 2) },
      { title: 'CPU s', value: (x) => fmt(x.u.cpuSeconds, 2) },
      { title: 'RSS MB end', value: (x) => fmt(x.u.endRssMb, 1) },
      { title: 'RSS MB peak', value: (x) => fmt(x.u.peakRssMb, 1) },
      { title: 'readings/s', value: (x) => fmt(x.phase.readingsPerS, 1) },
      { title: 'backlog', value: (x) => fmt(x.phase.backlogAtEnd) },
    ],
    usageRows,
  );
  const wire = formatTable(
    [
      { title: 'wire case', value: (w) => w.name, align: 'left' },
      { title: 'readings', value: (w) => fmt(w.readings) },
      { title: 'readings/msg', value: (w) => fmt(w.readings / w.messages, 1) },
      { title: 'up B/reading', value: (w) => fmt(w.upBytesPerReading, 1) },
      { title: 'payload B', value: (w) => fmt(w.payloadBytesPerReading, 1) },
      { title: 'MQTT overhead B', value: (w) => fmt(w.mqttOverheadBytesPerReading, 1) },
      { title: 'down B/reading', value: (w) => fmt(w.downBytesPerReading, 1) },
    ],
    r.wire,
  );
  const p = r.replay;
  const replay = formatTable(
    [
      { title: 'replay', value: (x: { name: string }) => x.name, align: 'left' },
      { title: 'readings', value: () => fmt(p.backlog) },
      { title: 's', value: (x: { s: number }) => fmt(x.s, 2) },
      { title: 'readings/s', value: (x: { rate: number }) => fmt(x.rate) },
    ],
    [
      { name: 'drain to receiver + MariaDB', s: p.drainSeconds, rate: p.drainReadingsPerS },
      { name: `raw XRANGE, pages of ${p.page}`, s: p.rawReadSeconds, rate: p.rawReadingsPerS },
    ],
  );
  return [
    resources,
    '',
    wire,
    '',
    replay,
    `drain / raw read: ${fmt(p.ratio, 3)}; rows stored: ${fmt(p.rowsStored)} (4 channels + 2 derived per reading)`,
  ].join('\n');
}

function toJson(r: DeviceBenchResult): Record<string, unknown> {
  const round = (n: number, d = 1): number | null => (Number.isFinite(n) ? Number(n.toFixed(d)) : null);
  return {
    resources: Object.fromEntries(
      r.resources.map((p) => [
        `${p.hz}hz`,
        {
          readings_per_s: round(p.readingsPerS, 2),
          seconds: round(p.seconds, 1),
          backlog_at_end: p.backlogAtEnd,
          services: Object.fromEntries(
            Object.entries(p.services).map(([name, u]) => [
              name,
              {
                cpu_percent: round(u.cpuPercent, 2),
                cpu_seconds: round(u.cpuSeconds, 2),
                rss_mb_end: round(u.endRssMb),
                rss_mb_peak: round(u.peakRssMb),
              },
            ]),
          ),
        },
      ]),
    ),
    wire: r.wire.map((w) => ({
      case: w.name,
      batch_max: w.batchMax,
      readings: w.readings,
      messages: w.messages,
      readings_per_message: round(w.readings / w.messages, 1),
      up_bytes_per_reading: round(w.upBytesPerReading),
      payload_bytes_per_reading: round(w.payloadBytesPerReading),
      mqtt_overhead_bytes_per_reading: round(w.mqttOverheadBytesPerReading),
      down_bytes_per_reading: round(w.downBytesPerReading),
      counted: 'TCP proxy in front of the broker: MQTT packets incl. topic and payload, no TCP/IP headers',
    })),
    replay: {
      backlog: r.replay.backlog,
      drain_seconds: round(r.replay.drainSeconds, 2),
      drain_readings_per_s: round(r.replay.drainReadingsPerS, 0),
      raw_xrange_page: r.replay.page,
      raw_read_seconds: round(r.replay.rawReadSeconds, 3),
      raw_readings_per_s: round(r.replay.rawReadingsPerS, 0),
      drain_to_raw_ratio: round(r.replay.ratio, 3),
      rows_stored: r.replay.rowsStored,
    },
    machine: r.machine,
    date: r.date,
  };
}
