import { SEQ_CONFLICT_REASON } from '@sensorfleet/shared';
import { describe, expect, it } from 'vitest';
import { buildAcks } from '../../src/ingest/ack-builder.js';
import { item, reading } from '../support/items.js';

describe('buildAcks', () => {
  it('acks committed seqs (stored or duplicate) as ranges, one ack per device', () => {
    const items = [
      item({ readings: [reading(1), reading(2)] }),
      item({ readings: [reading(3)] }),
      item({ deviceId: 'dev-2', readings: [reading(9)] }),
    ];
    const acks = buildAcks(items, [['stored', 'duplicate'], ['stored'], ['stored']], new Map());
    expect(Object.fromEntries(acks)).toEqual({
      'dev-1': { v: 1, ranges: [[1, 3]] },
      'dev-2': { v: 1, ranges: [[9, 9]] },
    });
  });

  it('rejects invalid readings with their reason, and conflicts with seq_conflict and highestSeq', () => {
    const items = [
      item({
        readings: [reading(4), reading(5), reading(6)],
        rejected: [{ scope: 'reading', reason: 'out_of_range', detail: 'temperature 150 …', seq: 7 }],
      }),
    ];
    const acks = buildAcks(items, [['conflict', 'conflict', 'stored']], new Map([['dev-1', 6]]));
    expect(acks.get('dev-1')).toEqual({
      v: 1,
      ranges: [[6, 6]],
      rejected: [
        { seq: 7, reason: 'out_of_range: temperature 150 …' },
        { seq: 4, reason: SEQ_CONFLICT_REASON },
        { seq: 5, reason: SEQ_CONFLICT_REASON },
      ],
      highestSeq: 6,
    });
  });

  it('a seq both committed and in conflict in one batch is reported as a conflict only', () => {
    const items = [item({ readings: [reading(1)] }), item({ readings: [reading(1, { measuredMs: 2 })] })];
    const ack = buildAcks(items, [['stored'], ['conflict']], new Map([['dev-1', 1]])).get('dev-1');
    expect(ack).toEqual({
      v: 1,
      ranges: [],
      rejected: [{ seq: 1, reason: SEQ_CONFLICT_REASON }],
      highestSeq: 1,
    });
  });

  it('sends nothing to devices that do not speak the ack protocol (004) or had nothing to say', () => {
    const items = [
      item({ kind: 'data', acks: false, readings: [reading(1)] }),
      item({ deviceId: 'dev-2', rejected: [{ scope: 'message', reason: 'malformed_json', detail: '…' }] }),
    ];
    expect(buildAcks(items, [['stored'], []], new Map()).size).toBe(0);
  });
});
