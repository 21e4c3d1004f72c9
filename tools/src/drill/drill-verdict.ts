import type { DrillResult } from './drill.js';

/** What MariaDB holds for one source (a device, or the 004 publisher) in a drill's window. */
export interface SourceAudit {
  source: string;
  /** Seqs the source produced in the window. */
  produced: number;
  /** Distinct seqs stored. */
  stored: number;
  /** Rows beyond one per (seq, sensor): 0 unless something was stored twice. */
  duplicated: number;
  /** The first missing seqs (at most 1000), to name in the notes as ranges. */
  missing: number[];
  /** Loss the source counted itself (outbox drops, appends Redis lost). */
  countedLoss: number;
  /**
   * countedLoss is an upper bound, not an exact count: after a power cut the device counts every append
   * Redis lost, and some of those had already reached the backend (stored, not missing). Then the source
   * passes when no more are missing than it counted.
   */
  countedIsBound?: boolean;
  /** The source-004 publisher (QoS 1 PUBACKs are its count; it never counts a loss itself). */
  compat004?: boolean;
}

/**
 * Mosquitto 2.0.11 restores persistent sessions on restart but not their shared subscriptions, so 004
 * messages published before the receivers resubscribe have no subscriber (README "Known limits").
 */
export const BROKER_RESTART_004_LIMIT =
  'source-004 messages published while a restarted Mosquitto 2.0.11 waits for the receivers to ' +
  'resubscribe are lost: it does not restore shared subscriptions (README "Known limits")';

/** Seqs of `from + 1 … to` not in `stored` (sorted or not), at most `limit` of them. */
export function missingSeqs(from: number, to: number, stored: Iterable<number>, limit = 1000): number[] {
  const have = new Set(stored);
  const out: number[] = [];
  for (let s = from + 1; s <= to && out.length < limit; s++) if (!have.has(s)) out.push(s);
  return out;
}

/** Ascending seqs as ranges: `22–72, 80, 85–86` (at most `max` ranges, then `…`). */
export function seqRanges(seqs: readonly number[], max = 10): string {
  const out: string[] = [];
  for (let i = 0; i < seqs.length && out.length <= max;) {
    let j = i;
    while (j + 1 < seqs.length && seqs[j + 1] === seqs[j]! + 1) j++;
    out.push(i === j ? String(seqs[i]) : `${seqs[i]}–${seqs[j]}`);
    i = j + 1;
  }
  return out.length > max ? `${out.slice(0, max).join(', ')}, …` : out.join(', ');
}

export interface VerdictInput {
  id: string;
  name: string;
  audits: SourceAudit[];
  /** Counted loss the drill accepts (e.g. ≤ 1 s of readings with appendfsync everysec); default 0. */
  allowedLoss?: number;
  recoveryMs: number | null;
  maxLiveLatencyMs: number | null;
  /** The drill's own checks: a failed one fails the drill. */
  checks?: { ok: boolean; note: string }[];
  notes?: string[];
  /**
   * The fault restarts the broker: a loss of the 004 source is the documented limit, reported (row,
   * `004 lost` column, `pass*`) but not failing the drill. Every other source must still be complete.
   */
  brokerRestart?: boolean;
}

/**
 * A drill passes when every missing seq is one its source counted (lost == counted loss, per source),
 * that loss is within the allowance, nothing is stored twice, and the drill's own checks hold. After a
 * broker restart, 004 messages missing are the known limit: the row passes with `knownLimit` set.
 */
export function verdict(input: VerdictInput): DrillResult {
  const sum = (f: (a: SourceAudit) => number) => input.audits.reduce((n, a) => n + f(a), 0);
  const produced = sum((a) => a.produced);
  const stored = sum((a) => a.stored);
  const duplicated = sum((a) => a.duplicated);
  const countedLoss = sum((a) => a.countedLoss);
  const notes: string[] = [...(input.notes ?? [])];
  let passed = true;
  let knownLimit: string | undefined;
  for (const a of input.audits) {
    const lost = a.produced - a.stored;
    if (a.compat004 && input.brokerRestart && lost > 0 && a.countedLoss === 0) {
      knownLimit = BROKER_RESTART_004_LIMIT;
      notes.push(
        `known limit: ${a.source} ${lost} of ${a.produced} lost across the broker restart` +
          (a.missing.length ? ` (seqs ${seqRanges(a.missing, 3)})` : ''),
      );
    } else if (a.countedIsBound ? lost > a.countedLoss : lost !== a.countedLoss) {
      passed = false;
      notes.push(
        `${a.source}: ${lost} missing but ${a.countedIsBound ? 'at most ' : ''}${a.countedLoss} counted` +
          (a.missing.length ? ` (missing seqs ${seqRanges(a.missing)})` : ''),
      );
    }
    if (a.duplicated !== 0) {
      passed = false;
      notes.push(`${a.source}: ${a.duplicated} rows stored twice`);
    }
  }
  if (countedLoss > (input.allowedLoss ?? 0)) {
    passed = false;
    notes.push(`counted loss ${countedLoss} above the allowance of ${input.allowedLoss ?? 0}`);
  }
  if (produced === 0) {
    passed = false;
    notes.push('nothing was produced in the window');
  }
  for (const c of input.checks ?? []) {
    if (!c.ok) passed = false;
    notes.push(`${c.ok ? 'ok' : 'FAILED'}: ${c.note}`);
  }
  const of004 = input.audits.filter((a) => a.compat004);
  const compat004 = of004.length
    ? {
        published: of004.reduce((n, a) => n + a.produced, 0),
        stored: of004.reduce((n, a) => n + a.stored, 0),
        lost: of004.reduce((n, a) => n + a.produced - a.stored, 0),
      }
    : undefined;
  return {
    id: input.id,
    name: input.name,
    produced,
    stored,
    lost: produced - stored,
    duplicated,
    countedLoss,
    ...(input.audits.some((a) => a.countedIsBound) ? { countedIsBound: true as const } : {}),
    recoveryMs: input.recoveryMs,
    maxLiveLatencyMs: input.maxLiveLatencyMs,
    ...(compat004 ? { compat004 } : {}),
    // A failed row is a failure, whatever else it lost.
    ...(passed && knownLimit ? { knownLimit } : {}),
    passed,
    notes,
  };
}

/**
 * Steps back in time between readings ordered by seq (index of the later reading, ms): a device clock
 * set back shows as one; a reading out of seq order shows as one too.
 */
export function backSteps(measuredMs: readonly number[]): { index: number; byMs: number }[] {
  const out: { index: number; byMs: number }[] = [];
  for (let i = 1; i < measuredMs.length; i++) {
    const d = measuredMs[i]! - measuredMs[i - 1]!;
    if (d < 0) out.push({ index: i, byMs: d });
  }
  return out;
}
