import { readFileSync } from 'node:fs';
import amqp, { type Channel, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from 'amqplib';
import { ReconnectBackoff, topics, type Logger } from '@sensorfleet/shared';
import { INTAKE_BINDING_KEYS, routingKeyToTopic, topicToRoutingKey } from './amqp-topics.js';
import type { BrokerIntake, InboundHandler } from './broker-intake.js';
import { DeliveryAcks } from './delivery-acks.js';

/** The exchange RabbitMQ's MQTT plugin publishes to and delivers from (`mqtt.exchange`). */
const MQTT_EXCHANGE = 'amq.topic';

export interface ReceiverAmqpOptions {
  /** Nodes of the cluster (or a load balancer); tried in turn, from the one after the last that failed. */
  urls: string[];
  caFile?: string | undefined;
  queue: string;
  /** Unacked deliveries this replica holds at most: the broker-side flow control and batch size. */
  prefetch: number;
  replicaId: string;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  log: Logger;
  onMessage: InboundHandler;
}

interface Session {
  connection: ChannelModel;
  consume: Channel;
  publish: ConfirmChannel;
  acks: DeliveryAcks;
  consumerTag?: string;
  url: string;
}

/** `amqp://user:***@host:port/…` for logs. */
function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(bad url)';
  }
}

/**
 * Intake from a RabbitMQ cluster over AMQP 0-9-1. Devices keep speaking MQTT to any node; the plugin
 * routes their publishes to `amq.topic`, where one durable quorum queue (replicated on the cluster's
 * nodes, a new leader elected when its node dies) is bound to the device topics. All replicas consume
 * that one queue, competing: each message goes to one of them. A delivery is acked only after its
 * commit (DeliveryAcks: in order, `multiple`), so a replica that dies or loses its connection leaves
 * its unacked messages to the others: at-least-once on this hop for every format, by the broker's
 * own rules, and storing twice is a no-op.
 *
 * Flow control: the prefetch bounds the deliveries a replica holds; when the ingest is full beyond its
 * limit as well (messages with many readings), the consumer is cancelled until there is room.
 *
 * Acks and commands go to `amq.topic` with the routing key of their MQTT topic, persistent (QoS 1 for
 * the MQTT subscriber), on a confirm channel: publish() resolves once the broker has them.
 *
 * Presence: AMQP has no retained messages or last will, and the plugin keeps retained messages per node
 * anyway, so nothing here is retained. `receivers/{id}/online` is published live (`true` once the
 * consumer is in place, `false` on a clean stop) for the devices connected at that moment, which resend
 * their unacked readings on it; a device that connects later resends on its own connect. Messages sent
 * while no replica consumes are not lost: they wait in the queue.
 */
export class ReceiverAmqp implements BrokerIntake {
  readonly name = 'amqp';
  private session: Session | undefined;
  private readonly backoff: ReconnectBackoff;
  private next = 0;
  private closing = false;
  private stopped = false;
  private connecting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private held = false;
  private readonly ca: Buffer | undefined;

  constructor(private readonly opts: ReceiverAmqpOptions) {
    if (opts.urls.length === 0) throw new Error('ReceiverAmqp needs at least one URL');
    this.backoff = new ReconnectBackoff(opts.reconnectMinMs, opts.reconnectMaxMs);
    this.ca = opts.caFile ? readFileSync(opts.caFile) : undefined;
  }

  get connected(): boolean {
    return this.session !== undefined;
  }

  get heldMessages(): number {
    return this.session?.acks.held ?? 0;
  }

  async start(): Promise<void> {
    // Like the MQTT intake: the service starts while the broker is away and connects when it is back.
    this.connectSoon(0);
  }

