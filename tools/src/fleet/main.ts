import { existsSync, readFileSync } from 'node:fs';
import { createLogger, createMetricsRegistry, Gauge, HealthEndpoint, type Logger } from '@sensorfleet/shared';
import { RedisServer } from '../harness/redis.js';
import { CredentialsError, parseCredentials } from './credentials.js';
import { FLEET_USAGE, FleetUsageError, parseFleetArgs, type FleetArgs } from './fleet-args.js';
import { FleetStatusPrinter } from './fleet-status.js';
import { SimulatedFleet, type FleetDevice, type FleetStats } from './simulated-fleet.js';

/** `npm run fleet -- …`: simulated devices against any broker (usage in fleet-args.ts). */

function fail(message: string, code: number): never {
  process.stderr.write(`fleet: ${message}\n`);
  process.exit(code);
}

function devicesOf(args: FleetArgs): FleetDevice[] {
  if (args.credentials === undefined) {
    const n = args.devices ?? 10;
    const width = Math.max(4, String(n).length);
    return Array.from({ length: n }, (_, i) => ({
      id: `${args.prefix}${String(i + 1).padStart(width, '0')}`,
    }));
  }
  let text: string;
  try {
    text = readFileSync(args.credentials, 'utf8');
  } catch (err) {
    throw new FleetUsageError(`--credentials ${args.credentials}: ${(err as Error).message}`);
  }
  let all: FleetDevice[];
  try {
    all = parseCredentials(text, args.credentials);
  } catch (err) {
    if (err instanceof CredentialsError)
      throw new FleetUsageError(`--credentials ${args.credentials}: ${err.message}`);
    throw err;
  }
  if (args.devices !== undefined && args.devices > all.length) {
    throw new FleetUsageError(
      `--devices ${args.devices} is more than the ${all.length} account(s) in --credentials ${args.credentials}`,
    );
  }
  return all.slice(0, args.devices ?? all.length);
}

function metricsEndpoint(port: number, fleet: SimulatedFleet, log: Logger): HealthEndpoint {
  const registry = createMetricsRegistry('fleet');
  let latest: FleetStats | undefined;
  const gauge = (name: keyof FleetStats, help: string) =>
    new Gauge({
      name: `sensorfleet_fleet_${name}`,
      help,
      registers: [registry],
      collect() {
        if (latest) this.set(latest[name]);
      },
    });
  gauge('devices', 'simulated devices');
  gauge('connected', 'simulated devices connected to the broker');
  gauge('measured', 'readings appended to the outboxes since start');
  gauge('sent', 'readings published since start (resends included)');
  gauge('acked', 'readings acknowledged by the backend since start');
  gauge('backlog', 'readings in the outboxes, not yet acknowledged');
  const refresh = setInterval(
    () =>
      void fleet.stats().then(
        (s) => (latest = s),
        () => {},
      ),
    1000,
  );
  refresh.unref();
  return new HealthEndpoint({
    port,
    host: '127.0.0.1',
    registry,
    log,
    health: () => ({
      ok: true,
      checks: { fleet: { ok: true, detail: latest ?? { starting: true } } },
    }),
  });
}

let args: FleetArgs;
let devices: FleetDevice[];
try {
  args = parseFleetArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(FLEET_USAGE);
    process.exit(0);
  }
  if (args.ca !== undefined && !existsSync(args.ca))
    throw new FleetUsageError(`--ca ${args.ca}: no such file`);
  devices = devicesOf(args);
} catch (err) {
  if (err instanceof FleetUsageError) fail(`${err.message}\n\n${FLEET_USAGE}`, 2);
  throw err;
}

const log = createLogger('fleet', process.env.LOG_LEVEL ?? 'warn', { stderr: true });
let redisServer: RedisServer | undefined;
if (!args.redis) {
  // The device's own Redis config (AOF), in a temp dir: the outboxes survive a restart of Redis, not of us.
  redisServer = await RedisServer.start();
}
const fleet = new SimulatedFleet({
  devices,
  url: args.url,
  caFile: args.ca,
  redisUrl: args.redis ?? redisServer!.url,
  intervalMs: Math.round(1000 / args.rate),
  batchMaxWaitMs: args.batchWaitMs,
  log,
});
const endpoint = args.metricsPort ? metricsEndpoint(args.metricsPort, fleet, log) : undefined;
const printer = new FleetStatusPrinter(() => fleet.stats(), process.stdout);

let stopping = false;
async function stop(code: number): Promise<never> {
  if (stopping) process.exit(code);
  stopping = true;
  await printer.stop();
  await endpoint?.stop().catch(() => {});
  await fleet.stop().catch(() => {});
  await redisServer?.destroy().catch(() => {});
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

try {
  await endpoint?.start();
  process.stdout.write(
    `fleet: ${devices.length} device(s) → ${args.url}, one reading every ${Math.round(1000 / args.rate)} ms each, ` +
      `outboxes in ${args.redis ?? redisServer!.url}${endpoint ? `, metrics on http://127.0.0.1:${endpoint.port}/metrics` : ''}\n`,
  );
  printer.start();
  await fleet.start();
} catch (err) {
  process.stderr.write(`fleet: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  await stop(1);
}
