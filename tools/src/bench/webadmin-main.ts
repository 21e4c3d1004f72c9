import { runWebadminBench } from './webadmin-bench.js';

/**
 * `node tools/dist/bench/webadmin-main.js`: the web admin benchmark on its own (BENCH_QUICK=1 for a smoke
 * run, BENCH_WEBADMIN_OUT for another result file). `npm run bench` runs it after the device benchmark.
 */
try {
  await runWebadminBench();
} catch (err) {
  process.stderr.write(
    `webadmin bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
}
