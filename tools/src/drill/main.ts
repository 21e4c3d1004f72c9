/**
 * `npm run drill`: the fault drills against the whole local system (README "Drills"). Env: DRILLS=1,3,5
 * picks drills, DRILL_QUICK=1 uses short outages (result to the temp dir), DRILL_DEVICES (default 4),
 * DRILL_OUT overrides the result file. Table on stdout, progress on stderr, exit 1 if a drill failed.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../harness/index.js';
import { DRILLS, drillScale, runDrills } from './drill-runner.js';
import type { DrillSystem } from './drill-system.js';
import { drillTable, pickDrills } from './drill-table.js';

const say = (line: string): void => void process.stderr.write(`${line}\n`);

function intEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 2 || n > 50) {
    say(`${name} must be an integer from 2 to 50 (got ${JSON.stringify(raw)})`);
    process.exit(2);
  }
  return n;
}

const quick = process.env.DRILL_QUICK === '1';
const devices = intEnv('DRILL_DEVICES', quick ? 2 : 4);
let drills;
try {
  drills = pickDrills(DRILLS, process.env.DRILLS);
} catch (err) {
  say((err as Error).message);
  process.exit(2);
}
const outFile = process.env.DRILL_OUT
  ? path.resolve(process.env.DRILL_OUT)
  : quick
    ? path.join(os.tmpdir(), 'sensorfleet-drills.quick.json')
    : path.join(REPO_ROOT, 'bench-results/drills.json');

let system: DrillSystem | undefined;
let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (stopping) process.exit(130); // second Ctrl-C: the harness's exit handler SIGKILLs what is left
    stopping = true;
    say(`\n${signal}: stopping the drill's servers…`);
    void (system?.stop() ?? Promise.resolve()).finally(() => process.exit(130));
  });
}

try {
  const scale = drillScale(quick);
  const started = new Date();
  // `complete: false` until the last drill ran: a run cut short leaves the rows it has.
  const write = (rows: readonly unknown[], complete: boolean) => {
    mkdirSync(path.dirname(outFile), { recursive: true });
    writeFileSync(
      outFile,
      `${JSON.stringify({ started: started.toISOString(), complete, quick, devices, scale, rows }, null, 2)}\n`,
    );
  };
  const rows = await runDrills(
    drills,
    scale,
    {
      devices,
      logLevel: process.env.LOG_LEVEL ?? 'warn',
      onSystem: (s) => (system = s),
      onRow: (r) => write(r, false),
    },
    say,
  );
  process.stdout.write(`${drillTable(rows)}\n`);
  write(rows, true);
  say(`written: ${outFile}`);
  process.exit(rows.every((r) => r.passed) ? 0 : 1);
} catch (err) {
  say(`drill run failed: ${(err as Error).stack ?? String(err)}`);
  await system?.stop().catch(() => undefined);
  process.exit(1);
}
