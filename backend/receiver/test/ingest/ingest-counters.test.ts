import { describe, expect, it } from 'vitest';
import { countBatch } from '../../src/ingest/ingest-counters.js';
import { summarise } from '../../src/ingest/message-log.js';
import { item, reading } from '../support/items.js';

describe('countBatch', () => {
  it('adds up messages per UTC minute and device, and rejections by scope and reason', () => {
    const t = Date.UTC(2026, 10, 23, 10, 0, 59, 999);
    const items = [
      item({ receivedAt: t, readings: [reading(1), reading(2)] }),
      item({
        receivedAt: t + 1,
        readings: [reading(3)],
        rejected: [{ scope: 'reading', reason: 'out_of_range', detail: '', seq: 4 }],
      }),
      item({ receivedAt: t, rejected: [{ scope: 'message', reason: 'malformed_json', detail: '' }] }),
    ];
    const outcomes = [['stored', 'duplicate'], ['conflict'], []] as const;
    const summaries = items.map((it, i) => summarise(it, outcomes[i]!));
    const { counters, rejections } = countBatch(items, summaries, [8, 0, 0]);
    expect(counters).toEqual([
      {
        minute: '2026-11-23 10:00:00',
        deviceId: 'dev-1',
        messages: 2,
        readings: 2,
        storedReadings: 1,
        duplicateReadings: 1,
        rejectedReadings: 0,
        rejectedMessages: 1,
        storedRows: 8,
      },
      {
        minute: '2026-11-23 10:01:00',
        deviceId: 'dev-1',
        messages: 1,
        readings: 2,
        storedReadings: 0,
        duplicateReadings: 0,
        rejectedReadings: 2,
        rejectedMessages: 0,
        storedRows: 0,
      },
    ]);
    expect(rejections.map((r) => [r.minute.slice(14, 16), r.scope, r.reason, r.n])).toEqual([
      ['00', 'message', 'malformed_json', 1],
      ['01', 'reading', 'out_of_range', 1],
      ['01', 'reading', 'seq_conflict', 1],
    ]);
  });
});
