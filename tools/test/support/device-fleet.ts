import { Redis } from 'ioredis';
import { OutboxStore } from '@sensorfleet/shared';
import { NodeService, RedisServer } from '@sensorfleet/tools/harness';
import { expectedValues } from './delivery-rig.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Devices as on a Pi: the sensor's outbox in Redis, the real mqtthandler forwarding it. */
export class DeviceFleet {
  private constructor(
    readonly ids: string[],
    readonly redisServer: RedisServer,
    readonly redis: Redis,
    readonly outboxes: OutboxStore[],
    readonly handlers: NodeService[],
  ) {}

  /**
   * `defaults`: the mqtthandler's own reconnect backoff and ack timeout, as shipped; otherwise fast ones
   * that keep drills short.
   */
  static async start(
    count: number,
    brokerUrl: string,
    opts: { defaults?: boolean } = {},
  ): Promise<DeviceFleet> {
    const redisServer = await RedisServer.start({ appendfsync: 'everysec' });
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    const ids = Array.from(
      { length: count },
      (_, i) => `dev-${i + 1}-${Math.random().toString(36).slice(2, 6)}`,
    );
    const handlers = await Promise.all(
      ids.map((id, i) =>
        NodeService.start('device/mqtthandler', {
          label: `mqtthandler-${i + 1}`,
          env: {
            LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
            DEVICE_ID: id,
            REDIS_URL: redisServer.url,
            REDIS_KEY_PREFIX: `d${i}:`,
            MQTT_URL: brokerUrl,
            ...(opts.defaults
              ? {}
              : {
                  MQTT_RECONNECT_MIN_MS: '200',
                  MQTT_RECONNECT_MAX_MS: '1000',
                  MQTT_ACK_TIMEOUT_MS: '5000',
                  MQTT_BATCH_MAX_WAIT_MS: '50',
                }),
          },
        }),
      ),
    );
    const outboxes = ids.map((_, i) => new OutboxStore(redis, `d${i}:`));
    return new DeviceFleet(ids, redisServer, redis, outboxes, handlers);
  }

  /** `perDevice` readings on every device at about `perSecond` in total; values encode the seq. */
  async produce(
    perDevice: number,
    perSecond: number,
    onProgress?: (n: number) => Promise<void>,
  ): Promise<void> {
    const started = Date.now();
    for (let n = 1; n <= perDevice; n++) {
      for (const outbox of this.outboxes) {
        await outbox.append(new Date().toISOString(), expectedValues(n), { maxReadings: 0, maxAgeMs: 0 });
      }
      if (onProgress) await onProgress(n);
      const ahead = started + (n * this.outboxes.length * 1000) / perSecond - Date.now();
      if (ahead > 0) await sleep(ahead);
    }
  }

  async backlog(): Promise<number> {
    const lens = await Promise.all(this.outboxes.map((o) => this.redis.xlen(o.keys.outbox)));
    return lens.reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await Promise.allSettled(this.handlers.map((h) => h.stop()));
    await this.redisServer.stop();
  }
}
