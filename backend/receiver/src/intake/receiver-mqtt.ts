import { hostname } from 'node:os';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from '@sensorfleet/shared';

const ignoreLog = (): void => {};

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
  /**
   * Handles one message. Returns nothing when it may be acknowledged to the broker at once, or a promise
   * that resolves when it may; a slow promise pauses intake.
   */
  onMessage: (topic: string, payload: Buffer, retained: boolean) => Promise<void> | undefined;
}

/**
 * The backend's broker sessions. Intake: QoS 1 PUBACKs are held back while the ingest is full (mqtt.js
 * handles one incoming packet at a time until handleMessage calls back), which bounds the receiver's memory
 * and lets the broker hold the rest. Acks go out on a second connection: holding handleMessage also holds
 * the broker's PUBACKs for our own publishes on that connection, so acks of committed batches (and the
 * batches behind them) would pile up in memory exactly when intake is paused (measured: 36k acks waiting,
 * 250 MB heap, with one connection).
 */
export class ReceiverMqtt {
  readonly name = 'mqtt';
  private client: MqttClient | undefined;
  private publisher: MqttClient | undefined;
  private closing = false;
  private readonly corked = new WeakSet<object>();

  constructor(private readonly opts: ReceiverMqttOptions) {}

  get connected(): boolean {
    return (this.client?.connected ?? false) && (this.publisher?.connected ?? false);
  }

  private options(clientId: string, ca: Buffer | undefined): IClientOptions {
    return {
      clientId,
      clean: true,
      keepalive: 30,
      reconnectPeriod: 2000,
      connectTimeout: 10_000,
      username: this.opts.username,
      password: this.opts.password,
      ...(ca ? { ca } : {}),
      // mqtt.js logs through `debug` several times per packet; even switched off, each call gathered its
      // arguments into an array (12 % of the bytes the receiver allocated with 1-reading messages).
      // DEBUG=mqttjs* still turns mqtt.js's own logging on.
      ...(process.env.DEBUG ? {} : { log: ignoreLog }),
    };
  }

  async start(): Promise<void> {
    const clientId = `sf-receiver-${hostname().slice(0, 20)}-${randomBytes(4).toString('hex')}`;
    const ca = this.opts.caFile ? readFileSync(this.opts.caFile) : undefined;
    const publisher = mqtt.connect(this.opts.url, this.options(`${clientId}-out`, ca));
    this.publisher = publisher;
    publisher.on('error', (err) => this.opts.log.warn({ err: err.message }, 'mqtt error (ack connection)'));
    publisher.on('close', () => {
      if (!this.closing) this.opts.log.warn('ack connection lost; reconnecting');
    });
    const client = mqtt.connect(this.opts.url, this.options(clientId, ca));
    this.client = client;
    client.handleMessage = (packet, callback) => {
      if (this.closing) return; // never PUBACK after stop began: the broker/device keep the message
      this.corkUntilNextTurn(client);
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      let wait: Promise<void> | undefined;
      try {
        wait = this.opts.onMessage(packet.topic, payload, packet.retain === true);
      } catch (err) {
        this.handlingFailed(err, packet.topic, callback);
        return;
      }
      if (wait)
        wait.then(
          () => callback(),
          (err: unknown) => this.handlingFailed(err, packet.topic, callback),
        );
      else callback();
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

  private handlingFailed(err: unknown, topic: string, callback: () => void): void {
    this.opts.log.error({ err, topic }, 'message handling failed');
    callback();
  }

  /**
   * Small messages arrive by the hundred per socket read, and a batch from many devices is acked with a
   * burst of as many publishes; each packet would be its own write system call (mqtt-packet corks and
   * uncorks per packet). Corking the socket until the event loop turns sends them together (measured:
   * writev was ~6 % of the receiver's CPU with 1-reading messages).
   */
  private corkUntilNextTurn(client: MqttClient): void {
    const stream = client.stream as { cork?: () => void; uncork?: () => void } | undefined;
    if (!stream?.cork || !stream.uncork || this.corked.has(stream)) return;
    this.corked.add(stream);
    stream.cork();
    setImmediate(() => {
      this.corked.delete(stream);
      stream.uncork?.();
    });
  }

  async publish(topic: string, payload: string, retain = false): Promise<void> {
    const publisher = this.publisher;
    if (!publisher?.connected) throw new Error('ack connection to the broker is down');
    this.corkUntilNextTurn(publisher);
    await publisher.publishAsync(topic, payload, { qos: 1, retain });
  }

  /** Stops taking messages; the connection stays until close() so acks of finished work can go out. */
  pause(): void {
    this.closing = true;
  }

  async stop(): Promise<void> {
    this.closing = true;
    await Promise.all([this.client?.endAsync().catch(() => {}), this.publisher?.endAsync().catch(() => {})]);
  }
}
