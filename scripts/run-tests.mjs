#!/usr/bin/env node
// Runs every test in two phases (see vitest.config.ts): unit and most integration files two at a time,
// then the heavy integration files one at a time. Both phases always run; the exit code is non-zero if
// either failed, and a last `Tests: …` line adds up both phases' summary lines.
import { spawn } from 'node:child_process';

const extra = process.argv.slice(2);
const phases = [
  ['run', '--project', 'unit', '--project', 'integration', '--maxWorkers=2', ...extra],
  ['run', '--project', 'integration-alone', '--maxWorkers=1', '--passWithNoTests', ...extra],
];
const SUMMARY = /^Tests: (\d+) passed, (\d+) failed, (\d+) skipped$/m;

function runPhase(args) {
  return new Promise((resolve) => {
    const child = spawn('npx', ['vitest', ...args], { stdio: ['inherit', 'pipe', 'inherit'] });
    let tail = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      tail = (tail + chunk.toString()).slice(-4000);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, summary: tail.match(SUMMARY) }));
  });
}

const totals = [0, 0, 0];
let failed = false;
for (const args of phases) {
  const { code, summary } = await runPhase(args);
  if (code !== 0) failed = true;
  if (summary) for (let i = 0; i < 3; i++) totals[i] += Number(summary[i + 1]);
  else failed = true; // a phase that printed no summary did not run its tests
}
process.stdout.write(
  `\nBoth phases:\nTests: ${totals[0]} passed, ${totals[1]} failed, ${totals[2]} skipped\n`,
);
process.exit(failed ? 1 : 0);