  private connectSoon(delayMs: number): void {
    if (this.stopped || this.timer || this.connecting) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connecting = this.connect().finally(() => (this.connecting = undefined));
    }, delayMs);
  }

  private async connect(): Promise<void> {
    const url = this.opts.urls[this.next % this.opts.urls.length]!;
    let connection: ChannelModel | undefined;
    try {
      connection = await amqp.connect(url, {
        timeout: 10_000,
        clientProperties: { connection_name: `receiver:${this.opts.replicaId}` },
        ...(this.ca ? { ca: [this.ca] } : {}),
      });
      const publish = await connection.createConfirmChannel();
      const consume = await connection.createChannel();
      await consume.assertQueue(this.opts.queue, {
        durable: true,
        arguments: { 'x-queue-type': 'quorum' },
      });
      for (const key of INTAKE_BINDING_KEYS) await consume.bindQueue(this.opts.queue, MQTT_EXCHANGE, key);
      await consume.prefetch(this.opts.prefetch);
      const session: Session = {
        connection,
        consume,
        publish,
        url,
        acks: new DeliveryAcks((tag) => {
          try {
            consume.ack({ fields: { deliveryTag: tag } } as ConsumeMessage, true);
          } catch {
            // channel closing: the broker delivers these again
          }
        }),
      };
      const lost = (why: string) => (err?: Error) => this.lost(session, why, err);
      connection.on('close', lost('connection closed'));
      connection.on('error', (err: Error) =>
        this.opts.log.warn({ err: err.message }, 'amqp connection error'),
      );
      consume.on('close', lost('consume channel closed'));
      publish.on('close', lost('publish channel closed'));
      consume.on('error', (err: Error) => this.opts.log.warn({ err: err.message }, 'amqp channel error'));
      publish.on('error', (err: Error) => this.opts.log.warn({ err: err.message }, 'amqp channel error'));
      this.session = session;
      this.backoff.reset();
      if (!this.closing) await this.consume(session);
      this.opts.log.info(
        { url: shownUrl(url), queue: this.opts.queue, prefetch: this.opts.prefetch },
        'connected to broker (amqp)',
      );
      await this.publish(topics.receiverOnline(this.opts.replicaId), 'true').catch((err: unknown) =>
        this.opts.log.warn({ err }, 'presence not published'),
      );
    } catch (err) {
      this.next++;
      await connection?.close().catch(() => undefined);
      if (this.session?.connection === connection) this.session = undefined;
      const delayMs = this.backoff.next();
      this.opts.log.warn(
        { err: (err as Error).message, url: shownUrl(url), delayMs, attempt: this.backoff.attempts },
        'amqp connect failed; trying the next node',
      );
      this.connectSoon(delayMs);
    }
  }

  private async consume(session: Session): Promise<void> {
    const reply = await session.consume.consume(this.opts.queue, (msg) => this.deliver(session, msg), {
      noAck: false,
    });
    session.consumerTag = reply.consumerTag;
  }

  private deliver(session: Session, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled the consumer (queue deleted, or its leader moved in some versions).
      this.opts.log.warn('amqp consumer cancelled by the broker; reconnecting');
      void session.connection.close().catch(() => undefined);
      return;
    }
    if (this.closing || this.session !== session) return; // not acked: the broker redelivers it
    const receipt = session.acks.hold(msg.fields.deliveryTag);
    const topic = routingKeyToTopic(msg.fields.routingKey);
    let wait: Promise<void> | undefined;
    try {
      // Nothing on this hop is retained: every message in the queue was published live.
      wait = this.opts.onMessage(topic, msg.content, false, receipt);
    } catch (err) {
      // A bug, not a bad message: taken (not stored), so it cannot come back forever.
      this.opts.log.error({ err, topic }, 'message handling failed');
      receipt.committed();
      return;
    }
    if (wait) this.holdUntil(session, wait);
  }

  /** The ingest is full: stop deliveries until there is room (unacked ones stay with this channel). */
  private holdUntil(session: Session, wait: Promise<void>): void {
    if (this.held) return;
    this.held = true;
    const tag = session.consumerTag;
    session.consumerTag = undefined;
    if (tag) session.consume.cancel(tag).catch(() => undefined);
    wait
      .catch(() => undefined)
      .then(async () => {
        this.held = false;
        if (this.session === session && !this.closing && session.consumerTag === undefined)
          await this.consume(session);
      })
      .catch((err: unknown) => this.opts.log.warn({ err }, 'amqp consume after pause failed'));
  }

  private lost(session: Session, why: string, err?: Error): void {
    session.acks.close();
    if (this.session !== session) return;
    this.session = undefined;
    void session.connection.close().catch(() => undefined);
    if (this.stopped) return;
    this.next++;
    const delayMs = this.backoff.next();
    this.opts.log.warn(
      { why, err: err?.message, url: shownUrl(session.url), delayMs, attempt: this.backoff.attempts },
      'amqp broker connection lost; reconnecting to the next node',
    );
    this.connectSoon(delayMs);
  }

  async publish(topic: string, payload: string): Promise<void> {
    const session = this.session;
    if (!session) throw new Error('amqp connection to the broker is down');
    await new Promise<void>((resolve, reject) => {
      session.publish.publish(
        MQTT_EXCHANGE,
        topicToRoutingKey(topic),
        Buffer.from(payload),
        // Persistent: delivered at QoS 1 to the device's MQTT subscription.
        { persistent: true },
        (err) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()),
      );
    });
  }

  pause(): void {
    this.closing = true;
    const session = this.session;
    const tag = session?.consumerTag;
    if (session && tag) {
      session.consumerTag = undefined;
      session.consume.cancel(tag).catch(() => undefined);
    }
  }

  async stop(): Promise<void> {
    this.closing = true;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.connecting;
    const session = this.session;
    if (!session) return;
    await this.publish(topics.receiverOnline(this.opts.replicaId), 'false').catch(() => undefined);
    // Acks of what the ingest finished are out (ingest stops before us); the rest goes back to the queue.
    session.acks.flush();
    this.session = undefined;
    await session.connection.close().catch(() => undefined);
  }
}
