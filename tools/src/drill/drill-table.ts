import type { DrillResult } from './drill.js';

const HEADERS = [
  'drill',
  'produced',
  'stored',
  'lost',
  'counted',
  'dup',
  '004 lost',
  'recovery s',
  'max live ms',
  'result',
];

function cells(r: DrillResult): string[] {
  return [
    `${r.id} ${r.name}`,
    String(r.produced),
    String(r.stored),
    String(r.lost),
    String(r.countedLoss),
    String(r.duplicated),
    r.compat004 ? `${r.compat004.lost}/${r.compat004.published}` : '–',
    r.recoveryMs === null ? '–' : (r.recoveryMs / 1000).toFixed(1),
    r.maxLiveLatencyMs === null ? '–' : String(r.maxLiveLatencyMs),
    !r.passed ? 'FAIL' : r.knownLimit ? 'pass*' : 'pass',
  ];
}

/**
 * The drill table as text: one row per drill, numbers right-aligned, a footnote for each known limit a
 * `pass*` row rests on, then every drill's notes.
 */
export function drillTable(rows: readonly DrillResult[]): string {
  const body = rows.map(cells);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...body.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)))
      .join('  ')
      .trimEnd();
  const out = [line(HEADERS), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)];
  const limits = [...new Set(rows.flatMap((r) => (r.passed && r.knownLimit ? [r.knownLimit] : [])))];
  for (const limit of limits) {
    const ids = rows.filter((r) => r.passed && r.knownLimit === limit).map((r) => r.id);
    out.push(`* drill ${ids.join(', ')}: passes but for a known limit: ${limit}`);
  }
  if (rows.some((r) => r.compat004))
    out.push('004 lost: source-004 messages lost / published in the window (– = not audited)');
  for (const r of rows.filter((x) => x.notes.length > 0)) {
    out.push('', `${r.id} ${r.name}${r.passed ? '' : ': FAILED'}`, ...r.notes.map((n) => `  - ${n}`));
  }
  return out.join('\n');
}

/** `DRILLS=1,3,5`: the ids picked (5 picks 5a and 5b); empty = every drill. */
export function pickDrills<T extends { id: string }>(all: readonly T[], spec: string | undefined): T[] {
  const wanted = (spec ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (wanted.length === 0) return [...all];
  const unknown = wanted.filter((w) => !all.some((d) => d.id === w || d.id.replace(/[a-z]$/, '') === w));
  if (unknown.length)
    throw new Error(
      `DRILLS: unknown drill ${unknown.join(', ')} (known: ${all.map((d) => d.id).join(', ')})`,
    );
  return all.filter((d) => wanted.includes(d.id) || wanted.includes(d.id.replace(/[a-z]$/, '')));
}
