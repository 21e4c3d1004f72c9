import { runDeviceMemoryBench } from './device-memory.js';

/**
 * `node tools/dist/bench/device-memory-main.js`: the device services' memory under node flag sets
 * (BENCH_MEMORY_FLAGS, BENCH_MEMORY_ROUNDS, BENCH_MEMORY_BACKLOG, …; see bench-results/README.md).
 */
try {
  await runDeviceMemoryBench();
} catch (err) {
  process.stderr.write(
    `device memory bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
}
