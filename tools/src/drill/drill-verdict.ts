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
}

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
}

/**
 * A drill passes when every missing seq is one its source counted (lost == counted loss, per source),
 * that loss is within the allowance, nothing is stored twice, and the drill's own checks hold.
 */
export function verdict(input: VerdictInput): DrillResult {
  const sum = (f: (a: SourceAudit) => number) => input.audits.reduce((n, a) => n + f(a), 0);
  const produced = sum((a) => a.produced);
  const stored = sum((a) => a.stored);
  const duplicated = sum((a) => a.duplicated);
  const countedLoss = sum((a) => a.countedLoss);
  const notes: string[] = [...(input.notes ?? [])];
  let passed = true;
  for (const a of input.audits) {
    const lost = a.produced - a.stored;
    if (lost !== a.countedLoss) {
      passed = false;
      notes.push(
        `${a.source}: ${lost} missing but ${a.countedLoss} counted` +
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
  return {
    id: input.id,
    name: input.name,
    produced,
    stored,
    lost: produced - stored,
    duplicated,
    countedLoss,
    recoveryMs: input.recoveryMs,
    maxLiveLatencyMs: input.maxLiveLatencyMs,
    passed,
    notes,
  };
}
