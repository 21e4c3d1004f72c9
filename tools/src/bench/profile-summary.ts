import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, formatTable } from './stats.js';

/**
 * Summary of a V8 `.cpuprofile` (what `node --cpu-prof` writes; the bench's BENCH_CPU_PROF=<dir> makes
 * every receiver write one): where the CPU time went, by package / source file (self time) and by
 * function (self and total time).
 *
 *   node tools/dist/bench/profile-summary.js <file.cpuprofile> [top=25]
 */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    children?: number[];
  }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileRow {
  key: string;
  selfMs: number;
  totalMs: number;
}

/** `(idle)`, `(program)`, `(garbage collector)`, `mariadb`, `mqtt`, `receiver/readings-writer.js`, `node:net`… */
export function groupOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1]!;
  if (url.startsWith('node:')) return url;
  const ours = /\/(backend|device|shared|tools)\/(?:([^/]+)\/)?dist\/(.+)$/.exec(url);
  if (ours) return ours[1] === 'shared' ? `shared/${ours[3]}` : `${ours[2]}/${ours[3]}`;
  return path.basename(url);
}

/** Self and total (inclusive) time per key, largest self time first. */
export function summarise(profile: CpuProfile, keyOf: (node: CpuProfile['nodes'][number]) => string) {
  const parent = new Map<number, number>();
  const byId = new Map<number, CpuProfile['nodes'][number]>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const rows = new Map<string, ProfileRow>();
  const row = (key: string): ProfileRow => {
    let r = rows.get(key);
    if (!r) rows.set(key, (r = { key, selfMs: 0, totalMs: 0 }));
    return r;
  };
  let totalMs = 0;
  profile.samples.forEach((id, i) => {
    const ms = (profile.timeDeltas[i + 1] ?? profile.timeDeltas[i] ?? 0) / 1000;
    totalMs += ms;
    const node = byId.get(id);
    if (!node) return;
    row(keyOf(node)).selfMs += ms;
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (!n) break;
      const key = keyOf(n);
      if (seen.has(key)) continue;
      seen.add(key);
      row(key).totalMs += ms;
    }
  });
  return { totalMs, rows: [...rows.values()].sort((a, b) => b.selfMs - a.selfMs) };
}

/** A V8 sampling heap profile (`.heapprofile`): a call tree with the bytes sampled in each frame. */
export interface HeapProfile {
  head: HeapNode;
}
interface HeapNode {
  callFrame: CpuProfile['nodes'][number]['callFrame'];
  selfSize: number;
  children: HeapNode[];
}

/** Sampled bytes allocated per key, largest first. */
export function summariseHeap(profile: HeapProfile, keyOf: (frame: HeapNode['callFrame']) => string) {
  const bytes = new Map<string, number>();
  let total = 0;
  const stack = [profile.head];
  for (let n = stack.pop(); n; n = stack.pop()) {
    total += n.selfSize;
    const key = keyOf(n.callFrame);
    bytes.set(key, (bytes.get(key) ?? 0) + n.selfSize);
    stack.push(...n.children);
  }
  return { total, rows: [...bytes].sort((a, b) => b[1] - a[1]) };
}

function mainHeap(file: string, top: number): void {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as HeapProfile;
  const fnKey = (f: HeapNode['callFrame']): string =>
    `${f.functionName || '(anonymous)'} ${groupOf(f.url, f.functionName)}:${f.lineNumber + 1}`;
  const cols = (total: number) => [
    { title: 'MB', value: (r: [string, number]) => fmt(r[1] / 1e6, 1) },
    { title: 'share', value: (r: [string, number]) => `${fmt((100 * r[1]) / total, 1)}%` },
    { title: 'where', value: (r: [string, number]) => r[0], align: 'left' as const },
  ];
  const byGroup = summariseHeap(profile, (f) => groupOf(f.url, f.functionName));
  const byFunction = summariseHeap(profile, fnKey);
  process.stdout.write(
    `${file}: ${fmt(byGroup.total / 1e6, 1)} MB allocated (sampled)\n\n` +
      `By package / file:\n${formatTable(cols(byGroup.total), byGroup.rows.slice(0, top))}\n\n` +
      `By function:\n${formatTable(cols(byGroup.total), byFunction.rows.slice(0, top))}\n`,
  );
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) {
    process.stderr.write(
      'usage: node tools/dist/bench/profile-summary.js <file.cpuprofile | file.heapprofile> [top=25]\n',
    );
    process.exit(2);
  }
  const top = Number(topArg ?? 25) || 25;
  if (file.endsWith('.heapprofile')) return mainHeap(file, top);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byGroup = summarise(profile, (n) => groupOf(n.callFrame.url, n.callFrame.functionName));
  const byFunction = summarise(profile, (n) => {
    const where = groupOf(n.callFrame.url, n.callFrame.functionName);
    return `${n.callFrame.functionName || '(anonymous)'} ${where}:${n.callFrame.lineNumber + 1}`;
  });
  const busy = byGroup.totalMs - (byGroup.rows.find((r) => r.key === '(idle)')?.selfMs ?? 0);
  const pct = (ms: number): string => `${fmt((100 * ms) / byGroup.totalMs, 1)}%`;
  const cols = [
    { title: 'self ms', value: (r: ProfileRow) => fmt(r.selfMs) },
    { title: 'self', value: (r: ProfileRow) => pct(r.selfMs) },
    { title: 'total ms', value: (r: ProfileRow) => fmt(r.totalMs) },
    { title: 'total', value: (r: ProfileRow) => pct(r.totalMs) },
    { title: 'where', value: (r: ProfileRow) => r.key, align: 'left' as const },
  ];
  process.stdout.write(
    `${file}: ${fmt(byGroup.totalMs)} ms profiled, ${fmt(busy)} ms not idle (${pct(busy)})\n\n` +
      `By package / file:\n${formatTable(cols, byGroup.rows.slice(0, top))}\n\n` +
      `By function (self time):\n${formatTable(cols, byFunction.rows.slice(0, top))}\n\n` +
      `By function (total time):\n${formatTable(
        cols,
        [...byFunction.rows].sort((a, b) => b.totalMs - a.totalMs).slice(0, top),
      )}\n`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
