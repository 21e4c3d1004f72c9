import { describe, expect, it } from 'vitest';
import { logRow, shouldLog, summarise } from '../../src/ingest/message-log.js';
import { item, reading } from '../support/items.js';

describe('summarise: what became of a message', () => {
  it('stored, duplicate, applied', () => {
    expect(summarise(item({ readings: [reading(1), reading(2)] }), ['stored', 'duplicate'])).toMatchObject({
      outcome: 'stored',
      readings: 2,
      stored: 1,
      duplicates: 1,
      rejected: 0,
    });
    expect(summarise(item({ readings: [reading(1)] }), ['duplicate']).outcome).toBe('duplicate');
    expect(summarise(item({ kind: 'online' }), []).outcome).toBe('applied');
  });

  it('partial when something was rejected and something committed; seq conflicts count as rejected', () => {
    const s = summarise(
      item({
        readings: [reading(1), reading(2)],
        rejected: [{ scope: 'reading', reason: 'out_of_range', detail: 'x', seq: 3 }],
      }),
      ['stored', 'conflict'],
    );
    expect(s).toMatchObject({ outcome: 'partial', readings: 3, stored: 1, rejected: 2 });
    expect(s.rejections.map((r) => r.reason)).toEqual(['out_of_range', 'seq_conflict']);
  });

  it('rejected when rejected as a whole, or nothing committed', () => {
    expect(
      summarise(item({ rejected: [{ scope: 'message', reason: 'malformed_json', detail: 'x' }] }), [])
        .outcome,
    ).toBe('rejected');
    expect(summarise(item({ readings: [reading(1)] }), ['conflict']).outcome).toBe('rejected');
  });

  it('a 004 value that differs at the same millisecond is a duplicate (first stored wins), not a conflict', () => {
    expect(
      summarise(item({ kind: 'data', acks: false, readings: [reading(1)] }), ['conflict']),
    ).toMatchObject({
      outcome: 'duplicate',
      duplicates: 1,
      rejected: 0,
    });
  });
});

describe('message log rows', () => {
  it('MESSAGE_LOG=rejected logs only rejected and partial messages; all logs all; off none', () => {
    const ok = summarise(item({ readings: [reading(1)] }), ['stored']);
    const bad = summarise(item({ readings: [reading(1)] }), ['conflict']);
    expect([shouldLog('rejected', ok), shouldLog('rejected', bad)]).toEqual([false, true]);
    expect([shouldLog('all', ok), shouldLog('off', bad)]).toEqual([true, false]);
  });

  it('keeps the cut payload, flags the cut and names the first reason', () => {
    const it_ = item({
      bytes: 5000,
      logPayload: Buffer.from('{"v":1'),
      rejected: [{ scope: 'message', reason: 'oversized', detail: 'too big' }],
    });
    const row = logRow(it_, summarise(it_, []));
    expect(row.slice(1, 9)).toEqual([
      'dev-1',
      'telemetry',
      5000,
      Buffer.from('{"v":1'),
      1,
      'rejected',
      'oversized',
      'oversized: too big',
    ]);
  });

  it('cuts a long detail to 500 chars', () => {
    const rejected = Array.from({ length: 50 }, (_, i) => ({
      scope: 'reading' as const,
      reason: 'out_of_range' as const,
      detail: 'x'.repeat(30),
      seq: i + 1,
    }));
    const it_ = item({ rejected });
    expect(logRow(it_, summarise(it_, []))[8]).toHaveLength(500);
  });
});
