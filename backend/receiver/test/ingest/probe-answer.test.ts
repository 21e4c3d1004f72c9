import { describe, expect, it } from 'vitest';
import { judgeProbe, probesByDevice } from '../../src/ingest/probe-answer.js';
import { item, reading } from '../support/items.js';

describe('probe answers', () => {
  it('says stored only for the same seq with the same measurement time', () => {
    const stubs = [1, 2, 3, 4, 6].map((seq) => ({ seq, measuredMs: seq * 1000 }));
    const stored = [
      { seq: 1, measuredMs: 1000 },
      { seq: 2, measuredMs: 2000 },
      { seq: 3, measuredMs: 3001 }, // another reading under seq 3: the dropped one is not there
      { seq: 6, measuredMs: 6000 },
    ];
    expect(judgeProbe(stubs, stored)).toEqual({
      stored: [
        [1, 2],
        [6, 6],
      ],
      unknown: [[3, 4]],
    });
  });

  it('gathers the stubs of a batch per device, each seq once', () => {
    const probe = (seqs: number[]) => seqs.map((seq) => ({ seq, measuredMs: seq }));
    const items = [
      { ...item({ deviceId: 'a', readings: [reading(10)] }), probe: probe([1, 2]) },
      item({ deviceId: 'b', readings: [reading(5)] }),
      { ...item({ deviceId: 'a', readings: [reading(11)] }), probe: probe([2, 3]) },
    ];
    expect(Object.fromEntries([...probesByDevice(items)].map(([d, s]) => [d, s.map((x) => x.seq)]))).toEqual({
      a: [1, 2, 3],
    });
  });
});
