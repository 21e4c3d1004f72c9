import { liveFanoutOptionsFromEnv, runLiveFanoutBench } from './live-fanout-bench.js';

/**
 * `node tools/dist/bench/live-fanout-main.js`: the live fan-out bench (LiveHub + WebSockets, CPU per
 * message). Knobs: BENCH_LIVE_DEVICES, _CLIENTS, _SECONDS, _ROUNDS, _REPLAY_DEVICES, _BATCHES_PER_S,
 * _BATCH_READINGS, _SCENARIOS (live,replay,drain), _HUBS (name=live-hub.js,… for A/B), _OUT (JSON).
 */
try {
  await runLiveFanoutBench(liveFanoutOptionsFromEnv());
  process.exit(0);
} catch (err) {
  process.stderr.write(
    `live fan-out bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
}
