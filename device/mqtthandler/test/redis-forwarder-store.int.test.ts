import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { COUNTED_DROPS_MAX, OutboxStore } from '@sensorfleet/shared';
import { commandLoggingClient, RedisServer } from '@sensorfleet/tools/harness';
import { RedisForwarderStore, seqConflictsKey } from '../src/redis-forwarder-store.js';
import { forwarderStoreContract } from './forwarder-store.contract.js';

/**
 * The mqtthandler's Lua scripts against a real Redis (started from the shipped device/redis/redis.conf):
 * the ForwarderStore contract the forwarder tests rely on, and what only Redis has (the conflict counter,
 * a counter behind the stream).
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

/** A Redis that lost its last writes: the entries above `seq` and the counter with them (AOF cut short). */
async function rollBackTo(seq: number): Promise<void> {
  const kept = await redis.xrange(outbox.keys.outbox, '-', `${seq}-0`);
  const tx = redis.multi().del(outbox.keys.outbox);
  for (const [id, fields] of kept) tx.xadd(outbox.keys.outbox, id, ...fields);
  await tx.set(outbox.keys.seq, String(seq)).exec();
}

describe('RedisForwarderStore keeps the ForwarderStore contract', () => {
  forwarderStoreContract(async () => {
    await redis.flushall();
    return {
      store,
      append: async (at, value) => (await outbox.append(at, { temperature: value }, NO_BOUNDS)).seq,
      rollBackTo,
      rejected: async () => (await outbox.stats()).rejected,
      // What the append script's bound does to one entry (the script itself: outbox-store.int.test.ts).
      drop: async (seq) => {
        const [e] = await redis.xrange(outbox.keys.outbox, `${seq}-0`, `${seq}-0`);
        if (!e || !(await redis.xdel(outbox.keys.outbox, `${seq}-0`))) return;
        if (seq <= Number((await redis.get(outbox.keys.sentMax)) ?? 0)) {
          await redis.zadd(outbox.keys.dropsUnconfirmed, seq, `${seq} ${e[1][1]}`);
        } else await redis.incr(outbox.keys.dropped);
      },
      dropped: async () => (await outbox.stats()).dropped,
    };
  });
});

describe('RedisForwarderStore', () => {
  it('looks for stubs to probe in one Redis command (the forwarder does it every second)', async () => {
    const { client, sent } = commandLoggingClient(server.url);
    const counted = new RedisForwarderStore(client, new OutboxStore(client));
    try {
      await counted.probeCandidates(Date.now(), 30_000, 500); // loads the script
      sent.length = 0;
      expect(await counted.probeCandidates(Date.now(), 30_000, 500)).toEqual({
        rechecks: [],
        unconfirmed: [],
      });
      expect(sent).toEqual(['evalsha']);
    } finally {
      client.disconnect();
    }
  });

  it('counts renumbered readings under seq:conflicts', async () => {
    await appendN(6);
    await store.renumber(
      [
        { seq: 4, ts: ts(4) },
        { seq: 5, ts: ts(5) },
        { seq: 6, ts: 'not what is stored' },
      ],
      40,
    );
    expect(await store.seqConflicts()).toBe(2);
    expect(await redis.get(seqConflictsKey())).toBe('2');
  });

  it('keeps new ids above the stream’s last id even if the counter is behind it', async () => {
    await appendN(10);
    await redis.set(outbox.keys.seq, '2'); // counter and stream disagree (must not happen, must not break)
    const moved = await store.renumber([{ seq: 3, ts: ts(3) }], 0);
    expect(moved).toEqual([{ from: 3, to: 11 }]);
  });

  it('keeps the re-check list, like the counted drops, to the last COUNTED_DROPS_MAX, scored by due time', async () => {
    const n = COUNTED_DROPS_MAX + 5;
    const stubs = Array.from({ length: n }, (_, i) => ({ seq: i + 1, ts: ts(i + 1) }));
    const add = redis.multi();
    for (const r of stubs) add.zadd(outbox.keys.dropsUnconfirmed, r.seq, `${r.seq} ${r.ts}`);
    await add.exec();
    const due = Date.UTC(2026, 10, 23, 12);
    const first = await store.resolveProbe([], stubs.slice(0, 5), due);
    const rest = await store.resolveProbe([], stubs.slice(5), due + 1000);
    expect(first.counted + rest.counted).toBe(n);
    expect(await redis.get(outbox.keys.dropped)).toBe(String(n));
    expect(await redis.zcard(outbox.keys.dropsCounted)).toBe(COUNTED_DROPS_MAX);
    expect(await redis.zcard(outbox.keys.dropsRecheck)).toBe(COUNTED_DROPS_MAX);
    // The earliest due went first; a member's score is its due time.
    expect(await redis.zscore(outbox.keys.dropsRecheck, `5 ${ts(5)}`)).toBeNull();
    expect(await redis.zscore(outbox.keys.dropsRecheck, `6 ${ts(6)}`)).toBe(String(due + 1000));
    // One that left the re-check list is still counted, and its re-check answer changes nothing.
    expect(await store.resolveProbe([stubs[0]!], [], due)).toMatchObject({ corrected: 0 });
    expect(await redis.get(outbox.keys.dropped)).toBe(String(n));
  });
});
