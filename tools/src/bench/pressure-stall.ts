import { readFileSync } from 'node:fs';

/** Microseconds some task waited, per resource, since boot (Linux pressure stall information). */
export type PressureTotals = Partial<Record<'cpu' | 'io' | 'memory', number>>;

const RESOURCES = ['cpu', 'io', 'memory'] as const;

/** The `some … total=<µs>` figure of one /proc/pressure file's text, or undefined. */
export function parseSomeTotal(text: string): number | undefined {
  const m = /^some .*\btotal=(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Reads the totals now; a kernel without PSI (or a container hiding it) gives an empty object. */
export function readPressureTotals(): PressureTotals {
  const totals: PressureTotals = {};
  for (const r of RESOURCES) {
    try {
      const total = parseSomeTotal(readFileSync(`/proc/pressure/${r}`, 'utf8'));
      if (total !== undefined) totals[r] = total;
    } catch {
      // not available here
    }
  }
  return totals;
}

/**
 * Share of the wall time between two readings in which at least one task waited for the resource (%,
 * one decimal): the whole machine's contention over a phase, which a per-process sample cannot show.
 */
export function pressurePercent(
  before: PressureTotals,
  after: PressureTotals,
  wallMs: number,
): PressureTotals {
  const out: PressureTotals = {};
  if (!(wallMs > 0)) return out;
  for (const r of RESOURCES) {
    const a = before[r];
    const b = after[r];
    if (a === undefined || b === undefined) continue;
    out[r] = Math.round(((b - a) / 1000 / wallMs) * 1000) / 10;
  }
  return out;
}
