import { runDeviceBench } from './device-bench.js';

/**
 * `node tools/dist/bench/device-main.js`: the device benchmark on its own (BENCH_QUICK=1 for a smoke run,
 * BENCH_DEVICE_OUT for another result file). `npm run bench` runs it after the ingest benchmark.
 */
try {
  await runDeviceBench();
} catch (err) {
  process.stderr.write(
    `device bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
}
