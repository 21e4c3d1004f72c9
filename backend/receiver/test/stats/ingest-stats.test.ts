import { describe, expect, it } from 'vitest';
import type { BatchResult } from '../../src/ingest/batch-writer.js';
import { IngestStats, StatsReporter } from '../../src/stats/ingest-stats.js';
import { summarise } from '../../src/ingest/message-log.js';
import { item, reading } from '../support/items.js';

describe('IngestStats and the periodic statistics line', () => {
  it('counts committed messages and rejections by reason, and logs rates per minute', async () => {
    let now = 0;
    const stats = new IngestStats(() => now);
    const items = [
      item({ readings: [reading(1), reading(2)] }),
      item({ rejected: [{ scope: 'message', reason: 'malformed_json', detail: '' }] }),
    ];
    const outcomes = [['stored', 'duplicate'], []] as const;
    stats.received(items[0]!);
    stats.committed({
      summaries: items.map((it, i) => summarise(it, outcomes[i]!)),
      inserted: 4,
    } as unknown as BatchResult);
    const lines: unknown[] = [];
    const log = { info: (o: unknown, msg: string) => lines.push([o, msg]) } as never;
    const reporter = new StatsReporter({
      stats,
      intervalMs: 60_000,
      log,
      extra: () => ({ mqttConnected: true }),
      now: () => now,
    });
    await reporter.start();
    now = 30_000;
    reporter.report();
    await reporter.stop();
    expect(lines[0]).toEqual([
      {
        stats: {
          uptimeS: 30,
          messages: 2,
          readings: 2,
          storedReadings: 1,
          duplicateReadings: 1,
          rejectedReadings: 0,
          rejectedMessages: 1,
          storedRows: 4,
          rejectedByReason: { malformed_json: 1 },
          successRate: 50,
          lastMessageAt: new Date(items[0]!.receivedAt).toISOString(),
        },
        perMinute: { messages: 4, storedReadings: 2, rejectedReadings: 0 },
        mqttConnected: true,
      },
      'ingest statistics',
    ]);
  });
});
