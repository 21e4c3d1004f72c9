import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { OutboxStore } from '@sensorfleet/shared';
import { RedisForwarderStore, seqConflictsKey } from '@sensorfleet/mqtthandler/redis-forwarder-store';
import { RedisOutboxAppender } from '@sensorfleet/sensor/redis-outbox-appender';
import { RedisServer } from '../src/harness/index.js';

/**
 * The device-side Lua scripts and checks against a real Redis: ack-checked removal, seq-conflict
 * renumbering (after a Redis rollback) and the sensor's "did my append run?" check.
 */
let server: RedisServer;
let redis: Redis;
let outbox: OutboxStore;
let store: RedisForwarderStore;
const NO_BOUNDS = { maxReadings: 0, maxAgeMs: 0 };
const ts = (i: number) => new Date(Date.UTC(2026, 10, 23, 10, 0, 0, i)).toISOString();

beforeAll(async () => {
  server = await RedisServer.start();
  redis = new Redis(server.url);
  outbox = new OutboxStore(redis);
  store = new RedisForwarderStore(redis, outbox);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.destroy();
});
beforeEach(async () => {
  await redis.flushall();
});

async function appendN(n: number): Promise<void> {
  for (let i = 1; i <= n; i++) await outbox.append(ts(i), { temperature: i }, NO_BOUNDS);
}

describe('RedisForwarderStore', () => {
  it('removes acked readings only where seq and ts still match, and says which seqs changed', async () => {
    await appendN(5);
    const result = await store.removeSent([
      { seq: 1, ts: ts(1) },
      { seq: 2, ts: ts(2) },
      { seq: 3, ts: '2026-01-01T00:00:00.000Z' }, // seq 3 holds another reading now
      { seq: 99, ts: ts(99) }, // gone (dropped by the bound): neither removed nor changed
    ]);
    expect(result).toEqual({ removed: 2, changed: 1 });
    expect((await outbox.readRange(0, '+', 10)).map((r) => r.seq)).toEqual([3, 4, 5]);
  });

  it('handles acks of thousands of readings in chunks', async () => {
    await appendN(1200);
    const all = await outbox.readRange(0, '+', 2000);
    expect(await store.removeSent(all.map((r) => ({ seq: r.seq, ts: r.ts })))).toEqual({
      removed: 1200,
      changed: 0,
    });
    expect(await redis.xlen(outbox.keys.outbox)).toBe(0);
  });

  it('renumbers conflicting readings above the backend’s highest seq, unchanged, and counts them', async () => {
    await appendN(6);
    const moved = await store.renumber(
      [
        { seq: 4, ts: ts(4) },
        { seq: 5, ts: ts(5) },
        { seq: 6, ts: 'not what is stored' },
      ],
      40,
    );
    expect(moved).toEqual([
      { from: 4, to: 41 },
      { from: 5, to: 42 },
    ]);
    const after = await outbox.readRange(0, '+', 10);
    expect(after).toEqual([
      { seq: 1, ts: ts(1), values: { temperature: 1 } },
      { seq: 2, ts: ts(2), values: { temperature: 2 } },
      { seq: 3, ts: ts(3), values: { temperature: 3 } },
      { seq: 6, ts: ts(6), values: { temperature: 6 } },
      { seq: 41, ts: ts(4), values: { temperature: 4 } },
      { seq: 42, ts: ts(5), values: { temperature: 5 } },
    ]);
    expect(await store.seqConflicts()).toBe(2);
    expect(await redis.get(seqConflictsKey())).toBe('2');
    // the sensor's next append continues above
    expect((await outbox.append(ts(7), { temperature: 7 }, NO_BOUNDS)).seq).toBe(43);
  });

  it('raises the counter without moving anything when only the backend’s highest seq is known', async () => {
    await appendN(3);
    expect(await store.renumber([], 500)).toEqual([]);
    expect(await outbox.lastSeq()).toBe(500);
    expect(await store.renumber([], 100)).toEqual([]); // never lowers it
    expect(await outbox.lastSeq()).toBe(500);
  });

  it('keeps new ids above the stream’s last id even if the counter is behind it', async () => {
    await appendN(10);
    await redis.set(outbox.keys.seq, '2'); // counter and stream disagree (must not happen, must not break)
    const moved = await store.renumber([{ seq: 3, ts: ts(3) }], 0);
    expect(moved).toEqual([{ from: 3, to: 11 }]);
  });

  it('renumbers on an empty stream (nothing left to move) without failing', async () => {
    expect(await store.renumber([{ seq: 1, ts: ts(1) }], 7)).toEqual([]);
    expect(await outbox.lastSeq()).toBe(7);
  });
});

describe('the bounded outbox (the sensor’s append script)', () => {
  it('drops readings older than OUTBOX_MAX_AGE, oldest first, and counts them', async () => {
    const now = Date.UTC(2026, 10, 23, 12);
    const bounds = { maxReadings: 0, maxAgeMs: 3_600_000 };
    for (const hoursAgo of [5, 3, 2, 0.5]) {
      await outbox.append(
        new Date(now - hoursAgo * 3_600_000).toISOString(),
        { temperature: hoursAgo },
        bounds,
        now,
      );
    }
    // each append dropped what was too old at that moment: only the last one is young enough
    const left = await outbox.readRange(0, '+', 10);
    expect(left.map((r) => r.values.temperature)).toEqual([0.5]);
    expect((await outbox.stats()).dropped).toBe(3);
  });
});

describe('RedisOutboxAppender', () => {
  it('recognises its own reading as the newest entry (an append whose reply was lost)', async () => {
    const appender = new RedisOutboxAppender(redis, outbox);
    expect(await appender.newestSeqIf(ts(1), { temperature: 1 })).toBeUndefined();
    await appendN(3);
    expect(await appender.newestSeqIf(ts(3), { temperature: 3 })).toBe(3);
    expect(await appender.newestSeqIf(ts(3), { temperature: 3.5 })).toBeUndefined();
    expect(await appender.newestSeqIf(ts(2), { temperature: 2 })).toBeUndefined();
    await appender.addDropped(4);
    expect((await outbox.stats()).dropped).toBe(4);
  });
});
