import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { ReconnectBackoff, receiverClientId, topics, type Logger } from '@sensorfleet/shared';
import type { Receipt } from '../ingest/ingest-item.js';
import type { BrokerIntake } from './broker-intake.js';
import { NO_RECEIPT, PubackAfterCommit } from './puback-after-commit.js';

const ignoreLog = (): void => {};

export interface ReceiverMqttOptions {
  url: string;
  username?: string | undefined;
  password?: string | undefined;
  caFile?: string | undefined;
  /**
   * Stable per replica: the broker keeps this replica's session (its share of the subscription, and
   * the messages it has not PUBACKed or not yet received) while it is away, for a replacement with the
   * same id to take over.
   */
  replicaId: string;
  /**
   * How long the broker keeps that session once the connection is gone (MQTT 5 session expiry): a
   * replica back within it resumes; one gone for longer stops being handed a share (its session, and
   * what was queued in it, is dropped).
   */
  sessionExpirySeconds: number;
  reconnectMinMs: number;
  reconnectMaxMs: number;
  subscriptions: string[];
  /**
   * Filters subscribed on every connect and unsubscribed as soon as the broker confirmed them: only to
   * read their retained messages (brokers that send none to shared subscriptions).
   */
  catchUp?: string[];
  log: Logger;
  /**
   * Handles one message; `receipt.committed()` once it is stored (its PUBACK then goes to the broker).
   * Returns nothing when the next message may come at once, or a promise that resolves when it may (flow
   * control: a slow promise pauses intake).
   */
  onMessage: (
    topic: string,
    payload: Buffer,
    retained: boolean,
    receipt: Receipt,
  ) => Promise<void> | undefined;
}

/**
 * The backend's broker sessions, MQTT 5. Intake is a persistent session (clean start false) under a client
 * id stable per replica, so the broker keeps this replica's messages while it is away (a restart, a deploy)
 * and sends again whatever it had not PUBACKed. The session expires `sessionExpirySeconds` after the
 * connection is gone: with MQTT 3.1.1 only the broker-wide `persistent_client_expiration` (days) ended it,
 * and Mosquitto 2.0.11 kept handing a replica gone for good its share of the shared subscription until
 * then (measured with 2.0.11 in test/intake/session-expiry.int.test.ts: once the session expired, the
 * other members got every message). PUBACKs are sent only after the commit
 * (puback-after-commit.ts). While the ingest is full, handleMessage's callback is held as well (mqtt.js
 * handles one incoming packet at a time until it calls back), which bounds the receiver's memory and
 * lets the broker hold the rest. Acks go out on a second connection: holding handleMessage also holds the
 * broker's PUBACKs for our own publishes on that connection, so acks of committed batches (and the
 * batches behind them) would pile up in memory exactly when intake is paused (measured: 36k acks waiting,
 * 250 MB heap, with one connection).
 *
 * Presence: once its subscriptions are confirmed, the intake session publishes a retained `true` on
 * `receivers/{replicaId}/online` (last will: `false`). Devices resend their unacked window when it
 * arrives: what they sent while no receiver was subscribed (after a broker restart) was dropped.
 */
