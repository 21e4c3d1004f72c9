import { sleep, waitFor } from '../harness/index.js';
import type { DrillResult, DrillScale } from './drill.js';
import type { ClusterSystem } from './cluster-system.js';
import { verdict } from './drill-verdict.js';

export interface ClusterFaultSpec {
  id: string;
  name: string;
  /**
   * Finds the part to kill (queue leader, a device's node …) before the clock starts: the lookups are
   * `rabbitmqctl` runs that take seconds on a loaded machine, and counted from the kill they made c2's
   * recovery look like 35 s when the device was back in about one.
   */
  choose?: () => Promise<void>;
  /** Kills the part (kill -9); resolves once it is dead. */
  kill: () => Promise<void>;
  /**
   * The failover the drill is about, measured from the kill while readings stream: leader re-election,
   * Galera eviction, …; resolves a note with the time. Runs alongside the wait for the readings.
   */
  failover?: (killedAt: number) => Promise<string>;
  /** Brings the part back after the drain (it rejoins its cluster). */
  restart: () => Promise<void>;
}

/** A reading measured after `killedAt` stored for every device: how long the sources were cut off. */
async function flowingAgain(system: ClusterSystem, killedAt: number): Promise<number> {
  const after = new Map<string, number>();
  for (const d of system.devices) after.set(d.id, (await d.counters()).lastSeq + 10);
  await waitFor(
    'a reading measured after the kill stored for every device',
    300_000,
    async () => {
      for (const [id, seq] of after) if ((await system.maxStoredSeq(id)) < seq) return `${id} not yet`;
      return true;
    },
    100,
  );
  return Date.now() - killedAt;
}

/**
 * The shape of the cluster drills: open the window while readings stream, kill -9 one part, and keep it
 * dead while the rest of the cluster carries the load: the failover time, the time until every device's
 * readings are stored again, and the time until every backlog is empty (the row's recovery time, from
 * the kill) are measured with the part still down. Then the part restarts and rejoins, and the audit
 * covers the whole window: every seq stored exactly once.
 */
export async function runClusterFault(
  system: ClusterSystem,
  spec: ClusterFaultSpec,
  scale: DrillScale,
  log: (line: string) => void,
): Promise<DrillResult> {
  const window = await system.openWindow();
  await sleep(2000);
  await spec.choose?.();
  log(`  kill -9: ${spec.name}`);
  const killedAt = Date.now();
  await spec.kill();
  const failover = spec.failover?.(killedAt).catch((err: Error) => `failover not seen: ${err.message}`);
  const flowMs = await flowingAgain(system, killedAt);
  const recoveryMs = await system.waitForDrain(killedAt);
  const notes = [
    ...(failover ? [await failover] : []),
    `every device's readings stored again ${flowMs} ms after the kill`,
    `every backlog empty ${recoveryMs} ms after the kill (the part still down)`,
  ];
  log(`  ${notes.join('; ')}`);
  // The rest of the outage: the cluster runs one part short.
  const downFor = scale.outageMs - (Date.now() - killedAt);
  if (downFor > 0) await sleep(downFor);
  log('  restarting the killed part');
  const restartAt = Date.now();
  await spec.restart();
  notes.push(`restarted and rejoined in ${Date.now() - restartAt} ms`);
  await system.waitForDrain(Date.now());
  await sleep(1000);
  await system.closeWindow(window);
  const audits = await system.audit(window);
  for (const a of audits.filter((x) => x.source.endsWith('(004)')))
    notes.push(`${a.source}: ${a.stored} of ${a.produced} PUBACKed messages stored`);
  const maxLiveLatencyMs = await system.maxLiveLatencyMs(killedAt, killedAt + recoveryMs);
  return verdict({
    id: spec.id,
    name: spec.name,
    audits,
    recoveryMs,
    maxLiveLatencyMs,
    notes,
  });
}

/** Polls `probe` every 200 ms until it returns true; resolves the ms since `fromMs`. */
export async function timeUntil(
  what: string,
  fromMs: number,
  probe: () => Promise<boolean>,
  timeoutMs = 300_000,
): Promise<number> {
  await waitFor(what, timeoutMs, () => probe().catch(() => false), 200);
  return Date.now() - fromMs;
}
