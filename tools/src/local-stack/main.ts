import path from 'node:path';
import { REPO_ROOT } from '../harness/index.js';
import { startLocalStack, type LocalStack } from './local-stack.js';

/**
 * `npm start`: the whole system on this machine (local-stack.ts), data under .data/ (SENSORFLEET_DATA_DIR).
 * FLEET_SIZE simulated devices (default 10; SIM_DEVICES is the old name), SENSOR_INTERVAL_MS, LOG_LEVEL.
 * Ctrl-C stops everything in reverse order.
 */
const say = (msg: string) => process.stdout.write(`${msg}\n`);

function fleetSize(): number {
  const raw = process.env.FLEET_SIZE ?? process.env.SIM_DEVICES;
  if (process.env.FLEET_SIZE === undefined && process.env.SIM_DEVICES !== undefined) {
    say('SIM_DEVICES is deprecated: use FLEET_SIZE (simulated devices of the fleet process).');
  }
  if (raw === undefined) return 10;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 10_000) {
    process.stderr.write(`FLEET_SIZE must be an integer from 0 to 10000 (got ${raw})\n`);
    process.exit(2);
  }
  return n;
}

function intervalMs(): number {
  const raw = process.env.SENSOR_INTERVAL_MS;
  if (raw === undefined) return 1000;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 100 || n > 3_600_000) {
    process.stderr.write(`SENSOR_INTERVAL_MS must be an integer from 100 to 3600000 (got ${raw})\n`);
    process.exit(2);
  }
  return n;
}

const dataDir = path.resolve(process.env.SENSORFLEET_DATA_DIR ?? path.join(REPO_ROOT, '.data'));
let stack: LocalStack | undefined;
let starting = true;
let stopping = false;
async function stopAll(code: number): Promise<void> {
  if (stopping) process.exit(code);
  stopping = true;
  // During startup the stack is not ours to stop yet: it is stopped as soon as startLocalStack returns.
  if (starting) return;
  say('\nstopping…');
  await stack?.stop().catch(() => {});
  say('stopped. Data is kept in ' + dataDir);
  process.exit(code);
}
process.on('SIGINT', () => void stopAll(0));
process.on('SIGTERM', () => void stopAll(0));

try {
  stack = await startLocalStack({
    dataDir,
    fleetSize: fleetSize(),
    intervalMs: intervalMs(),
    logLevel: process.env.LOG_LEVEL ?? 'info',
    out: say,
  });
  starting = false;
  if (stopping) {
    stopping = false;
    await stopAll(0);
  }
  // Keep running until a signal arrives.
  setInterval(() => {}, 1 << 30);
} catch (err) {
  starting = false;
  stopping = false;
  process.stderr.write(`local stack failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  await stopAll(1);
}
