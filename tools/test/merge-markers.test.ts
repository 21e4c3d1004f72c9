import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '@sensorfleet/tools/harness';

// A merge resolved in a hurry once left conflict markers in a README for several sessions: no tracked
// file may hold one (git grep exits 1 when nothing matches).
describe('the repository', () => {
  it('holds no merge conflict markers', () => {
    let found = '';
    try {
      found = execFileSync('git', ['grep', '-nE', '^(<{7} |>{7} |={7}$)', '--', '.'], {
        cwd: REPO_ROOT,
        encoding: 'utf8',
      });
    } catch (err) {
      if ((err as { status?: number }).status !== 1) throw err;
    }
    expect(found).toBe('');
  });
});
