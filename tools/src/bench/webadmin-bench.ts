import { execFileSync } from 'node:child_process';
import { machineBasics, writeBenchJson } from './bench-output.js';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import * as mariadb from 'mariadb';
import mqtt from 'mqtt';
import WebSocket from 'ws';
import {
  freePort,
  httpGet,
  MariaDbServer,
  MosquittoServer,
  NodeService,
  REPO_ROOT,
  type ManagedServer,
} from '../harness/index.js';
import { ProcSampler } from './proc-sampler.js';
import { fmt, percentile } from './stats.js';

/**
 * The web admin benchmark (`runWebadminBench`), all from one run against a real web admin process:
 * 1. history: one device with `readings` 1 Hz readings (default 1M, ~11.6 days) and the minute/hour rollups
 *    the receiver's fold job would have written; the 7-day chart request (`/readings`, it picks `1h`)
 *    against the same range computed by a raw `GROUP BY` hour over `readings` (median of 5 each);
 * 2. CSV: the whole device (`readings` rows) streamed over HTTP: rows/s and the web admin's peak RSS;
 * 3. live fan-out: `devices` simulated devices publishing 1 reading/s each, `clients` WebSocket clients on
 *    the whole fleet; latency = client receive time − the reading's `ts` (same clock), p50/p99; web admin
 *    CPU (% of one core) and peak RSS over the phase.
 */
