import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT } from '../harness/index.js';

/**
 * The env that makes a spawned Node service profile itself with cpu-profile-preload.ts (`--cpu-prof` is
 * not allowed in NODE_OPTIONS; a preloaded inspector session does the same): `<dir>/<label>-<pid>.cpuprofile`
 * is written when it exits. `nodeOptions`: what NODE_OPTIONS already holds. BENCH_HEAP_PROF=1 adds
 * allocation sampling.
 */
export function cpuProfileEnv(dir: string, label?: string, nodeOptions = ''): Record<string, string> {
  const out = path.resolve(dir);
  mkdirSync(out, { recursive: true });
  const preload = path.join(REPO_ROOT, 'tools/dist/bench/cpu-profile-preload.js');
  return {
    NODE_OPTIONS: `${nodeOptions} --import=${pathToFileURL(preload).href}`.trim(),
    SENSORFLEET_CPU_PROF_DIR: out,
    ...(label ? { SENSORFLEET_CPU_PROF_LABEL: label } : {}),
    ...(process.env.BENCH_HEAP_PROF === '1' ? { SENSORFLEET_HEAP_PROF: '1' } : {}),
  };
}
