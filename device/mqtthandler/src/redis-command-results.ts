import type { Redis } from 'ioredis';
import { deviceKeys, type CommandResult } from '@sensorfleet/shared';
import type { CommandResultStore } from './command-router.js';

/** Keeps the last `keep` command results in Redis (so dedup survives a restart), oldest trimmed. */
export class RedisCommandResults implements CommandResultStore {
  private readonly keys;

  constructor(
    private readonly redis: Redis,
    keyPrefix?: string,
    private readonly keep = 1000,
  ) {
    this.keys = deviceKeys(keyPrefix);
  }

  async get(id: string): Promise<CommandResult | undefined> {
    const json = await this.redis.hget(this.keys.commandResults, id);
    return json ? (JSON.parse(json) as CommandResult) : undefined;
  }

  async put(result: CommandResult): Promise<void> {
    await this.redis
      .multi()
      .hset(this.keys.commandResults, result.id, JSON.stringify(result))
      .zadd(this.keys.commandOrder, String(Date.now()), result.id)
      .exec();
    const excess = (await this.redis.zcard(this.keys.commandOrder)) - this.keep;
    if (excess > 0) {
      const old = await this.redis.zrange(this.keys.commandOrder, '0', String(excess - 1));
      if (old.length) {
        await this.redis
          .multi()
          .hdel(this.keys.commandResults, ...old)
          .zrem(this.keys.commandOrder, ...old)
          .exec();
      }
    }
  }
}
