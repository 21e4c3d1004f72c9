import { describe, expect, it } from 'vitest';
import type { DrillResult } from '../src/drill/drill.js';
import { drillTable, pickDrills } from '../src/drill/drill-table.js';
import {
  backSteps,
  BROKER_RESTART_004_LIMIT,
  missingSeqs,
  seqRanges,
  verdict,
  type SourceAudit,
} from '../src/drill/drill-verdict.js';

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

  it('takes a count that is an upper bound (power cut) when no more are missing than it counted', () => {
    // Redis lost 6 appends, 4 of them had reached MariaDB: 2 missing
    const bound = audit({ stored: 98, countedLoss: 6, countedIsBound: true });
    expect(verdict({ ...base, audits: [bound], allowedLoss: 11 }).passed).toBe(true);
    expect(verdict({ ...base, audits: [bound], allowedLoss: 5 }).passed).toBe(false);
    const r = verdict({
      ...base,
      audits: [audit({ stored: 93, countedLoss: 6, countedIsBound: true })],
      allowedLoss: 11,
    });
    expect(r.passed).toBe(false);
    expect(r.notes.join()).toContain('7 missing but at most 6 counted');
  });

  it('fails duplicates, an empty window and failed checks', () => {
    expect(verdict({ ...base, audits: [audit({ duplicated: 1 })] }).passed).toBe(false);
    expect(verdict({ ...base, audits: [audit({ produced: 0, stored: 0 })] }).passed).toBe(false);
    const r = verdict({ ...base, audits: [audit()], checks: [{ ok: false, note: 'mail sent twice' }] });
    expect(r.passed).toBe(false);
    expect(r.notes).toEqual(['FAILED: mail sent twice']);
  });

  it('shows 004 loss after a broker restart as the known limit, never as a silent pass', () => {
    const of004 = audit({ source: 'esp-004 (004)', produced: 35, stored: 18, compat004: true });
    const r = verdict({ ...base, audits: [audit(), of004], brokerRestart: true });
    expect(r).toMatchObject({
      produced: 135,
      stored: 118,
      lost: 17,
      countedLoss: 0,
      passed: true,
      knownLimit: BROKER_RESTART_004_LIMIT,
      compat004: { published: 35, stored: 18, lost: 17 },
    });
    expect(r.notes.join()).toContain('known limit: esp-004 (004) 17 of 35 lost across the broker restart');
    // Without a broker restart the same loss fails; a complete 004 window is a plain pass.
    expect(verdict({ ...base, audits: [audit(), of004] }).passed).toBe(false);
    const complete = verdict({ ...base, audits: [audit(), { ...of004, stored: 35 }], brokerRestart: true });
    expect(complete).toMatchObject({ passed: true, compat004: { published: 35, stored: 35, lost: 0 } });
    expect(complete.knownLimit).toBeUndefined();
    // The limit excuses only the 004 source: a native gap still fails, and then no `pass*`.
    const both = verdict({
      ...base,
      audits: [audit({ stored: 99, missing: [7] }), of004],
      brokerRestart: true,
    });
    expect(both.passed).toBe(false);
    expect(both.knownLimit).toBeUndefined();
  });

  it('finds steps back in time by seq', () => {
    expect(backSteps([1, 2, 3])).toEqual([]);
    expect(backSteps([10, 20, 20 - 3_600_000, 30 - 3_600_000])).toEqual([{ index: 2, byMs: -3_600_000 }]);
    expect(backSteps([5, 4, 3])).toHaveLength(2);
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
      /^drill\s+produced\s+stored\s+lost\s+counted\s+dup\s+004 lost\s+recovery s\s+max live ms\s+result$/,
    );
    expect(lines[2]).toMatch(/^1 broker down 60 s\s+6000\s+6000\s+0\s+0\s+0\s+–\s+1\.2\s+456\s+pass$/);
    expect(lines[3]).toMatch(/^5b redis\s+.*–\s+–\s+FAIL$/);
    expect(lines[2]!.length).toBe(lines[0]!.length);
    expect(lines.slice(4)).toEqual(['', '5b redis: FAILED', '  - x']);
  });

  it('marks a row that passes only for a known limit pass* with a footnote, and shows 004 loss', () => {
    const text = drillTable([
      row({ lost: 17, compat004: { published: 35, stored: 18, lost: 17 }, knownLimit: 'the 004 limit' }),
      row({ id: '2', name: 'receiver', compat004: { published: 40, stored: 40, lost: 0 } }),
      row({ id: '9', name: 'cap' }),
    ]);
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/\s+dup\s+004 lost\s+recovery s/);
    expect(lines[2]).toMatch(
      /^1 broker down 60 s\s+6000\s+6000\s+17\s+0\s+0\s+17\/35\s+1\.2\s+456\s+pass\*$/,
    );
    expect(lines[3]).toMatch(/\s0\/40\s+1\.2\s+456\s+pass$/);
    expect(lines[4]).toMatch(/\s–\s+1\.2\s+456\s+pass$/);
    expect(lines[5]).toBe('* drill 1: passes but for a known limit: the 004 limit');
    expect(lines[6]).toMatch(/^004 lost: /);
  });

  it('picks drills by id; 5 means 5a and 5b; unknown ids are refused', () => {
    const all = ['1', '2', '5a', '5b', '11'].map((id) => ({ id }));
    expect(pickDrills(all, undefined)).toEqual(all);
    expect(pickDrills(all, ' 5, 11 ').map((d) => d.id)).toEqual(['5a', '5b', '11']);
    expect(pickDrills(all, '1,5b').map((d) => d.id)).toEqual(['1', '5b']);
    expect(() => pickDrills(all, '1,7')).toThrow(/unknown drill 7/);
  });
});
