import { machineBasics, writeBenchJson } from './bench-output.js';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { OutboxStore } from '@sensorfleet/shared';
import {
  MariaDbServer,
  MosquittoServer,
  NodeService,
  nodeFlagsOf,
  RedisServer,
  REPO_ROOT,
  sleep,
  type ManagedServer,
  type ServiceName,
} from '../harness/index.js';
import { ProcSampler, readCpuSeconds, type ProcUsage } from './proc-sampler.js';
import { fmt, formatTable, percentile } from './stats.js';

/**
 * The device services' memory (`runDeviceMemoryBench`): the real sensor (simulated driver), mqtthandler
 * and startstopbutton (`BUTTON_DRIVER=none`, as every harness runs it: this machine has no sysfs GPIO)
 * against real Redis, Mosquitto and a receiver with MariaDB (so acks flow), plus a second mqtthandler
 * that starts with a backlog in its outbox and drains it (what a device does after an outage). Every
 * process is sampled from its spawn on (VmRSS, RssAnon, RssFile of /proc/<pid>/status, every 100 ms by
 * default), under each of several node flag sets, in rounds that alternate the flag sets so a busy
 * machine hurts them alike. `shipped` runs each service with its `start` script's flags (what its
 * container runs); the other sets give every service the same flags.
 */
export interface DeviceMemoryOptions {
  /** Default: BENCH_MEMORY_OUT or bench-results/device-memory.json (quick: the temp dir). */
  outFile?: string;
  /** One round, a 1,000-reading backlog, 5 s: a smoke run, not a measurement (default: BENCH_QUICK=1). */
  quick?: boolean;
  log?: (line: string) => void;
}

/** Named node flag sets; `shipped` = each service's start-script flags. */
export const FLAG_SETS: Record<string, readonly string[] | 'shipped'> = {
  'no-flags': [],
  shipped: 'shipped',
  'semi-1': ['--max-semi-space-size=1'],
  'semi-2': ['--max-semi-space-size=2'],
  'semi-1-old-32': ['--max-semi-space-size=1', '--max-old-space-size=32'],
  'semi-1-no-opt': ['--max-semi-space-size=1', '--no-opt'],
  'semi-1-no-opt-old-32': ['--max-semi-space-size=1', '--no-opt', '--max-old-space-size=32'],
  'semi-1-lite': ['--max-semi-space-size=1', '--lite-mode'],
  'semi-1-jitless': ['--max-semi-space-size=1', '--jitless'],
};

export interface FlagSet {
  name: string;
  /** undefined: the start script's flags of each service. */
  flags: readonly string[] | undefined;
}

/**
 * `BENCH_MEMORY_FLAGS`: `;`-separated names of FLAG_SETS, or `label=--flag --flag` for any other set.
 * Throws on an unknown name, so a typo does not silently measure something else.
 */
export function parseFlagSets(spec: string): FlagSet[] {
  return spec
    .split(';')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((item) => {
      const eq = item.indexOf('=');
      if (eq > 0 && !item.startsWith('-')) {
        return {
          name: item.slice(0, eq),
          flags: item
            .slice(eq + 1)
            .trim()
            .split(/\s+/)
            .filter(Boolean),
        };
      }
      const known = FLAG_SETS[item];
      if (known === undefined) {
        throw new Error(
          `BENCH_MEMORY_FLAGS: unknown flag set '${item}' (known: ${Object.keys(FLAG_SETS).join(', ')}, or label=--flag …)`,
        );
      }
      return { name: item, flags: known === 'shipped' ? undefined : known };
    });
}

/** One process of one round. */
export interface ProcessFigure {
  peakRssMb: number;
  peakRssAnonMb: number;
  peakRssFileMb: number;
  /**
   * Highest Pss (smaps_rollup): file pages split between the processes mapping them. Here that is every node
   * process running the same binary (the bench, the receiver, the other services), so it is lower than on a
   * device, where the three services share the base image's binary; peak VmRSS stays the verdict.
   */
  peakPssMb: number;
  /** CPU seconds over the whole life (start-up included). */
  cpuSeconds: number;
  /** Live services: CPU seconds from spawn to the end of the warm-up (start-up + a few idle seconds). */
  startupCpuSeconds?: number;
}

export interface RoundFigure {
  round: number;
  processes: Record<string, ProcessFigure>;
  /** Spawn of the backlog mqtthandler → its outbox empty (start-up included). */
  drainSeconds: number;
  /** Readings acked per second from the first ack to the last (start-up excluded). */
  drainReadingsPerS: number;
  liveSeconds: number;
}

export interface FlagSetResult {
  name: string;
  /** The flags each service ran with. */
  flags: Record<string, string[]>;
  rounds: RoundFigure[];
}

