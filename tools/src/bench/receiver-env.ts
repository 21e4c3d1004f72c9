/**
 * `BENCH_RECEIVER_ENV=NAME=value,NAME=value`: variables added to every receiver's env, for experiments
 * with its settings (e.g. `FOLD_INTERVAL=15000`); the default run keeps the receiver's defaults.
 */
export function receiverEnvFromEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (env['BENCH_RECEIVER_ENV'] ?? '').split(',').filter((p) => p.trim())) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`BENCH_RECEIVER_ENV: expected NAME=value, got ${JSON.stringify(pair)}`);
    out[pair.slice(0, eq).trim()] = pair.slice(eq + 1);
  }
  return out;
}
