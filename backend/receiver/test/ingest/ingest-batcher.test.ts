import { describe, expect, it } from 'vitest';
import { IngestBatcher, weightOf } from '../../src/ingest/ingest-batcher.js';
import { item, reading } from '../support/items.js';

describe('IngestBatcher', () => {
  it('weighs a message by its rows plus one', () => {
    expect(weightOf(item({ readings: [reading(1, { derived: { dew_point: 1 } })] }))).toBe(4);
    expect(weightOf(item({ kind: 'online' }))).toBe(1);
    // Payload held for the message log weighs a row per whole KiB (flow control of rejected floods).
    expect(weightOf(item({ kind: 'telemetry', logPayload: Buffer.alloc(4096) }))).toBe(5);
    expect(weightOf(item({ kind: 'telemetry', logPayload: Buffer.alloc(1023) }))).toBe(1);
  });

  it('is due after maxWait, or at once when maxRows are waiting', () => {
    const b = new IngestBatcher({ maxRows: 10, maxWaitMs: 50 });
    expect(b.dueIn(0)).toBeUndefined();
    b.add(item({ receivedAt: 1000, readings: [reading(1)] }));
    expect(b.dueIn(1010)).toBe(40);
    for (let i = 0; i < 3; i++) b.add(item({ receivedAt: 1001, readings: [reading(2)] }));
    expect(b.dueIn(1010)).toBe(0);
  });

  it('takes whole messages up to maxRows, at least one', () => {
    const b = new IngestBatcher({ maxRows: 7, maxWaitMs: 0 });
    const big = item({ readings: [reading(1), reading(2), reading(3), reading(4)] });
    b.add(big);
    b.add(item({ readings: [reading(5)] }));
    b.add(item({ readings: [reading(6)] }));
    expect(b.take()).toEqual({ items: [big], rows: 9 });
    expect(b.take().items).toHaveLength(2);
    expect(b.pendingRows).toBe(0);
    expect(b.pendingMessages).toBe(0);
  });
});
