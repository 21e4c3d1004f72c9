import type { Redis } from 'ioredis';
import type { Component } from '@sensorfleet/shared';

/**
 * The Redis client as a lifecycle component. After a lost connection Redis may have restarted without its
 * last writes (appendfsync everysec), so `onReconnected` runs whenever the connection is ready again.
 */
export class RedisConnection implements Component {
  readonly name = 'redis';
  private lost = false;

  constructor(
    private readonly redis: Redis,
    private readonly onReconnected: () => void,
  ) {}

  async start(): Promise<void> {
    await this.redis.connect();
    this.redis.on('close', () => (this.lost = true));
    this.redis.on('ready', () => {
      if (!this.lost) return;
      this.lost = false;
      this.onReconnected();
    });
  }

  async stop(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
