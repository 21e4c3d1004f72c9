import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '@sensorfleet/shared';

export interface ReceiverMqttOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  caFile?: string | undefined;
  subscriptions: string[];
  /**
   * Filters subscribed on every connect and unsubscribed as soon as the broker confirmed them: only to
   * read their retained messages (brokers that send none to shared subscriptions).
   */
  catchUp?: string[];
  log: Logger;
  /** Resolve when the message may be acknowledged to the broker; a slow promise pauses intake. */
  onMessage: (topic: string, payload: Buffer, retained: boolean) => Promise<void>;
}

/**
 * The backend's broker session. QoS 1 PUBACKs are held back while the ingest is full (mqtt.js handles one
 * incoming packet at a time until handleMessage calls back), which bounds the receiver's memory and lets
 * the broker hold the rest.
 */
export class ReceiverMqtt {
  readonly name = 'mqtt';
  private client: MqttClient | undefined;
  private closing = false;
  private corked = false;

  constructor(private readonly opts: ReceiverMqttOptions) {}

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  async start(): Promise<void> {
    const options: IClientOptions = {
      clientId: `sf-receiver-${hostname().slice(0, 20)}-${randomBytes(4).toString('hex')}`,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      username: this.opts.username,
      password: this.opts.password,
      ...(this.opts.caFile ? { ca: readFileSync(this.opts.caFile) } : {}),
    };
    const client = mqtt.connect(this.opts.url, options);
    this.client = client;
    client.handleMessage = (packet, callback) => {
      if (this.closing) return; // never PUBACK after stop began: the broker/device keep the message
      this.corkUntilNextTurn(client);
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      this.opts.onMessage(packet.topic, payload, packet.retain === true).then(
        () => callback(),
        (err: unknown) => {
          this.opts.log.error({ err, topic: packet.topic }, 'message handling failed');
          callback();
        },
      );
    };
    client.on('connect', () => {
      this.opts.log.info(
        { url: this.opts.url, subscriptions: this.opts.subscriptions },
        'connected to broker',
      );
      client
        .subscribeAsync(Object.fromEntries(this.opts.subscriptions.map((t) => [t, { qos: 1 as const }])))
        .then((granted) => {
          const refused = granted.filter((g) => g.qos === 128);
          if (refused.length) this.opts.log.error({ refused }, 'broker refused subscriptions (ACL?)');
        })
        .catch((err: unknown) => this.opts.log.warn({ err }, 'subscribe failed'));
      const catchUp = this.opts.catchUp ?? [];
      if (catchUp.length) {
        client
          .subscribeAsync(Object.fromEntries(catchUp.map((t) => [t, { qos: 1 as const }])))
          .then(() => client.unsubscribeAsync(catchUp))
          .catch((err: unknown) => this.opts.log.warn({ err }, 'retained catch-up subscription failed'));
      }
    });
    client.on('close', () => {
      if (!this.closing) this.opts.log.warn('broker connection lost; reconnecting');
    });
    client.on('error', (err) => this.opts.log.warn({ err: err.message }, 'mqtt error'));
  }

  /**
   * Small messages arrive by the hundred per socket read; each PUBACK would be its own write system call.
   * Corking the socket until the event loop turns sends them together (measured: writev was ~6 % of the
   * receiver's CPU with 1-reading messages).
   */
  private corkUntilNextTurn(client: MqttClient): void {
    const stream = client.stream as { cork?: () => void; uncork?: () => void } | undefined;
    if (this.corked || !stream?.cork || !stream.uncork) return;
    this.corked = true;
    stream.cork();
    setImmediate(() => {
      this.corked = false;
      stream.uncork?.();
    });
  }

  async publish(topic: string, payload: string, retain = false): Promise<void> {
    if (!this.client?.connected) throw new Error('not connected to broker');
    await this.client.publishAsync(topic, payload, { qos: 1, retain });
  }

  /** Stops taking messages; the connection stays until close() so acks of finished work can go out. */
  pause(): void {
    this.closing = true;
  }

  async stop(): Promise<void> {
    this.closing = true;
    await this.client?.endAsync().catch(() => {});
  }
}
