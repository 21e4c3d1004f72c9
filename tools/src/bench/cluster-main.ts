import { runClusterBench } from './cluster-bench.js';

/**
 * `node tools/dist/bench/cluster-main.js`: the cluster benchmark on its own (BENCH_QUICK=1 for a smoke
 * run, BENCH_CLUSTER_OUT for another result file). `npm run bench` runs it last.
 */
try {
  await runClusterBench();
} catch (err) {
  process.stderr.write(
    `cluster bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
}
