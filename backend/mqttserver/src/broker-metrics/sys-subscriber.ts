import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Logger } from '@sensorfleet/shared';
import mqtt, { type MqttClient } from 'mqtt';
import type { BrokerStats } from './broker-stats.js';

/**
 * A clean, read-only session of the `monitor` account (ACL: `$SYS/#` and nothing else). Mosquitto sends
 * the `$SYS` tree every `sys_interval` seconds and keeps its values retained, so a (re)connect has a full
 * set at once.
 */
export class SysSubscriber {
  readonly name = 'sys-subscriber';
  private client: MqttClient | undefined;

  constructor(
    private readonly opts: {
      url: string;
      username?: string | undefined;
      password?: string | undefined;
      caFile?: string | undefined;
      stats: BrokerStats;
      log: Logger;
    },
  ) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  start(): Promise<void> {
    // Not shared and not persistent: every exporter replica reads the whole tree, nothing queues while away.
    const client = mqtt.connect(this.opts.url, {
      clientId: `sf-broker-metrics-${hostname().slice(0, 20)}-${randomBytes(4).toString('hex')}`,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      username: this.opts.username,
      password: this.opts.password,
      ...(this.opts.caFile ? { ca: readFileSync(this.opts.caFile) } : {}),
    });
    this.client = client;
    client.on('connect', () => {
      this.opts.log.info({ url: this.opts.url }, 'connected to broker');
      client
        .subscribeAsync('$SYS/broker/#', { qos: 0 })
        .catch((err: unknown) => this.opts.log.warn({ err }, 'subscribe failed'));
    });
    client.on('message', (topic, payload) => this.opts.stats.update(topic, payload.toString('utf8')));
    client.on('error', (err) => this.opts.log.warn({ err: err.message }, 'mqtt error'));
    // Start does not wait for the broker: /health says whether it is there.
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    await this.client?.endAsync().catch(() => undefined);
  }
}
