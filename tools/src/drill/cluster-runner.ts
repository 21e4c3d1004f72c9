import type { Drill, DrillResult, DrillScale } from './drill.js';
import { ClusterSystem, type ClusterSystemOptions } from './cluster-system.js';
import { runDrillSet } from './drill-runner.js';
import { queueLeaderKill } from './drills/c1-queue-leader-kill.js';
import { deviceNodeKill } from './drills/c2-device-node-kill.js';
import { galeraNodeKill } from './drills/c3-galera-node-kill.js';
import { clusterReceiverKill } from './drills/c4-receiver-kill.js';
import { compat004NodeKill } from './drills/c5-compat004-node-kill.js';

/** The scale-out cluster's drills (ids `c1`…), run on one ClusterSystem after the single-machine set. */
export const CLUSTER_DRILLS: readonly Drill<ClusterSystem>[] = [
  queueLeaderKill,
  deviceNodeKill,
  galeraNodeKill,
  clusterReceiverKill,
  compat004NodeKill,
];

/** Starts the cluster system, runs the drills on it, stops it (as runDrills does for this machine's). */
export async function runClusterDrills(
  drills: readonly Drill<ClusterSystem>[],
  scale: DrillScale,
  options: ClusterSystemOptions & { onSystem?: (s: ClusterSystem) => void },
  log: (line: string) => void,
): Promise<DrillResult[]> {
  log(`starting the cluster system (${options.devices ?? 10} devices)…`);
  const system = await ClusterSystem.start({ log, ...options });
  options.onSystem?.(system);
  log(`cluster system up in ${system.dir}`);
  try {
    return await runDrillSet(system, drills, scale, log);
  } finally {
    await system.stop();
  }
}
