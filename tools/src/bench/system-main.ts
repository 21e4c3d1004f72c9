import { runSystemBench } from './system-bench.js';

/**
 * `node tools/dist/bench/system-main.js`: the end-to-end system benchmark on its own (BENCH_QUICK=1 for a
 * smoke run, BENCH_SYSTEM_OUT for another result file). `npm run bench` runs it after the web admin's.
 */
try {
  await runSystemBench();
} catch (err) {
  process.stderr.write(
    `system bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
}
