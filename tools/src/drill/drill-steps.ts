import { sleep } from '../harness/index.js';
import type { DrillResult, DrillScale } from './drill.js';
import type { DrillTarget, DrillWindow } from './drill-audit.js';
import { verdict, type SourceAudit } from './drill-verdict.js';

export interface FaultSpec {
  id: string;
  name: string;
  /** Devices audited (default all). */
  deviceIds?: string[];
  /** Audit the source-004 publisher too (default true). */
  with004?: boolean;
  /** The audited devices are new: the window starts at seq 0 (nothing before it to mix up). */
  fromZero?: boolean;
  /** Counted loss accepted. */
  allowedLoss?: number;
  /** Readings streaming before the fault (default 2 s). */
  leadMs?: number;
  /** Breaks the thing. */
  fault: () => Promise<void>;
  /** How long it stays broken. */
  faultMs: number;
  /** Ends the fault; resolves when the broken part is back. */
  heal: () => Promise<void>;
  /**
   * Recovery time and live latency counted from the fault, not from its end: for a fault that is never
   * healed (a replica lost for good), where `faultMs` is only how long its effects are known to last.
   */
  recoveryFromFault?: boolean;
  /**
   * Replaces the seq-based audit (system.audit), e.g. where a power cut makes the device reuse seqs so
   * that seqs no longer count readings (drill 5).
   */
  audit?: (window: DrillWindow) => Promise<SourceAudit[]>;
  /** The drill's own checks, after the audit. */
  checks?: (window: DrillWindow) => Promise<{ ok: boolean; note: string }[]>;
  /**
   * The fault restarts the broker: Mosquitto 2.0.11 does not restore shared subscriptions from its
   * persistence file, so source-004 messages published between the broker's start and the receivers'
   * resubscribe have no subscriber and are dropped (README "Known limits"). They stay in the row (`lost`,
   * `004 lost`) and make it `pass*`; every other source must still be complete.
   */
  brokerRestart?: boolean;
  notes?: string[];
  /**
   * Replaces the largest measured → committed latency of readings measured during the recovery (e.g.
   * when the device's clock is wrong, so measured_at is); gets the fault end and the recovery time.
   */
  liveLatency?: (faultEnd: number, recoveryMs: number) => Promise<number | null>;
}

/**
 * The shape of most drills: open the window while readings stream, break one thing, keep it broken,
 * end the fault, wait until the backlog is gone (recovery time), then audit MariaDB against what the
 * sources produced, and measure how live readings fared during the recovery.
 */
export async function runFault(
  system: DrillTarget,
  spec: FaultSpec,
  log: (line: string) => void,
): Promise<DrillResult> {
  const window = await system.openWindow({
    ...(spec.deviceIds ? { deviceIds: spec.deviceIds } : {}),
    ...(spec.with004 !== undefined ? { with004: spec.with004 } : {}),
  });
  if (spec.fromZero)
    for (const id of window.deviceIds)
      window.start.counters.set(id, {
        ...window.start.counters.get(id)!,
        lastSeq: 0,
        dropped: 0,
        redisLostAppends: 0,
      });
  await sleep(spec.leadMs ?? 2000);
  log(`  fault: ${spec.name}`);
  const faultStart = Date.now();
  await spec.fault();
  await sleep(spec.faultMs);
  log('  ending the fault');
  await spec.heal();
  const faultEnd = Date.now();
  const since = spec.recoveryFromFault ? faultStart : faultEnd;
  const recoveryMs = await system.waitForDrain(since);
  log(`  backlog empty ${recoveryMs} ms after the fault${spec.recoveryFromFault ? '' : ' ended'}`);
  await sleep(1000);
  await system.closeWindow(window);
  const audits = spec.audit ? await spec.audit(window) : await system.audit(window);
  const notes = [...(spec.notes ?? [])];
  const maxLiveLatencyMs = spec.liveLatency
    ? await spec.liveLatency(since, recoveryMs)
    : await system.maxLiveLatencyMs(since, since + recoveryMs);
  const checks = spec.checks ? await spec.checks(window) : [];
  return verdict({
    id: spec.id,
    name: spec.name,
    audits,
    allowedLoss: spec.allowedLoss ?? 0,
    recoveryMs,
    maxLiveLatencyMs,
    checks,
    notes,
    ...(spec.brokerRestart ? { brokerRestart: true } : {}),
  });
}

/** `60 s` / `4 s`: the fault length as the drill's name shows it. */
export function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

export type { DrillScale };