export interface WebadminBenchOptions {
  quick?: boolean;
  outFile?: string;
  log?: (line: string) => void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => percentile(xs, 50);

function timedGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; ms: number; body: string }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Streams a response, counting bytes and lines without keeping it. */
function streamGet(
  url: string,
  headers: Record<string, string>,
): Promise<{ status: number; ms: number; bytes: number; lines: number }> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(url, { headers }, (res) => {
      let bytes = 0;
      let lines = 0;
      res.on('data', (c: Buffer) => {
        bytes += c.length;
        for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) lines++;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, bytes, lines }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function loadReadings(
  url: string,
  deviceId: string,
  readings: number,
  endMs: number,
  log: (s: string) => void,
) {
  const conn = await mariadb.createConnection({ ...parse(url), timezone: 'Z' });
  try {
    const start = endMs - readings * 1000;
    const t0 = Date.now();
    const per = 10_000;
    for (let from = 0; from < readings; from += per) {
      const n = Math.min(per, readings - from);
      const values: unknown[] = [];
      for (let i = 0; i < n; i++) {
        const seq = from + i + 1;
        values.push(
          deviceId,
          seq,
          'temperature',
          20 + 5 * Math.sin(seq / 3600),
          new Date(start + (seq - 1) * 1000),
          1,
        );
      }
      await conn.query(
        `INSERT INTO readings (device_id, seq, sensor, value, measured_at, batch_id) VALUES ${'(?,?,?,?,?,?),'.repeat(n).slice(0, -1)}`,
        values,
      );
    }
    for (const [table, unit] of [
      ['readings_1m', "DATE_FORMAT(measured_at, '%Y-%m-%d %H:%i:00')"],
      ['readings_1h', "DATE_FORMAT(measured_at, '%Y-%m-%d %H:00:00')"],
    ] as const) {
      await conn.query(
        `INSERT INTO ${table} (device_id, sensor, bucket, n, sum_value, min_value, max_value)` +
          ` SELECT device_id, sensor, ${unit}, COUNT(*), SUM(value), MIN(value), MAX(value) FROM readings` +
          ` WHERE device_id = ? GROUP BY device_id, sensor, ${unit}`,
        [deviceId],
      );
    }
    await conn.query(
      'INSERT INTO devices (id, online, first_seen, last_seen, last_seq) VALUES (?, 1, ?, ?, ?)',
      [deviceId, new Date(start), new Date(endMs), readings],
    );
    log(`  loaded ${fmt(readings)} readings and their rollups in ${fmt((Date.now() - t0) / 1000, 1)} s`);
  } finally {
    await conn.end();
  }
}

function parse(url: string) {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: Number(u.port),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: u.pathname.slice(1),
  };
}

export async function runWebadminBench(opts: WebadminBenchOptions = {}): Promise<Record<string, unknown>> {
  const quick = opts.quick ?? process.env.BENCH_QUICK === '1';
  const log = opts.log ?? ((l: string) => void process.stderr.write(`${l}\n`));
  const readings = Number(process.env.BENCH_WEBADMIN_READINGS ?? (quick ? 20_000 : 1_000_000));
  const devices = Number(process.env.BENCH_WEBADMIN_DEVICES ?? (quick ? 50 : 1000));
  const clients = Number(process.env.BENCH_WEBADMIN_CLIENTS ?? (quick ? 3 : 20));
  const liveSeconds = quick ? 5 : 20;
  const outFile =
    opts.outFile ??
    process.env.BENCH_WEBADMIN_OUT ??
    (quick
      ? path.join(os.tmpdir(), 'sensorfleet-bench-webadmin.quick.json')
      : path.join(REPO_ROOT, 'bench-results/webadmin.json'));
  const servers: ManagedServer[] = [];
  try {
    log(`\nweb admin benchmark${quick ? ' (BENCH_QUICK: tiny sizes, not a measurement)' : ''}`);
    const [db, broker] = await Promise.all([MariaDbServer.start(), MosquittoServer.start()]);
    servers.push(db, broker);
    const databaseUrl = await db.createDatabase();
    const httpPort = await freePort();
    const webadmin = await NodeService.start('backend/webadmin', {
      label: 'webadmin',
      env: {
        LOG_LEVEL: 'warn',
        DATABASE_URL: databaseUrl,
        MQTT_URL: broker.url,
        HTTP_PORT: String(httpPort),
        HTTP_HOST: '127.0.0.1',
      },
    });
    servers.push(webadmin);
    for (
      let i = 0;
      i < 240 && (await httpGet(webadmin.healthUrl).catch(() => ({ status: 0 }))).status !== 200;
      i++
    )
      await sleep(250);
    const cli = (args: string[]) =>
      execFileSync(process.execPath, [path.join(REPO_ROOT, 'backend/webadmin/dist/cli/user.js'), ...args], {
        env: { PATH: process.env.PATH, DATABASE_URL: databaseUrl },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      });
    cli(['add', 'bench', '--role', 'viewer', '--generate']);
    const token = cli(['token', 'bench']).trimEnd().split('\n').pop()!;
    const auth = { authorization: `Bearer ${token}` };
    const base = `http://127.0.0.1:${httpPort}`;

    // 1. history
    log(`history: ${fmt(readings)} readings at 1 Hz`);
    const end = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    await loadReadings(databaseUrl, 'bench-hist', readings, end, log);
    const from = new Date(end - 7 * 86_400_000).toISOString();
    const to = new Date(end).toISOString();
    const chartUrl = `${base}/api/devices/bench-hist/readings?sensor=temperature&from=${from}&to=${to}&maxPoints=1000`;
    await timedGet(chartUrl, auth); // warm the buffer pool as a real user's second look would
    const chart: number[] = [];
    let resolution = '';
    let points = 0;
    for (let i = 0; i < 5; i++) {
      const r = await timedGet(chartUrl, auth);
      chart.push(r.ms);
      const body = JSON.parse(r.body) as { resolution: string; points: unknown[] };
      resolution = body.resolution;
      points = body.points.length;
    }
    const conn = await mariadb.createConnection({ ...parse(databaseUrl), timezone: 'Z' });
    const raw: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      await conn.query(
        "SELECT DATE_FORMAT(measured_at, '%Y-%m-%d %H:00:00') AS bucket, AVG(value), MIN(value), MAX(value), COUNT(*)" +
          " FROM readings WHERE device_id = 'bench-hist' AND sensor = 'temperature' AND measured_at >= ? AND measured_at < ?" +
          ' GROUP BY bucket ORDER BY bucket',
        [new Date(from), new Date(to)],
      );
      raw.push(performance.now() - t0);
    }
    await conn.end();
    const history = {
      readings,
      range_days: 7,
      resolution,
      points,
      chart_request_ms_median: Number(median(chart).toFixed(1)),
      raw_group_by_ms_median: Number(median(raw).toFixed(1)),
      speedup: Number((median(raw) / median(chart)).toFixed(1)),
    };
    log(
      `  7-day chart ${fmt(history.chart_request_ms_median, 1)} ms (${resolution}, ${points} points) vs raw GROUP BY ${fmt(history.raw_group_by_ms_median, 1)} ms: ${fmt(history.speedup, 1)}×`,
    );

    // 2. CSV
    const csvSampler = new ProcSampler({ webadmin: webadmin.pid }, 100);
    csvSampler.start();
    const csv = await streamGet(
      `${base}/api/devices/bench-hist/readings.csv?from=1970-01-01T00:00:00Z&to=${to}`,
      auth,
    );
    const csvUsage = csvSampler.stop();
    const csvResult = {
      status: csv.status,
      rows: csv.lines - 1,
      bytes: csv.bytes,
      seconds: Number((csv.ms / 1000).toFixed(2)),
      rows_per_s: Math.round((csv.lines - 1) / (csv.ms / 1000)),
      webadmin_peak_rss_mb: Number(csvUsage.webadmin!.peakRssMb.toFixed(1)),
      webadmin_cpu_s: Number(csvUsage.webadmin!.cpuSeconds.toFixed(2)),
    };
    log(
      `csv: ${fmt(csvResult.rows)} rows in ${fmt(csvResult.seconds, 1)} s = ${fmt(csvResult.rows_per_s)} rows/s, web admin peak RSS ${fmt(csvResult.webadmin_peak_rss_mb)} MB`,
    );

    // 3. live fan-out
    log(
      `live: ${devices} devices at 1 Hz, ${clients} WebSocket clients on the whole fleet, ${liveSeconds} s`,
    );
    const latencies: number[] = [];
    let measuring = false;
    const sockets: WebSocket[] = [];
    for (let i = 0; i < clients; i++) {
      const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/ws`, { headers: auth });
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.on('message', (data: Buffer) => {
        if (!measuring) return;
        const now = Date.now();
        const m = JSON.parse(data.toString('utf8')) as { type: string; ts?: string };
        if (m.type === 'reading' && m.ts) latencies.push(now - Date.parse(m.ts));
      });
      ws.send(JSON.stringify({ subscribe: '*' }));
      sockets.push(ws);
    }
    const pub = await mqtt.connectAsync(broker.url, { clientId: 'bench-fleet' });
    let seq = 0;
    const ids = Array.from({ length: devices }, (_, i) => `fleet-${String(i).padStart(4, '0')}`);
    // Each device on its own phase within the second, as real devices are.
    const tick = 50;
    const perTick = Math.ceil(devices / (1000 / tick));
    let cursor = 0;
    const timer = setInterval(() => {
      seq += 1;
      for (let k = 0; k < perTick; k++) {
        const id = ids[cursor]!;
        cursor = (cursor + 1) % ids.length;
        const reading = { seq, ts: new Date().toISOString(), values: { temperature: 21.5, humidity: 40.2 } };
        pub.publish(`devices/${id}/telemetry`, JSON.stringify({ v: 1, readings: [reading] }), { qos: 0 });
      }
    }, tick);
    await sleep(3000);
    const liveSampler = new ProcSampler({ webadmin: webadmin.pid }, 200);
    measuring = true;
    liveSampler.start();
    await sleep(liveSeconds * 1000);
    measuring = false;
    const liveUsage = liveSampler.stop();
    clearInterval(timer);
    await pub.endAsync();
    for (const s of sockets) s.close();
    const live = {
      devices,
      clients,
      seconds: liveSeconds,
      messages_received: latencies.length,
      latency_p50_ms: Number(percentile(latencies, 50).toFixed(1)),
      latency_p99_ms: Number(percentile(latencies, 99).toFixed(1)),
      latency_max_ms: latencies.reduce((m, x) => Math.max(m, x), 0),
      webadmin_cpu_percent: Number(((100 * liveUsage.webadmin!.cpuSeconds) / liveSeconds).toFixed(1)),
      webadmin_peak_rss_mb: Number(liveUsage.webadmin!.peakRssMb.toFixed(1)),
    };
    log(
      `  measured → client p50 ${fmt(live.latency_p50_ms)} ms, p99 ${fmt(live.latency_p99_ms)} ms; web admin CPU ${fmt(live.webadmin_cpu_percent)} % of a core, peak RSS ${fmt(live.webadmin_peak_rss_mb)} MB`,
    );

    const result = {
      history,
      csv: csvResult,
      live,
      targets: {
        history_chart_ms_max: 100,
        history_speedup_min: 20,
        csv_rss_mb_max: 150,
        live_p99_ms_max: 250,
      },
      machine: {
        ...machineBasics(),
        quick,
      },
      date: new Date().toISOString(),
    };
    process.stdout.write(
      `\nWeb admin, ${result.date}\n` +
        `history (7 d of 1 Hz, maxPoints 1000): chart ${history.chart_request_ms_median} ms via ${resolution} rollups vs raw GROUP BY ${history.raw_group_by_ms_median} ms = ${history.speedup}× (targets ≤ 100 ms, ≥ 20×)\n` +
        `CSV export: ${fmt(csvResult.rows)} rows, ${fmt(csvResult.rows_per_s)} rows/s, web admin peak RSS ${csvResult.webadmin_peak_rss_mb} MB (target ≤ 150 MB)\n` +
        `live fan-out: ${devices} devices × 1 Hz → ${clients} clients: p50 ${live.latency_p50_ms} ms, p99 ${live.latency_p99_ms} ms (target ≤ 250 ms), web admin CPU ${live.webadmin_cpu_percent} %, RSS ${live.webadmin_peak_rss_mb} MB\n`,
    );
    writeBenchJson(outFile, result);
    log(`wrote ${outFile}`);
    return result;
  } finally {
    for (const s of [...servers].reverse()) await s.stop().catch(() => undefined);
  }
}
