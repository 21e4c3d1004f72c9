import type { DrillResult } from './drill.js';
import { pickDrills } from './drill-table.js';

/**
 * `DRILLS=1,3,c1,c3`: the single-machine drills and the cluster drills (ids `c…`) picked; `cluster` picks
 * every cluster drill, `single` every single-machine one; empty = the single-machine set, then the
 * cluster set unless `withCluster` is false (DRILL_CLUSTER=0).
 */
export function selectDrillSets<S extends { id: string }, C extends { id: string }>(
  single: readonly S[],
  cluster: readonly C[],
  spec: string | undefined,
  withCluster = true,
): { single: S[]; cluster: C[] } {
  const words = (spec ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (words.length === 0) return { single: [...single], cluster: withCluster ? [...cluster] : [] };
  const isCluster = (w: string) => /^c\d/.test(w);
  const singleWords = words.filter((w) => w !== 'cluster' && w !== 'single' && !isCluster(w));
  const clusterWords = words.filter(isCluster);
  const pick = <T extends { id: string }>(all: readonly T[], picked: string[], every: boolean): T[] => {
    if (every) return [...all];
    if (picked.length === 0) return [];
    return pickDrills(all, picked.join(','));
  };
  return {
    single: pick(single, singleWords, words.includes('single')),
    cluster: pick(cluster, clusterWords, words.includes('cluster')),
  };
}

/** The rows of a result file after a run: each row run replaces its id's, rows of drills not run stay. */
export function mergeDrillRows(previous: readonly DrillResult[], run: readonly DrillResult[]): DrillResult[] {
  const byId = new Map(run.map((r) => [r.id, r]));
  const merged = previous.map((r) => byId.get(r.id) ?? r);
  for (const r of run) if (!previous.some((p) => p.id === r.id)) merged.push(r);
  return merged;
}
