import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { RedisServer, sleep } from '@sensorfleet/tools/harness';

/**
 * The power-cut shim under the real redis-server with the shipped device config: a kill -9 under it loses
 * exactly the AOF writes Redis had not fsynced. One client INCRs a counter as fast as Redis answers and
 * notes when each value was acknowledged; after the power cut and a restart the counter shows what
 * survived.
 */
let server: RedisServer | undefined;
afterEach(async () => {
  await server?.destroy();
  server = undefined;
});

interface Acked {
  value: number;
  at: number;
}

/** INCRs for `ms`, then cuts the power while the writes go on; returns every acknowledged value. */
async function writeThenCut(r: RedisServer, ms: number): Promise<{ acked: Acked[]; cutAt: number }> {
  const client = new Redis(r.url, { maxRetriesPerRequest: 0, retryStrategy: () => null, lazyConnect: true });
  client.on('error', () => undefined);
  await client.connect();
  const acked: Acked[] = [];
  let writing = true;
  const writer = (async () => {
    while (writing) {
      try {
        acked.push({ value: await client.incr('counter'), at: Date.now() });
      } catch {
        return; // the connection went with the power
      }
    }
  })();
  await sleep(ms);
  const cutAt = Date.now();
  await r.powerCut();
  writing = false;
  await writer;
  client.disconnect();
  return { acked, cutAt };
}

async function counterAfterRestart(r: RedisServer): Promise<number> {
  await r.start();
  const client = new Redis(r.url);
  try {
    return Number((await client.get('counter')) ?? 0);
  } finally {
    client.disconnect();
  }
}

describe('power cut of the device Redis (LD_PRELOAD shim)', () => {
  it('appendfsync everysec: the writes of the last second or so are gone, nothing older', async () => {
    server = await RedisServer.start({ appendfsync: 'everysec', powerCut: true });
    const { acked, cutAt } = await writeThenCut(server, 2500);
    const last = acked.at(-1)!.value;
    const survived = await counterAfterRestart(server);
    // Acknowledged more than 2 s before the cut: synced by the everysec fsync, so still there.
    const old = acked.filter((a) => a.at <= cutAt - 2000).at(-1)!.value;
    expect(survived).toBeGreaterThanOrEqual(old);
    // Something acknowledged is gone: the shim held it, a plain kill -9 would have kept it.
    expect(survived).toBeLessThan(last);
    // What survived is a prefix: the counter reads as it did when it was acknowledged.
    const lostSince = acked.find((a) => a.value === survived + 1)!.at;
    expect(cutAt - lostSince).toBeLessThanOrEqual(2000);
    // Redis loaded the AOF as the cut left it and goes on appending to it.
    const log = readFileSync(server.outputLog, 'utf8');
    expect(log).toContain('power-cut: writes under');
    expect(log).not.toMatch(/Bad file format|AOF.*corrupt/i);
    const client = new Redis(server.url);
    expect(await client.incr('counter')).toBe(survived + 1);
    client.disconnect();
  });

  it('appendfsync always: every acknowledged write survives the power cut', async () => {
    server = await RedisServer.start({ appendfsync: 'always', powerCut: true });
    const { acked } = await writeThenCut(server, 1000);
    const last = acked.at(-1)!.value;
    expect(last).toBeGreaterThan(10);
    // A write Redis executed but whose reply was lost with the cut may be there too (it was synced).
    const survived = await counterAfterRestart(server);
    expect(survived).toBeGreaterThanOrEqual(last);
    expect(survived).toBeLessThanOrEqual(last + 1);
  });

  it('an AOF rewrite (fork, new base and incr files, rename) under the shim: the cut AOF still loads', async () => {
    server = await RedisServer.start({ appendfsync: 'everysec', powerCut: true });
    const r = server;
    const admin = new Redis(r.url);
    const rewrite = (async () => {
      await sleep(500);
      await admin.bgrewriteaof();
      for (;;) {
        const info = await admin.info('persistence');
        if (/aof_rewrite_in_progress:0/.test(info) && /aof_rewrite_scheduled:0/.test(info)) break;
        await sleep(50);
      }
      admin.disconnect();
    })();
    const { acked, cutAt } = await writeThenCut(r, 2500);
    await rewrite;
    const survived = await counterAfterRestart(r);
    expect(survived).toBeGreaterThanOrEqual(acked.filter((a) => a.at <= cutAt - 2000).at(-1)!.value);
    expect(survived).toBeLessThanOrEqual(acked.at(-1)!.value);
    expect(readFileSync(r.outputLog, 'utf8')).toContain('Background AOF rewrite finished successfully');
  });

  it('without the shim a kill -9 keeps everything written (the page cache survives it)', async () => {
    server = await RedisServer.start({ appendfsync: 'everysec' });
    expect(() => server!.powerCut()).toThrow(/powerCut: true/);
    const client = new Redis(server.url);
    let last = 0;
    for (let i = 0; i < 500; i++) last = await client.incr('counter');
    client.disconnect();
    await server.kill();
    expect(await counterAfterRestart(server)).toBe(last);
  });
});
