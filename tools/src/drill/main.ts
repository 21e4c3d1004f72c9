/**
 * `npm run drill`: the fault drills against the whole local system (README "Drills"), then the scale-out
 * cluster's (README "Scaling out"). Env: DRILLS=1,3,5 / c1,c3 / cluster picks drills, DRILL_CLUSTER=0
 * leaves the cluster set out of a full run, DRILL_QUICK=1 uses short outages (result to the temp dir),
 * DRILL_DEVICES (default 4), DRILL_CLUSTER_DEVICES (default 10), DRILL_OUT overrides the result file
 * (rows merged by id). Table on stdout, progress on stderr, exit 1 if a drill failed.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO_ROOT } from '../harness/index.js';
import { CLUSTER_DRILLS, runClusterDrills } from './cluster-runner.js';
import type { ClusterSystem } from './cluster-system.js';
import type { DrillResult } from './drill.js';
import { DRILLS, drillScale, runDrills } from './drill-runner.js';
import { mergeDrillRows, selectDrillSets } from './drill-selection.js';
import type { DrillSystem } from './drill-system.js';
import { drillTable } from './drill-table.js';

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
const clusterDevices = intEnv('DRILL_CLUSTER_DEVICES', quick ? 2 : 10);
let drills;
try {
  drills = selectDrillSets(DRILLS, CLUSTER_DRILLS, process.env.DRILLS, process.env.DRILL_CLUSTER !== '0');
} catch (err) {
  say((err as Error).message);
  process.exit(2);
}
const outFile = process.env.DRILL_OUT
  ? path.resolve(process.env.DRILL_OUT)
  : quick
    ? path.join(os.tmpdir(), 'sensorfleet-drills.quick.json')
    : path.join(REPO_ROOT, 'bench-results/drills.json');

let system: DrillSystem | ClusterSystem | undefined;
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
  const logLevel = process.env.LOG_LEVEL ?? 'warn';
  // Rows of drills not run this time stay (a DRILLS=c1 run keeps the single-machine rows).
  const previous = existsSync(outFile)
    ? ((JSON.parse(readFileSync(outFile, 'utf8')) as { rows?: DrillResult[] }).rows ?? [])
    : [];
  // `complete: false` until the last drill ran: a run cut short leaves the rows it has.
  const write = (rows: readonly DrillResult[], complete: boolean) => {
    mkdirSync(path.dirname(outFile), { recursive: true });
    writeFileSync(
      outFile,
      `${JSON.stringify(
        {
          started: started.toISOString(),
          complete,
          quick,
          devices,
          clusterDevices,
          scale,
          rows: mergeDrillRows(previous, [...rows]),
        },
        null,
        2,
      )}\n`,
    );
  };
  const rows: DrillResult[] = [];
  if (drills.single.length > 0)
    rows.push(
      ...(await runDrills(
        drills.single,
        scale,
        { devices, logLevel, onSystem: (s) => (system = s), onRow: (r) => write(r, false) },
        say,
      )),
    );
  if (drills.cluster.length > 0 && !stopping)
    rows.push(
      ...(await runClusterDrills(
        drills.cluster,
        scale,
        { devices: clusterDevices, logLevel, onSystem: (s) => (system = s) },
        say,
      )),
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
