import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createLogger } from '@sensorfleet/shared';
import type { LiveHub } from '@sensorfleet/webadmin/live/live-hub';
import { WebSocketServer } from 'ws';
import { REPO_ROOT } from '../harness/index.js';
import { fmt, percentile } from './stats.js';
import { machineBasics, writeBenchJson } from './bench-output.js';

/**
 * The live fan-out bench: CPU-seconds the web admin's LiveHub and its WebSockets spend per telemetry
 * message, with real `ws` clients (in a process of their own) and nothing else in the measured process:
 * no broker, no database. Payloads are built before each round, so only the hub's work and the sockets'
 * writes are timed (process.cpuUsage of this process over the round).
 *
 * Scenarios (each at `devices` messages/s of one reading, the fleet at 1 Hz, plus):
 * - `live`: nothing else;
 * - `replay`: `replayDevices` of the fleet also replay a backlog measured a day before their live
 *   readings, `batchesPerS` batches of `batchReadings` each (a device back from an outage);
 * - `drain`: `replayDevices` devices with no live readings replay their backlog oldest first (what
 *   the system bench's backlog devices do): every batch is newer than the last.
 *
 * A/B: `BENCH_LIVE_HUBS=name=path/to/live-hub.js,…` (default: the built web admin's) runs each
 * scenario once per hub and round, alternating (A, B, A, B), in one process.
 */
export interface LiveFanoutOptions {
  devices: number;
  clients: number;
  seconds: number;
  rounds: number;
  replayDevices: number;
  batchesPerS: number;
  batchReadings: number;
  hubs: { name: string; file: string }[];
  scenarios: Scenario[];
  tickMs: number;
  outFile?: string | undefined;
  log: (line: string) => void;
}

type Scenario = 'live' | 'replay' | 'drain';
type HubClass = new (opts: ConstructorParameters<typeof LiveHub>[0]) => LiveHub;

interface Feed {
  /** Seconds after the round's start. */
  at: number;
  deviceId: string;
  payload: Buffer;
  readings: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const DAY_MS = 86_400_000;

function payload(seqFrom: number, count: number, tsMs: (i: number) => number): Buffer {
  const readings = Array.from({ length: count }, (_, i) => ({
    seq: seqFrom + i,
    ts: new Date(tsMs(i)).toISOString(),
    values: { temperature: 20 + ((seqFrom + i) % 50) / 10, humidity: 40 + (i % 20), pressure: 1013.2 },
  }));
  return Buffer.from(JSON.stringify({ v: 1, readings }));
}

/** The messages of one round, in the order they are due; `t0` is the measured time of the first. */
function buildFeed(o: LiveFanoutOptions, scenario: Scenario, seconds: number, t0: number): Feed[] {
  const feed: Feed[] = [];
  for (let s = 0; s < seconds; s++) {
    for (let d = 0; d < o.devices; d++) {
      const at = s + d / o.devices;
      feed.push({ at, deviceId: `dev-${d}`, payload: payload(s + 1, 1, () => t0 + at * 1000), readings: 1 });
    }
  }
  if (scenario !== 'live') {
    const interval = 1 / o.batchesPerS;
    for (let r = 0; r < o.replayDevices; r++) {
      const deviceId = scenario === 'replay' ? `dev-${r}` : `backlog-${r}`;
      const start = t0 - DAY_MS;
      const built: Buffer[] = [];
      for (let k = 0; k < seconds * o.batchesPerS; k++) {
        const from = k * o.batchReadings + 1;
        // A backlog behind live readings: a few old batches over again will do (none can be shown).
        const body =
          scenario === 'replay' && k >= 4
            ? built[k % 4]!
            : payload(from, o.batchReadings, (i) => start + (from + i) * 1000);
        built.push(body);
        const at = k * interval + r / (o.replayDevices * o.batchesPerS);
        feed.push({ at, deviceId, payload: body, readings: o.batchReadings });
      }
    }
  }
  return feed.sort((a, b) => a.at - b.at);
}

async function startClients(url: string, clients: number): Promise<ChildProcess> {
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'live-fanout-clients.js');
  const child = fork(script, [url, String(clients)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`clients exited with ${code}`)));
  });
  return child;
}

function countFrames(child: ChildProcess): Promise<{ frames: number; textFrames: number; readings: number }> {
  return new Promise((resolve) => {
    child.once('message', (m) => resolve(m as { frames: number; textFrames: number; readings: number }));
    child.send({ cmd: 'count' });
  });
}

