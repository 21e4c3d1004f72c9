import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { parseTopic, topicFilters, type Logger, type TopicKind } from '@sensorfleet/shared';
import mqtt, { type MqttClient } from 'mqtt';

export type BrokerMessageHandler = (deviceId: string, payload: Buffer, retained: boolean) => void;

/**
 * The web admin's broker session (account `webadmin`: reads `devices/#`, writes `devices/+/commands`).
 * Not a shared subscription: every replica sees every message, so each can feed its own WebSockets and
 * record results. Telemetry is taken at QoS 0 (live views want the newest, not every copy); online,
 * state and command results at QoS 1.
 */
export class BrokerLink {
  readonly name = 'broker';
  private client: MqttClient | undefined;
  private readonly handlers = new Map<TopicKind, BrokerMessageHandler[]>();

  constructor(
    private readonly opts: {
      url: string;
      username?: string | undefined;
      password?: string | undefined;
      caFile?: string | undefined;
      log: Logger;
    },
  ) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Registers a handler for one topic kind; call before start(). */
  on(kind: 'telemetry' | 'state' | 'online' | 'commandResult', handler: BrokerMessageHandler): void {
    const list = this.handlers.get(kind) ?? [];
    list.push(handler);
    this.handlers.set(kind, list);
  }

  async start(): Promise<void> {
    const clientId = `sf-webadmin-${hostname().slice(0, 20)}-${randomBytes(4).toString('hex')}`;
    const client = mqtt.connect(this.opts.url, {
      clientId,
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
        .subscribeAsync({
          [topicFilters.telemetry]: { qos: 0 },
          [topicFilters.state]: { qos: 1 },
          [topicFilters.online]: { qos: 1 },
          [topicFilters.commandResult]: { qos: 1 },
        })
        .catch((err: unknown) => this.opts.log.warn({ err }, 'subscribe failed'));
    });
    client.on('message', (topic, payload, packet) => {
      const parsed = parseTopic(topic);
      if (!parsed) return;
      for (const h of this.handlers.get(parsed.kind) ?? []) {
        try {
          h(parsed.deviceId, payload, packet.retain === true);
        } catch (err) {
          this.opts.log.error({ err, topic }, 'broker message handler failed');
        }
      }
    });
    client.on('close', () => this.opts.log.debug('broker connection closed'));
    client.on('error', (err) => this.opts.log.warn({ err: err.message }, 'mqtt error'));
  }

  /** QoS 1 publish; resolves on PUBACK, rejects when the broker is not connected. */
  async publish(topic: string, payload: string): Promise<void> {
    const client = this.client;
    if (!client?.connected) throw new Error('broker connection is down');
    await client.publishAsync(topic, payload, { qos: 1 });
  }

  async stop(): Promise<void> {
    await this.client?.endAsync().catch(() => undefined);
  }
}
