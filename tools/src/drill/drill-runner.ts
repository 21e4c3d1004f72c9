import type { Drill, DrillResult, DrillScale } from './drill.js';
import { DrillSystem, type DrillSystemOptions } from './drill-system.js';
import { brokerDown } from './drills/01-broker-down.js';
import { receiverKill } from './drills/02-receiver-kill.js';
import { mariadbDown } from './drills/03-mariadb-down.js';
import { mqtthandlerKill } from './drills/04-mqtthandler-kill.js';
import { redisKillAlways, redisKillEverysec } from './drills/05-device-redis-kill.js';
import { networkPartition } from './drills/06-network-partition.js';
import { deviceReboot } from './drills/07-device-reboot.js';
import { receiverLost } from './drills/08-receiver-lost.js';
import { outboxCap } from './drills/09-outbox-cap.js';
import { clockJump } from './drills/10-clock-jump.js';
import { webadminKill } from './drills/11-webadmin-kill.js';

/** Every drill in the order. Drill 8 leaves a replica to restart, so it runs late. */
export const DRILLS: readonly Drill<DrillSystem>[] = [
  brokerDown,
  receiverKill,
  mariadbDown,
  mqtthandlerKill,
  redisKillAlways,
  redisKillEverysec,
  networkPartition,
  deviceReboot,
  receiverLost,
  outboxCap,
  clockJump,
  webadminKill,
];

export function drillScale(quick: boolean): DrillScale {
  return quick
    ? { outageMs: 4000, partitionMs: 15_000, quick: true }
    : { outageMs: 60_000, partitionMs: 300_000, quick: false };
}

/**
 * Starts the system, runs the drills one after another on it (a drill that throws becomes a failed row,
 * the others still run), and stops it. `onSystem` gets the system once started (for Ctrl-C handling).
 */
export async function runDrills(
  drills: readonly Drill<DrillSystem>[],
  scale: DrillScale,
  options: DrillSystemOptions & {
    onSystem?: (s: DrillSystem) => void;
    /** Every row so far, after each drill (a long run leaves its partial table if it is cut short). */
    onRow?: (rows: readonly DrillResult[]) => void;
  },
  log: (line: string) => void,
): Promise<DrillResult[]> {
  log(`starting the system (${options.devices ?? 4} devices)…`);
  const system = await DrillSystem.start({
    networkNamespace: drills.some((d) => d.networkNamespace),
    ...options,
  });
  options.onSystem?.(system);
  log(`system up in ${system.dir}`);
  try {
    return await runDrillSet(system, drills, scale, log, options.onRow);
  } finally {
    await system.stop();
  }
}

/**
 * Runs drills one after another on a started system (any drill system: this machine's or the cluster's);
 * a drill that throws becomes a failed row, the others still run. The caller stops the system.
 */
export async function runDrillSet<System extends { waitForDrain(sinceMs: number): Promise<number> }>(
  system: System,
  drills: readonly Drill<System>[],
  scale: DrillScale,
  log: (line: string) => void,
  /** Every row so far, after each drill (a long run leaves its partial table if it is cut short). */
  onRow?: (rows: readonly DrillResult[]) => void,
): Promise<DrillResult[]> {
  const rows: DrillResult[] = [];
  // Every device has streamed for a moment and its first readings are stored before the first fault.
  await system.waitForDrain(Date.now());
  for (const drill of drills) {
    log(`drill ${drill.id}: ${drill.name}`);
    const started = Date.now();
    try {
      rows.push(await drill.run(system, scale, log));
    } catch (err) {
      rows.push({
        id: drill.id,
        name: drill.name,
        produced: 0,
        stored: 0,
        lost: 0,
        duplicated: 0,
        countedLoss: 0,
        recoveryMs: null,
        maxLiveLatencyMs: null,
        passed: false,
        notes: [`the drill failed to run: ${(err as Error).stack ?? String(err)}`],
      });
    }
    const row = rows.at(-1)!;
    log(
      `drill ${drill.id}: ${row.passed ? (row.knownLimit ? 'passed* (known limit)' : 'passed') : 'FAILED'} in ${Math.round((Date.now() - started) / 1000)} s` +
        ` (produced ${row.produced}, lost ${row.lost}, counted ${row.countedLoss}, dup ${row.duplicated})` +
        (row.passed ? '' : `\n    ${row.notes.join('\n    ')}`),
    );
    onRow?.(rows);
  }
  return rows;
}