/** Serves `/ws` as the web admin's route does for the hub: the socket and its TCP socket. */
function serve(hub: LiveHub): Promise<Server> {
  const server = createServer();
  const wss = new WebSocketServer({ server, maxPayload: 64 * 1024 });
  wss.on('connection', (ws, req) => {
    const client = hub.add(ws, req.socket);
    ws.on('message', () => hub.subscribe(client, '*'));
    ws.on('close', () => hub.remove(client));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Feeds `feed` in real time (the hub's ticks are real time), catching up when the loop ran late. */
async function play(hub: LiveHub, feed: Feed[]): Promise<void> {
  const start = performance.now();
  let next = 0;
  while (next < feed.length) {
    const elapsed = (performance.now() - start) / 1000;
    while (next < feed.length && feed[next]!.at <= elapsed) {
      const f = feed[next++]!;
      hub.telemetry(f.deviceId, f.payload);
    }
    await sleep(2);
  }
}

interface RoundResult {
  scenario: Scenario;
  hub: string;
  round: number;
  messages: number;
  readings: number;
  cpu_ms: number;
  /** Of cpu_ms, in the kernel (on loopback a socket write also runs the receiving side's TCP). */
  cpu_system_ms: number;
  cpu_ms_per_1000_messages: number;
  cpu_percent: number;
  reading_frames_per_client: number;
  text_frames: boolean;
}

async function runRound(
  o: LiveFanoutOptions,
  Hub: HubClass,
  hubName: string,
  scenario: Scenario,
  round: number,
): Promise<RoundResult> {
  const hub = new Hub({ tickMs: o.tickMs, maxBufferBytes: 512 * 1024, log: createLogger('bench', 'silent') });
  await hub.start();
  const server = await serve(hub);
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`;
  const clients = await startClients(url, o.clients);
  try {
    while (hub.clientCount < o.clients) await sleep(10);
    await sleep(200);
    const t0 = Date.now();
    // One unmeasured second first (JIT, socket buffers), then the measured ones, all in one time line.
    const feed = buildFeed(o, scenario, o.seconds + 1, t0);
    const warm = feed.filter((f) => f.at < 1);
    const measured = feed.filter((f) => f.at >= 1).map((f) => ({ ...f, at: f.at - 1 }));
    await play(hub, warm);
    await sleep(300);
    const before = await countFrames(clients);
    const cpu0 = process.cpuUsage();
    const wall0 = performance.now();
    await play(hub, measured);
    await sleep(2 * o.tickMs);
    const cpu = process.cpuUsage(cpu0);
    const wallMs = performance.now() - wall0;
    const after = await countFrames(clients);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    const readings = measured.reduce((n, f) => n + f.readings, 0);
    return {
      scenario,
      hub: hubName,
      round,
      messages: measured.length,
      readings,
      cpu_ms: Math.round(cpuMs),
      cpu_system_ms: Math.round(cpu.system / 1000),
      cpu_ms_per_1000_messages: Number(((cpuMs / measured.length) * 1000).toFixed(2)),
      cpu_percent: Number(((cpuMs / wallMs) * 100).toFixed(1)),
      reading_frames_per_client: Math.round((after.readings - before.readings) / o.clients),
      text_frames: after.textFrames === after.frames,
    };
  } finally {
    clients.send({ cmd: 'stop' });
    await hub.stop();
    await new Promise((r) => server.close(r));
  }
}

export async function runLiveFanoutBench(o: LiveFanoutOptions): Promise<RoundResult[]> {
  const hubs: { name: string; Hub: HubClass }[] = [];
  for (const h of o.hubs) {
    const mod = (await import(pathToFileURL(h.file).href)) as { LiveHub: HubClass };
    hubs.push({ name: h.name, Hub: mod.LiveHub });
  }
  o.log(
    `live fan-out: ${fmt(o.devices)} msg/s (1 reading each), ${o.clients} ws clients on '*', ` +
      `${o.replayDevices} replaying ${o.batchesPerS} × ${o.batchReadings} readings/s (replay, drain), ` +
      `${o.seconds} s × ${o.rounds} rounds per hub (${hubs.map((h) => h.name).join(', ')})`,
  );
  const results: RoundResult[] = [];
  for (const scenario of o.scenarios) {
    for (let round = 1; round <= o.rounds; round++) {
      for (const h of hubs) {
        const r = await runRound(o, h.Hub, h.name, scenario, round);
        results.push(r);
        o.log(
          `  ${scenario.padEnd(6)} ${h.name.padEnd(10)} round ${round}: ${fmt(r.cpu_ms_per_1000_messages, 1)} CPU-ms ` +
            `per 1,000 messages (${fmt(r.cpu_percent, 1)} % of a core, ` +
            `${fmt((100 * r.cpu_system_ms) / r.cpu_ms, 0)} % system), ${fmt(r.reading_frames_per_client)} ` +
            `readings per client${r.text_frames ? '' : ', NOT ALL TEXT FRAMES'}`,
        );
      }
    }
  }
  o.log('\nmedian CPU-ms per 1,000 messages');
  for (const scenario of o.scenarios) {
    const line = hubs.map((h) => {
      const xs = results.filter((r) => r.scenario === scenario && r.hub === h.name);
      return `${h.name} ${fmt(
        percentile(
          xs.map((r) => r.cpu_ms_per_1000_messages),
          50,
        ),
        1,
      )}`;
    });
    o.log(`  ${scenario.padEnd(6)} ${line.join('   ')}`);
  }
  if (o.outFile)
    writeBenchJson(o.outFile, { machine: machineBasics(), options: { ...o, log: undefined }, results });
  return results;
}

export function liveFanoutOptionsFromEnv(env = process.env): LiveFanoutOptions {
  const num = (name: string, dflt: number) => Number(env[name] ?? dflt);
  const hubs = (
    env.BENCH_LIVE_HUBS ?? `current=${path.join(REPO_ROOT, 'backend/webadmin/dist/live/live-hub.js')}`
  )
    .split(',')
    .map((spec) => {
      const eq = spec.indexOf('=');
      return { name: spec.slice(0, eq), file: path.resolve(spec.slice(eq + 1)) };
    });
  return {
    devices: num('BENCH_LIVE_DEVICES', 1000),
    clients: num('BENCH_LIVE_CLIENTS', 20),
    seconds: num('BENCH_LIVE_SECONDS', 8),
    rounds: num('BENCH_LIVE_ROUNDS', 2),
    replayDevices: num('BENCH_LIVE_REPLAY_DEVICES', 10),
    batchesPerS: num('BENCH_LIVE_BATCHES_PER_S', 10),
    batchReadings: num('BENCH_LIVE_BATCH_READINGS', 100),
    tickMs: num('BENCH_LIVE_TICK', 100),
    scenarios: (env.BENCH_LIVE_SCENARIOS ?? 'live,replay,drain').split(',') as Scenario[],
    hubs,
    outFile: env.BENCH_LIVE_OUT,
    log: (l) => void process.stderr.write(`${l}\n`),
  };
}
