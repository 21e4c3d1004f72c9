import { describe, expect, it } from 'vitest';
import type { DrillResult } from '../src/drill/drill.js';
import { drillTable, pickDrills } from '../src/drill/drill-table.js';
import { missingSeqs, seqRanges, verdict, type SourceAudit } from '../src/drill/drill-verdict.js';

const audit = (over: Partial<SourceAudit> = {}): SourceAudit => ({
  source: 'dev-1',
  produced: 100,
  stored: 100,
  duplicated: 0,
  missing: [],
  countedLoss: 0,
  ...over,
});

const base = { id: '1', name: 'broker down 60 s', recoveryMs: 1234, maxLiveLatencyMs: 456 };

describe('drill verdict', () => {
  it('passes a complete window and sums the sources', () => {
    const r = verdict({ ...base, audits: [audit(), audit({ source: 'dev-2', produced: 50, stored: 50 })] });
    expect(r).toMatchObject({
      produced: 150,
      stored: 150,
      lost: 0,
      duplicated: 0,
      countedLoss: 0,
      passed: true,
    });
  });

  it('fails an uncounted gap and names the missing seqs', () => {
    const r = verdict({ ...base, audits: [audit({ stored: 97, missing: [5, 6, 7] })] });
    expect(r.passed).toBe(false);
    expect(r.lost).toBe(3);
    expect(r.notes.join()).toContain('3 missing but 0 counted (missing seqs 5–7)');
  });

  it('passes a counted loss only within the allowance', () => {
    const counted = audit({ stored: 95, countedLoss: 5 });
    expect(verdict({ ...base, audits: [counted], allowedLoss: 10 }).passed).toBe(true);
    expect(verdict({ ...base, audits: [counted], allowedLoss: 4 }).passed).toBe(false);
    // counted more than is missing: the count is not exact
    expect(verdict({ ...base, audits: [audit({ countedLoss: 2 })], allowedLoss: 10 }).passed).toBe(false);
  });

  it('fails duplicates, an empty window and failed checks', () => {
    expect(verdict({ ...base, audits: [audit({ duplicated: 1 })] }).passed).toBe(false);
    expect(verdict({ ...base, audits: [audit({ produced: 0, stored: 0 })] }).passed).toBe(false);
    const r = verdict({ ...base, audits: [audit()], checks: [{ ok: false, note: 'mail sent twice' }] });
    expect(r.passed).toBe(false);
    expect(r.notes).toEqual(['FAILED: mail sent twice']);
  });

  it('finds missing seqs in a window', () => {
    expect(missingSeqs(10, 15, [11, 13, 15])).toEqual([12, 14]);
    expect(missingSeqs(0, 100, [], 3)).toEqual([1, 2, 3]);
    expect(missingSeqs(5, 5, [])).toEqual([]);
    expect(seqRanges([1, 2, 3, 5, 7, 8])).toBe('1–3, 5, 7–8');
    expect(seqRanges([1, 3, 5, 7], 2)).toBe('1, 3, …');
    expect(seqRanges([])).toBe('');
  });
});

describe('drill table', () => {
  const row = (over: Partial<DrillResult>): DrillResult => ({
    ...base,
    produced: 6000,
    stored: 6000,
    lost: 0,
    duplicated: 0,
    countedLoss: 0,
    passed: true,
    notes: [],
    ...over,
  });

  it('prints one aligned row per drill and the notes below', () => {
    const text = drillTable([
      row({}),
      row({ id: '5b', name: 'redis', recoveryMs: null, maxLiveLatencyMs: null, passed: false, notes: ['x'] }),
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(
      /^drill\s+produced\s+stored\s+lost\s+counted\s+dup\s+recovery s\s+max live ms\s+result$/,
    );
    expect(lines[2]).toMatch(/^1 broker down 60 s\s+6000\s+6000\s+0\s+0\s+0\s+1\.2\s+456\s+pass$/);
    expect(lines[3]).toMatch(/^5b redis\s+.*–\s+–\s+FAIL$/);
    expect(lines[2]!.length).toBe(lines[0]!.length);
    expect(lines.slice(4)).toEqual(['', '5b redis: FAILED', '  - x']);
  });

  it('picks drills by id; 5 means 5a and 5b; unknown ids are refused', () => {
    const all = ['1', '2', '5a', '5b', '11'].map((id) => ({ id }));
    expect(pickDrills(all, undefined)).toEqual(all);
    expect(pickDrills(all, ' 5, 11 ').map((d) => d.id)).toEqual(['5a', '5b', '11']);
    expect(pickDrills(all, '1,5b').map((d) => d.id)).toEqual(['1', '5b']);
    expect(() => pickDrills(all, '1,6')).toThrow(/unknown drill 6/);
  });
});
