import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Settings of one property-based fuzz run (fast-check's `fc.assert` parameters). The seed is random unless
 * FUZZ_SEED is set, and is printed before the run and named in the failure, so any failure replays with
 * `FUZZ_SEED=<seed> FUZZ_RUNS=<runs> npx vitest run <file>`. FUZZ_RUNS overrides the run count of every
 * property (a bigger number for a long soak, a smaller one to replay quickly up to the failing run).
 */
export interface FuzzSettings {
  seed: number;
  numRuns: number;
  /** `FUZZ_SEED=… FUZZ_RUNS=…` for this run. */
  replay: string;
}

function intFromEnv(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return n;
}

export function fuzzSettings(name: string, defaultRuns: number): FuzzSettings {
  const seed = intFromEnv('FUZZ_SEED') ?? (Math.random() * 2 ** 31) | 0;
  const numRuns = intFromEnv('FUZZ_RUNS') ?? defaultRuns;
  const replay = `FUZZ_SEED=${seed} FUZZ_RUNS=${numRuns}`;
  console.log(`[fuzz] ${name}: ${numRuns} runs, replay with ${replay}`);
  return { seed, numRuns, replay };
}

/**
 * Runs a fast-check property (`check` is `fc.assert` bound to it) with these settings and, if it fails,
 * puts the replay line in front of fast-check's own report (counterexample, path).
 */
export async function runFuzz(
  name: string,
  defaultRuns: number,
  check: (params: { seed: number; numRuns: number }) => void | Promise<void>,
): Promise<number> {
  const s = fuzzSettings(name, defaultRuns);
  try {
    await check({ seed: s.seed, numRuns: s.numRuns });
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`[fuzz] ${name} failed; replay with ${s.replay}\n${message}`, { cause: err });
  }
  return s.numRuns;
}

let gc: (() => void) | undefined;

/**
 * Heap in use after a full collection. Vitest's workers do not run with --expose-gc, so the flag is set
 * at run time and `gc` taken from a fresh context (where V8 installs it once the flag is on).
 */
export function heapUsedAfterGc(): number {
  if (!gc) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed) gc = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    }
  }
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
