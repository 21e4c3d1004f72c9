import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutboxStore } from '@sensorfleet/shared';
import { RedisServer } from '@sensorfleet/tools/harness';
import { RedisOutboxAppender } from '../src/redis-outbox-appender.js';

/** The sensor's "did my append run?" check against a real Redis. */
let server: RedisServer;
let redis: Redis;
let outbox: OutboxStore;
const NO_BOUNDS = { maxReadings: 0, maxAgeMs: 0 };
const ts = (i: number) => new Date(Date.UTC(2026, 10, 23, 10, 0, 0, i)).toISOString();

beforeAll(async () => {
  server = await RedisServer.start();
  redis = new Redis(server.url);
  outbox = new OutboxStore(redis);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.destroy();
});

describe('RedisOutboxAppender', () => {
  it('recognises its own reading as the newest entry (an append whose reply was lost)', async () => {
    const appender = new RedisOutboxAppender(redis, outbox);
    expect(await appender.newestSeqIf(ts(1), { temperature: 1 })).toBeUndefined();
    for (let i = 1; i <= 3; i++) await outbox.append(ts(i), { temperature: i }, NO_BOUNDS);
    expect(await appender.newestSeqIf(ts(3), { temperature: 3 })).toBe(3);
    expect(await appender.newestSeqIf(ts(3), { temperature: 3.5 })).toBeUndefined();
    expect(await appender.newestSeqIf(ts(2), { temperature: 2 })).toBeUndefined();
    await appender.addDropped(4);
    expect((await outbox.stats()).dropped).toBe(4);
  });
});
