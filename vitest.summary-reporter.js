// Prints one plain closing line, `Tests: N passed, N failed, N skipped`, that CI logs and tools outside
// Vitest can read without parsing Vitest's own summary, and before it the slowest test files, so a CI run
// that creeps towards its time budget shows where the time went.
const SLOWEST_SHOWN = 15;

export default class SummaryReporter {
  onFinished(files = []) {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const visit = (task) => {
      if (task.type === 'test') {
        const state = task.result?.state;
        if (state === 'pass') counts.passed++;
        else if (state === 'fail') counts.failed++;
        else counts.skipped++;
      }
      for (const t of task.tasks ?? []) visit(t);
    };
    for (const f of files) {
      visit(f);
      // A file that failed to load has no tests but must still count as a failure.
      if (f.result?.state === 'fail' && !(f.tasks ?? []).length) counts.failed++;
    }
    const timed = files
      .map((f) => ({ name: f.name ?? f.filepath ?? '?', ms: f.result?.duration ?? 0 }))
      .sort((a, b) => b.ms - a.ms)
      .slice(0, SLOWEST_SHOWN);
    if (timed.length > 0 && timed[0].ms > 0) {
      process.stdout.write(`\nSlowest test files:\n`);
      for (const t of timed) process.stdout.write(`  ${(t.ms / 1000).toFixed(1).padStart(7)} s  ${t.name}\n`);
    }
    process.stdout.write(
      `\nTests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`,
    );
  }
}
