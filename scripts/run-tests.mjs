#!/usr/bin/env node
// Runs every test in two phases (see vitest.config.ts): unit and most integration files two at a time,
// then the heavy integration files in two lanes side by side, one file at a time in each. Every phase and
// lane always runs; the exit code is non-zero if any failed, and a last `Tests: …` line adds up all their
// summary lines. The first lane of a phase streams its output; the others' output is held and printed
// whole when they end, so a CI log reads as one run per lane.
import { spawn } from 'node:child_process';

const extra = process.argv.slice(2);
const alone = ['--maxWorkers=1', '--passWithNoTests', ...extra];
const phases = [
  [['run', '--project', 'unit', '--project', 'integration', '--maxWorkers=2', ...extra]],
  [
    ['run', '--project', 'integration-systems', ...alone],
    ['run', '--project', 'integration-clusters', ...alone],
  ],
];
const SUMMARY = /^Tests: (\d+) passed, (\d+) failed, (\d+) skipped$/m;

function runLane(args, stream) {
  return new Promise((resolve) => {
    const child = spawn('npx', ['vitest', ...args], { stdio: ['inherit', 'pipe', 'pipe'] });
    const held = [];
    let tail = '';
    const take = (out) => (chunk) => {
      if (stream) out.write(chunk);
      else held.push([out, chunk]);
      if (out === process.stdout) tail = (tail + chunk.toString()).slice(-4000);
    };
    child.stdout.on('data', take(process.stdout));
    child.stderr.on('data', take(process.stderr));
    child.on('close', (code) => {
      for (const [out, chunk] of held) out.write(chunk);
      resolve({ code: code ?? 1, summary: tail.match(SUMMARY) });
    });
  });
}

const totals = [0, 0, 0];
let failed = false;
for (const lanes of phases) {
  const results = await Promise.all(lanes.map((args, i) => runLane(args, i === 0)));
  for (const { code, summary } of results) {
    if (code !== 0) failed = true;
    if (summary) for (let i = 0; i < 3; i++) totals[i] += Number(summary[i + 1]);
    else failed = true; // a lane that printed no summary did not run its tests
  }
}
process.stdout.write(
  `\nAll phases:\nTests: ${totals[0]} passed, ${totals[1]} failed, ${totals[2]} skipped\n`,
);
process.exit(failed ? 1 : 0);