export class ReceiverMqtt implements BrokerIntake {
  readonly name = 'mqtt';
  private client: MqttClient | undefined;
  private publisher: MqttClient | undefined;
  private pubacks: PubackAfterCommit | undefined;
  private closing = false;
  private stopped = false;
  private leaving = false;
  private lastMessageAt = 0;
  private readonly corked = new WeakSet<object>();
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly opts: ReceiverMqttOptions) {}

  get connected(): boolean {
    return (this.client?.connected ?? false) && (this.publisher?.connected ?? false);
  }

  private options(clientId: string, ca: Buffer | undefined, clean: boolean): IClientOptions {
    return {
      clientId,
      protocolVersion: 5,
      clean,
      // MQTT 5 ends a session when its connection closes unless it has an expiry: the ack connection
      // (clean) keeps none, the intake session is kept for a replica's return.
      ...(clean ? {} : { properties: { sessionExpiryInterval: this.opts.sessionExpirySeconds } }),
      keepalive: 30,
      reconnectPeriod: 0, // reconnects are ours: exponential backoff with jitter (reconnectAfterClose)
      resubscribe: false, // subscribed on every connect anyway
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

  /** Un-PUBACKed messages this replica holds (received, not yet committed). */
  get heldMessages(): number {
    return this.pubacks?.held ?? 0;
  }

  async start(): Promise<void> {
    const clientId = receiverClientId(this.opts.replicaId);
    const presence = topics.receiverOnline(this.opts.replicaId);
    const ca = this.opts.caFile ? readFileSync(this.opts.caFile) : undefined;
    // The ack connection needs no session: an ack lost with it is resent by the device's next batch.
    const publisher = mqtt.connect(this.opts.url, this.options(`${clientId}:acks`, ca, true));
    this.publisher = publisher;
    publisher.on('error', (err) => this.opts.log.warn({ err: err.message }, 'mqtt error (ack connection)'));
    this.reconnectAfterClose(publisher, 'ack connection');
    const client = mqtt.connect(this.opts.url, {
      ...this.options(clientId, ca, false),
      will: { topic: presence, payload: Buffer.from('false'), qos: 1, retain: true },
    });
    this.client = client;
    const pubacks = new PubackAfterCommit(client);
    pubacks.install();
    this.pubacks = pubacks;
    client.handleMessage = (packet, callback) => {
      if (this.closing) return; // never PUBACK after stop began: the broker keeps the message
      this.lastMessageAt = Date.now();
      this.corkUntilNextTurn(client);
      const payload = typeof packet.payload === 'string' ? Buffer.from(packet.payload) : packet.payload;
      const receipt =
        packet.qos === 1 && packet.messageId !== undefined ? pubacks.hold(packet.messageId) : NO_RECEIPT;
      const proceed = (): void => pubacks.proceed(receipt, callback);
      let wait: Promise<void> | undefined;
      try {
        wait = this.opts.onMessage(packet.topic, payload, packet.retain === true, receipt);
      } catch (err) {
        this.handlingFailed(err, packet.topic, receipt, proceed);
        return;
      }
      if (wait)
        wait.then(proceed, (err: unknown) => this.handlingFailed(err, packet.topic, receipt, proceed));
      else proceed();
    };
    client.on('connect', (connack) => {
      this.opts.log.info(
        {
          url: this.opts.url,
          clientId,
          sessionPresent: connack.sessionPresent,
          sessionExpirySeconds: this.opts.sessionExpirySeconds,
          subscriptions: this.opts.subscriptions,
        },
        'connected to broker',
      );
      if (this.leaving) return; // reconnected while leaving: nothing to subscribe to any more
      client
        .subscribeAsync(Object.fromEntries(this.opts.subscriptions.map((t) => [t, { qos: 1 as const }])))
        .then((granted) => {
          const refused = granted.filter((g) => g.qos === 128);
          if (refused.length) this.opts.log.error({ refused }, 'broker refused subscriptions (ACL?)');
          // Only now is this replica's share of the subscription in place.
          return client.publishAsync(presence, 'true', { qos: 1, retain: true });
        })
        .catch((err: unknown) => this.opts.log.warn({ err }, 'subscribe or presence failed'));
      const catchUp = this.opts.catchUp ?? [];
      if (catchUp.length) {
        client
          .subscribeAsync(Object.fromEntries(catchUp.map((t) => [t, { qos: 1 as const }])))
          .then(() => client.unsubscribeAsync(catchUp))
          .catch((err: unknown) => this.opts.log.warn({ err }, 'retained catch-up subscription failed'));
      }
    });
    this.reconnectAfterClose(client, 'broker connection');
    client.on('error', (err) => this.opts.log.warn({ err: err.message }, 'mqtt error'));
  }

  /**
   * Reconnects after `backoff` (exponential, jittered), not mqtt.js's fixed period: after a broker restart
   * the replicas come back spread out, and quickly the first time.
   */
  private reconnectAfterClose(client: MqttClient, what: string): void {
    const backoff = new ReconnectBackoff(this.opts.reconnectMinMs, this.opts.reconnectMaxMs);
    let pending = false;
    client.on('connect', () => backoff.reset());
    client.on('close', () => {
      if (this.stopped || pending) return;
      const delayMs = backoff.next();
      if (!this.closing)
        this.opts.log.warn({ delayMs, attempt: backoff.attempts }, `${what} lost; reconnecting`);
      pending = true;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        pending = false;
        if (!this.stopped) client.reconnect();
      }, delayMs);
      this.timers.add(timer);
    });
  }

  /** A bug, not a bad message: logged and taken (not stored), so it cannot come back forever. */
  private handlingFailed(err: unknown, topic: string, receipt: Receipt, proceed: () => void): void {
    this.opts.log.error({ err, topic }, 'message handling failed');
    receipt.committed();
    proceed();
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

  /**
   * Scaling down (RECEIVER_LEAVING): unsubscribes, so the broker hands this replica no new messages;
   * takes what was already queued for its session (it still arrives after the UNSUBACK) until everything
   * it took is committed and none came for `quietMs` (while the ingest is full the broker cannot send,
   * so quiet alone proves nothing); stop() then ends the session (session expiry 0 on DISCONNECT). Bounded
   * by `maxMs`, well inside the service's 20 s stop timeout: a replica that never gets quiet still leaves.
   */
  async leave(quietMs = 1000, maxMs = 10_000): Promise<void> {
    const client = this.client;
    if (!client?.connected) {
      this.opts.log.warn(
        "leaving while not connected: the broker keeps this replica's session until it expires",
      );
      return;
    }
    this.leaving = true;
    this.lastMessageAt = Date.now();
    await client.unsubscribeAsync(this.opts.subscriptions);
    const deadline = Date.now() + maxMs;
    while ((this.heldMessages > 0 || Date.now() - this.lastMessageAt < quietMs) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    this.opts.log.info({ heldMessages: this.heldMessages }, 'left the shared subscription');
  }

  async stop(): Promise<void> {
    this.closing = true;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const client = this.client;
    if (client?.connected) {
      // A clean disconnect suppresses the will: say it ourselves (the session stays for our return).
      // QoS 0: intake is paused, so a PUBACK for it might never be read.
      await new Promise<void>((resolve) =>
        client.publish(topics.receiverOnline(this.opts.replicaId), 'false', { qos: 0, retain: true }, () =>
          resolve(),
        ),
      );
    }
    // Leaving for good: session expiry 0 ends the session now (nothing is queued for it any more).
    const end = this.leaving ? { reasonCode: 0, properties: { sessionExpiryInterval: 0 } } : {};
    await Promise.all([
      client?.endAsync(false, end).catch(() => {}),
      this.publisher?.endAsync().catch(() => {}),
    ]);
  }
}