export interface DeviceMemoryResult {
  backlog: number;
  sampleMs: number;
  sets: FlagSetResult[];
  machine: Record<string, unknown>;
  date: string;
}

const LIVE: Record<string, ServiceName> = {
  sensor: 'device/sensor',
  mqtthandler: 'device/mqtthandler',
  startstopbutton: 'device/startstopbutton',
};
const BACKLOG = 'backlog-mqtthandler';

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name}: must be a positive integer (got '${raw}')`);
  return n;
}

/** Readings like the simulated sensor's (4 channels). */
async function preload(outbox: OutboxStore, count: number): Promise<void> {
  const start = Date.now() - 3_600_000 - count * 1000;
  for (let i = 0; i < count; i += 1000) {
    const n = Math.min(1000, count - i);
    await Promise.all(
      Array.from({ length: n }, (_, k) => {
        const j = i + k;
        return outbox.append(
          new Date(start + j * 1000).toISOString(),
          {
            temperature: Math.round((21 + 4 * Math.sin(j / 500)) * 100) / 100,
            humidity: Math.round((55 - 15 * Math.sin(j / 500)) * 100) / 100,
            pressure: Math.round((1013 + 8 * Math.sin(j / 5000)) * 100) / 100,
            sine: Math.round(Math.sin(j / 60) * 100) / 100,
          },
          { maxReadings: 0, maxAgeMs: 0 },
        );
      }),
    );
  }
}

export async function runDeviceMemoryBench(opts: DeviceMemoryOptions = {}): Promise<DeviceMemoryResult> {
  const say = opts.log ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const quick = opts.quick ?? process.env.BENCH_QUICK === '1';
  const sets = parseFlagSets(process.env.BENCH_MEMORY_FLAGS ?? 'no-flags;shipped');
  const rounds = intEnv('BENCH_MEMORY_ROUNDS', quick ? 1 : 3);
  const backlog = intEnv('BENCH_MEMORY_BACKLOG', quick ? 1000 : 10_000);
  const liveMs = intEnv('BENCH_MEMORY_LIVE_S', quick ? 5 : 15) * 1000;
  const sampleMs = intEnv('BENCH_MEMORY_SAMPLE_MS', 100);
  const warmupMs = 3000;
  const logLevel = process.env.BENCH_LOG_LEVEL ?? 'warn';
  const outFile = path.resolve(
    REPO_ROOT,
    opts.outFile ??
      process.env.BENCH_MEMORY_OUT ??
      (quick
        ? path.join(os.tmpdir(), 'sensorfleet-bench-device-memory.quick.json')
        : 'bench-results/device-memory.json'),
  );

  const servers: ManagedServer[] = [];
  const redisServer = await RedisServer.start({ appendfsync: 'everysec' });
  servers.push(redisServer);
  const broker = await MosquittoServer.start();
  servers.push(broker);
  const db = await MariaDbServer.start();
  servers.push(db);
  const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
  try {
    const receiver = await NodeService.start('backend/receiver', {
      env: { LOG_LEVEL: logLevel, DATABASE_URL: await db.createDatabase(), MQTT_URL: broker.url },
    });
    servers.push(receiver);
    const results: FlagSetResult[] = sets.map((s) => ({
      name: s.name,
      flags: Object.fromEntries(
        Object.entries(LIVE).map(([label, svc]) => [label, [...(s.flags ?? nodeFlagsOf(svc))]]),
      ),
      rounds: [],
    }));

    for (let round = 1; round <= rounds; round++) {
      for (const [i, set] of sets.entries()) {
        say(`device memory: round ${round}/${rounds}, ${set.name}`);
        const tag = `r${round}s${i}`;
        const pids: Record<string, number | undefined> = {};
        const sampler = new ProcSampler(pids, sampleMs, { pss: true });
        const started: NodeService[] = [];
        const start = async (label: string, svc: ServiceName, env: Record<string, string>) => {
          const s = await NodeService.start(svc, {
            label: `${tag}-${label}`,
            env: { LOG_LEVEL: logLevel, REDIS_URL: redisServer.url, ...env },
            ...(set.flags ? { nodeFlags: [...set.flags] } : {}),
            onSpawn: (pid) => (pids[label] = pid),
          });
          started.push(s);
          return s;
        };
        const backlogOutbox = new OutboxStore(redis, `${tag}-backlog:`);
        await preload(backlogOutbox, backlog);
        try {
          sampler.start();
          const liveStart = Date.now();
          await start('mqtthandler', 'device/mqtthandler', {
            REDIS_KEY_PREFIX: `${tag}-live:`,
            DEVICE_ID: `mem-${tag}-live`,
            MQTT_URL: broker.url,
          });
          await start('sensor', 'device/sensor', {
            REDIS_KEY_PREFIX: `${tag}-live:`,
            SENSOR_DRIVER: 'simulated',
          });
          await start('startstopbutton', 'device/startstopbutton', {
            REDIS_KEY_PREFIX: `${tag}-live:`,
            BUTTON_DRIVER: 'none',
          });
          await sleep(warmupMs);
          const cpuAtWarm = Object.fromEntries(
            Object.keys(LIVE).map((label) => [label, readCpuSeconds(pids[label]!) ?? NaN]),
          );

          const drainStart = Date.now();
          let firstAck: { at: number; left: number } | undefined;
          const handler = await start(BACKLOG, 'device/mqtthandler', {
            REDIS_KEY_PREFIX: `${tag}-backlog:`,
            DEVICE_ID: `mem-${tag}-backlog`,
            MQTT_URL: broker.url,
          });
          for (;;) {
            const left = await redis.xlen(backlogOutbox.keys.outbox);
            if (firstAck === undefined && left < backlog) firstAck = { at: Date.now(), left };
            if (left === 0) break;
            if (Date.now() - drainStart > 300_000) throw new Error(`backlog not drained: ${left} left`);
            await sleep(20);
          }
          const drainEnd = Date.now();
          const backlogCpu = readCpuSeconds(handler.pid!) ?? NaN;
          await handler.stop();
          await sleep(Math.max(0, liveStart + liveMs - Date.now()));
          const cpuEnd = Object.fromEntries(
            Object.keys(LIVE).map((label) => [label, readCpuSeconds(pids[label]!) ?? NaN]),
          );
          const usage = sampler.stop();
          const liveSeconds = (Date.now() - liveStart) / 1000;
          const figure = (u: ProcUsage | undefined, cpu: number): ProcessFigure => ({
            peakRssMb: u?.peakRssMb ?? NaN,
            peakRssAnonMb: u?.peakRssAnonMb ?? NaN,
            peakRssFileMb: u?.peakRssFileMb ?? NaN,
            peakPssMb: u?.peakPssMb ?? NaN,
            cpuSeconds: cpu,
          });
          const processes: Record<string, ProcessFigure> = {};
          for (const label of Object.keys(LIVE)) {
            processes[label] = {
              ...figure(usage[label], cpuEnd[label]!),
              startupCpuSeconds: cpuAtWarm[label]!,
            };
          }
          processes[BACKLOG] = figure(usage[BACKLOG], backlogCpu);
          const acked = firstAck ? firstAck.left : backlog;
          results[i]!.rounds.push({
            round,
            processes,
            drainSeconds: (drainEnd - drainStart) / 1000,
            drainReadingsPerS: firstAck ? acked / Math.max(0.001, (drainEnd - firstAck.at) / 1000) : NaN,
            liveSeconds,
          });
        } finally {
          sampler.stop();
          for (const s of started.reverse()) await s.stop().catch(() => undefined);
        }
      }
    }

    const result: DeviceMemoryResult = {
      backlog,
      sampleMs,
      sets: results,
      machine: {
        ...machineBasics(),
        load_average_1m_end: Number(os.loadavg()[0]!.toFixed(2)),
        quick,
      },
      date: new Date().toISOString(),
    };
    say(formatDeviceMemory(result));
    writeBenchJson(outFile, toJson(result));
    say(`device memory: results written to ${path.relative(process.cwd(), outFile) || outFile}`);
    return result;
  } finally {
    redis.disconnect();
    for (const s of [...servers].reverse()) await s.stop().catch(() => undefined);
  }
}

/** Median of the finite values (a round that could not measure a figure gives NaN). */
const median = (xs: number[]): number => percentile(xs.filter(Number.isFinite), 50);

/** Per flag set over its rounds: the highest peaks (the target is about the worst case), median CPU and rates. */
export function summarise(set: FlagSetResult): {
  processes: Record<string, ProcessFigure>;
  drainSeconds: number;
  drainReadingsPerS: number;
  /** The three live services together: CPU from spawn to the warm-up's end, and after it (steady). */
  liveStartupCpuSeconds: number;
  liveSteadyCpuSeconds: number;
} {
  const names = Object.keys(set.rounds[0]?.processes ?? {});
  const processes: Record<string, ProcessFigure> = {};
  for (const n of names) {
    const ps = set.rounds.map((r) => r.processes[n]!);
    processes[n] = {
      peakRssMb: Math.max(...ps.map((p) => p.peakRssMb)),
      peakRssAnonMb: Math.max(...ps.map((p) => p.peakRssAnonMb)),
      peakRssFileMb: Math.max(...ps.map((p) => p.peakRssFileMb)),
      peakPssMb: Math.max(...ps.map((p) => p.peakPssMb)),
      cpuSeconds: median(ps.map((p) => p.cpuSeconds)),
      ...(ps[0]?.startupCpuSeconds !== undefined
        ? { startupCpuSeconds: median(ps.map((p) => p.startupCpuSeconds ?? NaN)) }
        : {}),
    };
  }
  return {
    processes,
    drainSeconds: median(set.rounds.map((r) => r.drainSeconds)),
    drainReadingsPerS: median(set.rounds.map((r) => r.drainReadingsPerS)),
    liveStartupCpuSeconds: median(
      set.rounds.map((r) =>
        Object.keys(LIVE).reduce((t, n) => t + (r.processes[n]?.startupCpuSeconds ?? NaN), 0),
      ),
    ),
    liveSteadyCpuSeconds: median(
      set.rounds.map((r) =>
        Object.keys(LIVE).reduce(
          (t, n) => t + (r.processes[n]?.cpuSeconds ?? NaN) - (r.processes[n]?.startupCpuSeconds ?? NaN),
          0,
        ),
      ),
    ),
  };
}

export function formatDeviceMemory(r: DeviceMemoryResult): string {
  const rows = r.sets.map((s) => ({ s, sum: summarise(s) }));
  const mem = (n: string) => (x: (typeof rows)[number]) => {
    const p = x.sum.processes[n];
    return p
      ? `${fmt(p.peakRssMb, 1)} / ${fmt(p.peakRssAnonMb, 1)} / ${fmt(p.peakRssFileMb, 1)} / ${fmt(p.peakPssMb, 1)}`
      : '–';
  };
  return [
    `peak MB as VmRSS / RssAnon / RssFile / Pss (highest of ${r.sets[0]?.rounds.length ?? 0} rounds); backlog ${fmt(r.backlog)} readings`,
    formatTable(
      [
        { title: 'flags', value: (x) => x.s.name, align: 'left' },
        { title: 'sensor', value: mem('sensor') },
        { title: 'mqtthandler', value: mem('mqtthandler') },
        { title: 'startstopbutton', value: mem('startstopbutton') },
        { title: 'backlog mqtthandler', value: mem(BACKLOG) },
        { title: 'drain readings/s', value: (x) => fmt(x.sum.drainReadingsPerS) },
        { title: 'drain s', value: (x) => fmt(x.sum.drainSeconds, 2) },
        { title: 'backlog CPU s', value: (x) => fmt(x.sum.processes[BACKLOG]?.cpuSeconds ?? NaN, 2) },
        { title: 'live CPU s start-up', value: (x) => fmt(x.sum.liveStartupCpuSeconds, 2) },
        { title: 'live CPU s steady', value: (x) => fmt(x.sum.liveSteadyCpuSeconds, 2) },
      ],
      rows,
    ),
  ].join('\n');
}

function toJson(r: DeviceMemoryResult): Record<string, unknown> {
  const round = (n: number, d = 1): number | null => (Number.isFinite(n) ? Number(n.toFixed(d)) : null);
  const proc = (p: ProcessFigure) => ({
    peak_rss_mb: round(p.peakRssMb),
    peak_rss_anon_mb: round(p.peakRssAnonMb),
    peak_rss_file_mb: round(p.peakRssFileMb),
    peak_pss_mb: round(p.peakPssMb),
    cpu_seconds: round(p.cpuSeconds, 2),
    ...(p.startupCpuSeconds !== undefined ? { startup_cpu_seconds: round(p.startupCpuSeconds, 2) } : {}),
  });
  return {
    backlog: r.backlog,
    sample_ms: r.sampleMs,
    sets: r.sets.map((s) => {
      const sum = summarise(s);
      return {
        name: s.name,
        flags: s.flags,
        peak: Object.fromEntries(Object.entries(sum.processes).map(([n, p]) => [n, proc(p)])),
        drain_readings_per_s: round(sum.drainReadingsPerS, 0),
        drain_seconds: round(sum.drainSeconds, 2),
        live_startup_cpu_seconds: round(sum.liveStartupCpuSeconds, 2),
        live_steady_cpu_seconds: round(sum.liveSteadyCpuSeconds, 2),
        rounds: s.rounds.map((x) => ({
          round: x.round,
          live_seconds: round(x.liveSeconds),
          drain_seconds: round(x.drainSeconds, 2),
          drain_readings_per_s: round(x.drainReadingsPerS, 0),
          processes: Object.fromEntries(Object.entries(x.processes).map(([n, p]) => [n, proc(p)])),
        })),
      };
    }),
    machine: r.machine,
    date: r.date,
  };
}
