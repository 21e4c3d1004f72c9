import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { deviceKeys } from '@sensorfleet/shared';
import { RedisServer } from '@sensorfleet/tools/harness';
import { RESTART_GAP, StateRevisions } from '../src/state-revisions.js';

/**
 * State revisions against a real Redis: they only grow, across process restarts (a new StateRevisions on
 * the same Redis), and when Redis comes back without its last writes (the key set back or gone, as an AOF
 * cut short by a power cut leaves it).
 */
let server: RedisServer;
let redis: Redis;
const key = deviceKeys().stateRev;
const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 11, 3, 7, 0, 0);

beforeAll(async () => {
  server = await RedisServer.start();
  redis = new Redis(server.url);
});
afterAll(async () => {
  redis?.disconnect();
  await server?.destroy();
});
beforeEach(async () => {
  await redis.flushall();
});

describe('StateRevisions', () => {
  it('grow by one per state, in the order asked, and are stored in the device Redis', async () => {
    const revs = new StateRevisions(redis, undefined, () => NOW);
    const got = await Promise.all(Array.from({ length: 20 }, () => revs.next()));
    expect(got).toEqual(Array.from({ length: 20 }, (_, i) => NOW + 1 + i));
    expect(Number(await redis.get(key))).toBe(NOW + 20);
  });

  it('a restart continues past the stored revision although the wall clock went back an hour', async () => {
    const before = new StateRevisions(redis, undefined, () => NOW);
    const last = await before.next();
    const after = new StateRevisions(redis, undefined, () => NOW - HOUR);
    const next = await after.next();
    expect(next).toBe(last + RESTART_GAP + 1);
    expect(await after.next()).toBe(next + 1);
  });

  it('Redis back without its last writes: this process still never hands out a lower revision', async () => {
    const revs = new StateRevisions(redis, undefined, () => NOW);
    for (let i = 0; i < 5; i++) await revs.next();
    const last = await revs.next();
    await redis.set(key, String(last - 3)); // the last three INCRs lost
    expect(await revs.next()).toBe(last + 1);
    await redis.del(key); // or the key altogether
    expect(await revs.next()).toBe(last + 2);
  });

  it('a restart after a power cut that lost the last revisions skips past them', async () => {
    const revs = new StateRevisions(redis, undefined, () => NOW);
    const issued: number[] = [];
    for (let i = 0; i < 10; i++) issued.push(await revs.next());
    await redis.set(key, String(issued[6])); // the AOF lost the last three
    const restarted = new StateRevisions(redis, undefined, () => NOW - HOUR); // and the clock is behind
    expect(await restarted.next()).toBeGreaterThan(Math.max(...issued));
  });

  it('a wiped Redis starts from the wall clock, past revisions of earlier starts', async () => {
    const first = new StateRevisions(redis, undefined, () => NOW);
    let last = 0;
    for (let i = 0; i < 100; i++) last = await first.next();
    await redis.flushall();
    const later = new StateRevisions(redis, undefined, () => NOW + 60_000); // a minute later
    expect(await later.next()).toBeGreaterThan(last);
  });

  it('keeps devices apart by key prefix (the fleet simulator shares one Redis)', async () => {
    const a = new StateRevisions(redis, 'fleet:a:', () => NOW);
    const b = new StateRevisions(redis, 'fleet:b:', () => NOW + 5);
    await a.next();
    await a.next();
    expect(await b.next()).toBe(NOW + 6);
    expect(Number(await redis.get(deviceKeys('fleet:a:').stateRev))).toBe(NOW + 2);
  });
});
