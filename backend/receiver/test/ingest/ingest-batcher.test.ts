import { describe, expect, it } from 'vitest';
import { IngestBatcher, isLiveItem, LIVE_MAX_AGE_MS, weightOf } from '../../src/ingest/ingest-batcher.js';
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

  it('takes live messages ahead of a backlog that arrived before them, keeping each lane in order', () => {
    const now = Date.UTC(2026, 10, 23, 12, 0, 0);
    const fresh = (seq: number) => reading(seq, { measuredMs: now - 500 });
    const old = (seq: number) => reading(seq, { measuredMs: now - 3_600_000 });
    const b = new IngestBatcher({ maxRows: 6, maxWaitMs: 50 });
    const backlog = [1, 2, 3].map((s) =>
      item({ deviceId: 'replaying', receivedAt: now, readings: [old(s)] }),
    );
    for (const i of backlog) b.add(i);
    const live = [1, 2].map((s) =>
      item({ deviceId: `live-${s}`, receivedAt: now + 1, readings: [fresh(s)] }),
    );
    for (const i of live) b.add(i);
    // 3 rows each (2 values + 1): the first transaction holds the two live messages, then the backlog.
    expect(b.take().items).toEqual(live);
    expect(b.take().items).toEqual(backlog.slice(0, 2));
    // A live message arriving now still goes before the backlog's rest.
    const late = item({ deviceId: 'live-3', receivedAt: now + 2, readings: [fresh(3)] });
    b.add(late);
    expect(b.take().items).toEqual([late, backlog[2]]);
    expect(b.pendingMessages).toBe(0);
    expect(b.pendingRows).toBe(0);
  });

  it('counts as live only messages whose readings are all fresh and that carry no probe', () => {
    const now = Date.UTC(2026, 10, 23, 12, 0, 0);
    const at = (ageMs: number, seq = 1) => reading(seq, { measuredMs: now - ageMs });
    expect(isLiveItem(item({ receivedAt: now, readings: [at(100)] }))).toBe(true);
    expect(isLiveItem(item({ receivedAt: now, readings: [at(LIVE_MAX_AGE_MS)] }))).toBe(true);
    expect(isLiveItem(item({ receivedAt: now, readings: [at(100), at(LIVE_MAX_AGE_MS + 1, 2)] }))).toBe(
      false,
    );
    expect(isLiveItem(item({ receivedAt: now, readings: [] }))).toBe(false);
    expect(isLiveItem(item({ kind: 'online', receivedAt: now }))).toBe(false);
    expect(
      isLiveItem(item({ receivedAt: now, readings: [at(100)], probe: [{ seq: 1, measuredMs: now - 1 }] })),
    ).toBe(false);
    // Due times follow the oldest message of either lane.
    const b = new IngestBatcher({ maxRows: 100, maxWaitMs: 50 });
    b.add(item({ receivedAt: now, readings: [at(3_600_000)] }));
    b.add(item({ receivedAt: now + 30, readings: [at(10)] }));
    expect(b.dueIn(now + 10)).toBe(40);
  });
});
