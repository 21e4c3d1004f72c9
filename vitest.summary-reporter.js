// Prints one plain closing line, `Tests: N passed, N failed, N skipped`, that CI logs and tools outside
// Vitest can read without parsing Vitest's own summary.
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
    process.stdout.write(
      `\nTests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`,
    );
  }
}
