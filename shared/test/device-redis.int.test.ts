import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { commandLoggingClient, RedisServer } from '@sensorfleet/tools/harness';
import { MeasuringStateStore, OutboxStore, UNCONFIRMED_DROPS_MAX } from '../src/index.js';

const unbounded = { maxReadings: 0, maxAgeMs: 0 };

describe('device Redis (real redis-server, AOF always)', () => {
  let server: RedisServer;
  let redis: Redis;
  beforeAll(async () => {
    server = await RedisServer.start({ appendfsync: 'always' });
    redis = new Redis(server.url, { maxRetriesPerRequest: null });
  });
  afterAll(async () => {
    redis.disconnect();
    await server.stop();
  });

  it('assigns contiguous seqs from 1 with the append, and keeps them across a kill -9', async () => {
    const outbox = new OutboxStore(redis, 'a:');
    const seqs = [];
    for (let i = 0; i < 5; i++)
      seqs.push((await outbox.append(`2026-11-23T10:00:0${i}.000Z`, { t: i }, unbounded)).seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    await server.kill();
    await server.start();
    const again = new OutboxStore(redis, 'a:');
    expect((await again.append('2026-11-23T10:00:09.000Z', { t: 9 }, unbounded)).seq).toBe(6);
    const all = await again.readRange(0, '+', 100);
    expect(all.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(all[2]).toEqual({ seq: 3, ts: '2026-11-23T10:00:02.000Z', values: { t: 2 } });
  });

  it("publishes each appended seq on the device's outbox:appended channel, after the entry is readable", async () => {
    const outbox = new OutboxStore(redis, 'h:');
    const other = new OutboxStore(redis, 'other:');
    const stores = new Map<string, OutboxStore>([outbox, other].map((o) => [o.keys.outboxAppended, o]));
    const subscriber = redis.duplicate();
    const seen: { channel: string; seq: number; readable: boolean }[] = [];
    const checks: Promise<void>[] = [];
    subscriber.on('message', (channel: string, message: string) => {
      const seq = Number(message);
      checks.push(
        stores
          .get(channel)!
          .readRange(seq - 1, seq, 1)
          .then((r) => void seen.push({ channel, seq, readable: r.length === 1 })),
      );
    });
    await subscriber.subscribe(outbox.keys.outboxAppended, 'other:outbox:appended');
    for (let i = 1; i <= 3; i++) await outbox.append(new Date(i * 1000).toISOString(), { v: i }, unbounded);
    await other.append(new Date(9000).toISOString(), { v: 9 }, unbounded);
    await expect.poll(() => seen.length).toBe(4);
    await Promise.all(checks);
    subscriber.disconnect();
    expect(seen).toEqual([
      { channel: 'h:outbox:appended', seq: 1, readable: true },
      { channel: 'h:outbox:appended', seq: 2, readable: true },
      { channel: 'h:outbox:appended', seq: 3, readable: true },
      { channel: 'other:outbox:appended', seq: 1, readable: true },
    ]);
  });

  it('reads ranges exclusive of the start and inclusive of the end, and deletes exactly the named seqs', async () => {
    const outbox = new OutboxStore(redis, 'b:');
    for (let i = 1; i <= 10; i++) await outbox.append(new Date(i * 1000).toISOString(), { v: i }, unbounded);
    expect((await outbox.readRange(3, 6, 100)).map((r) => r.seq)).toEqual([4, 5, 6]);
    expect((await outbox.readRange(3, '+', 2)).map((r) => r.seq)).toEqual([4, 5]);
    expect(await outbox.remove([2, 4, 4, 99])).toBe(2);
    expect((await outbox.readRange(0, '+', 100)).map((r) => r.seq)).toEqual([1, 3, 5, 6, 7, 8, 9, 10]);
    const stats = await outbox.stats();
    expect(stats).toMatchObject({ backlog: 8, lastSeq: 10, oldestSeq: 1, dropped: 0 });
  });

  it('reads the outbox figures of the state in one command, empty or not', async () => {
    const { client, sent } = commandLoggingClient(server.url);
    try {
      const outbox = new OutboxStore(client, 's:');
      expect(await outbox.stats()).toEqual({
        backlog: 0,
        lastSeq: 0,
        oldestSeq: undefined,
        oldestTs: undefined,
        dropped: 0,
        dropsUnconfirmed: 0,
        rejected: 0,
      });
      for (let i = 1; i <= 3; i++) await outbox.append(new Date(i * 1000).toISOString(), { v: i }, unbounded);
      await outbox.remove([1]);
      await outbox.addRejected(2);
      await client.set(outbox.keys.dropped, '4');
      await client.zadd(outbox.keys.dropsUnconfirmed, 1, '1 x');
      sent.length = 0;
      expect(await outbox.stats()).toEqual({
        backlog: 2,
        lastSeq: 3,
        oldestSeq: 2,
        oldestTs: new Date(2000).toISOString(),
        dropped: 4,
        dropsUnconfirmed: 1,
        rejected: 2,
      });
      expect(sent).toEqual(['evalsha']);
    } finally {
      client.disconnect();
    }
  });

  it('bounds the outbox by count, oldest first, counting every drop', async () => {
    const outbox = new OutboxStore(redis, 'c:');
    let dropped = 0;
    for (let i = 1; i <= 25; i++) {
      dropped += (
        await outbox.append(new Date(i * 1000).toISOString(), { v: i }, { maxReadings: 10, maxAgeMs: 0 })
      ).dropped;
    }
    expect(dropped).toBe(15);
    const stats = await outbox.stats();
    expect(stats).toMatchObject({ backlog: 10, lastSeq: 25, oldestSeq: 16, dropped: 15 });
  });

  it('keeps a dropped reading that was read for sending as an unconfirmed stub, not counted', async () => {
    const outbox = new OutboxStore(redis, 'u:');
    const bounds = { maxReadings: 3, maxAgeMs: 0 };
    for (let i = 1; i <= 3; i++) await outbox.append(new Date(i * 1000).toISOString(), { v: i }, bounds);
    await redis.set(outbox.keys.sentMax, '2'); // the mqtthandler read 1 and 2 for sending
    const results = [];
    for (let i = 4; i <= 6; i++)
      results.push(await outbox.append(new Date(i * 1000).toISOString(), { v: i }, bounds));
    expect(results.map((r) => [r.dropped, r.unconfirmed])).toEqual([
      [0, 1],
      [0, 1],
      [1, 0],
    ]);
    expect(await outbox.stats()).toMatchObject({ backlog: 3, dropped: 1, dropsUnconfirmed: 2 });
    expect(await redis.zrange(outbox.keys.dropsUnconfirmed, '0', '-1')).toEqual([
      `1 ${new Date(1000).toISOString()}`,
      `2 ${new Date(2000).toISOString()}`,
    ]);
  });

  it('counts unconfirmed stubs beyond UNCONFIRMED_DROPS_MAX at once, oldest first, remembering them as counted', async () => {
    const outbox = new OutboxStore(redis, 'w:');
    const stubs = Array.from({ length: UNCONFIRMED_DROPS_MAX }, (_, i) => [i + 1, `${i + 1} x`] as const);
    await redis.zadd(outbox.keys.dropsUnconfirmed, ...stubs.flat());
    await redis.set(outbox.keys.seq, String(UNCONFIRMED_DROPS_MAX));
    await redis.set(outbox.keys.sentMax, String(UNCONFIRMED_DROPS_MAX + 10));
    const bounds = { maxReadings: 1, maxAgeMs: 0 };
    await outbox.append(new Date(1000).toISOString(), { v: 1 }, bounds);
    const r = await outbox.append(new Date(2000).toISOString(), { v: 2 }, bounds);
    expect(r).toMatchObject({ dropped: 1, unconfirmed: 1 });
    expect(await outbox.stats()).toMatchObject({ dropped: 1, dropsUnconfirmed: UNCONFIRMED_DROPS_MAX });
    expect(await redis.zrange(outbox.keys.dropsCounted, '0', '-1')).toEqual(['1 x']);
  });

  it('bounds the outbox by age', async () => {
    const outbox = new OutboxStore(redis, 'd:');
    const now = Date.parse('2026-11-23T12:00:00.000Z');
    for (let minutes = 120; minutes >= 0; minutes -= 10) {
      await outbox.append(new Date(now - minutes * 60_000).toISOString(), { v: minutes }, unbounded);
    }
    const r = await outbox.append(
      new Date(now).toISOString(),
      { v: 0 },
      { maxReadings: 0, maxAgeMs: 3_600_000 },
      now,
    );
    // 120, 110, …, 70 minutes old are older than an hour: 6 dropped.
    expect(r.dropped).toBe(6);
    expect((await outbox.stats()).oldestTs).toBe(new Date(now - 60 * 60_000).toISOString());
  });

  it('drops at each append what is too old by then, oldest first, and counts it', async () => {
    const outbox = new OutboxStore(redis, 'e:');
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

  it('measuring state: defaults, set, and an atomic toggle under concurrency', async () => {
    const state = new MeasuringStateStore(redis, { running: true, intervalMs: 1000 }, 'e:');
    expect(await state.get()).toMatchObject({ running: true, intervalMs: 1000 });
    await state.setInterval(250, 'command');
    expect((await state.get()).intervalMs).toBe(250);
    // 7 toggles racing from two clients end in the opposite state of the start.
    const second = redis.duplicate();
    const other = new MeasuringStateStore(second, { running: true, intervalMs: 1000 }, 'e:');
    await Promise.all([1, 2, 3, 4, 5, 6, 7].map((i) => (i % 2 ? state : other).toggle('button')));
    second.disconnect();
    expect((await state.get()).running).toBe(false);
    expect((await state.get()).updatedBy).toBe('button');
  });
});
