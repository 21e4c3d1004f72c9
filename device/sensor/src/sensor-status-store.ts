import type { Redis } from 'ioredis';
import { deviceKeys } from '@sensorfleet/shared/device-redis/keys';
import type { SensorReport } from './measurement-loop.js';

/** The sensor's health as the rest of the device (mqtthandler → device state) sees it. */
export class SensorStatusStore {
  private readonly key: string;

  constructor(
    private readonly redis: Redis,
    keyPrefix?: string,
  ) {
    this.key = deviceKeys(keyPrefix).sensorStatus;
  }

  async write(status: SensorReport): Promise<void> {
    await this.redis
      .multi()
      .del(this.key)
      .hset(this.key, { json: JSON.stringify(status), at: new Date().toISOString() })
      .exec();
  }

  async read(): Promise<SensorReport | undefined> {
    const json = await this.redis.hget(this.key, 'json');
    return json ? (JSON.parse(json) as SensorReport) : undefined;
  }
}
