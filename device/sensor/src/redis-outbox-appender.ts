import type { Redis } from 'ioredis';
import type { OutboxBounds, OutboxStore } from '@sensorfleet/shared';
import type { OutboxAppender } from './pending-appends.js';
import type { SensorValues } from './sources/sensor-source.js';

type StreamEntry = [id: string, fields: string[]];

/** The sensor's side of the outbox: shared's append script plus the two checks PendingAppends needs. */
export class RedisOutboxAppender implements OutboxAppender {
  constructor(
    private readonly redis: Redis,
    private readonly outbox: OutboxStore,
  ) {}

  append(ts: string, values: SensorValues, bounds: OutboxBounds, nowMs?: number) {
    return this.outbox.append(ts, values, bounds, nowMs);
  }

  async newestSeqIf(ts: string, values: SensorValues): Promise<number | undefined> {
    const [newest] = (await this.redis.xrevrange(
      this.outbox.keys.outbox,
      '+',
      '-',
      'COUNT',
      1,
    )) as StreamEntry[];
    if (!newest) return undefined;
    const [id, fields] = newest;
    const field = (name: string) => fields[fields.indexOf(name) + 1];
    // The append script stores exactly JSON.stringify(values), so equal strings mean the same reading.
    if (field('ts') !== ts || field('v') !== JSON.stringify(values)) return undefined;
    return Number(id.slice(0, id.indexOf('-')));
  }

  async addDropped(n: number): Promise<void> {
    if (n > 0) await this.redis.incrby(this.outbox.keys.dropped, n);
  }
}
