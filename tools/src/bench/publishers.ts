import { randomBytes } from 'node:crypto';
import { parseTopic, topics } from '@sensorfleet/shared';
import { encodeTopic, LeanMqttClient } from './lean-mqtt-client.js';
import { fastTelemetryPayload } from './telemetry.js';

export interface FleetOptions {
  brokerUrl: string;
  deviceIds: readonly string[];
  readingsPerDevice: number;
  readingsPerMessage: number;
  /** Readings a device keeps sent but unacknowledged at most (mqtthandler's MQTT_INFLIGHT_MAX). */
  window: number;
  /** MQTT connections the devices share (device i publishes over connection i mod connections). */
  connections: number;
  /** Timestamp base of the readings (see telemetry.ts). */
  baseMs: number;
  /** No ack progress for this long → everything unacknowledged is sent again (MQTT_ACK_TIMEOUT_MS). */
  ackTimeoutMs: number;
  /** MQTT login of every publisher connection (brokers that refuse anonymous clients, e.g. RabbitMQ). */
  username?: string;
  password?: string;
}

export interface FleetResult {
  complete: boolean;
  /** First publish → last ack that completed the case (or the timeout), ms since the epoch. */
  startedAt: number;
  finishedAt: number;
  readings: number;
  ackedReadings: number;
  messages: number;
  /** Messages published again after an ack timeout (0 unless something was lost or stuck). */
  resentMessages: number;
  /**
   * QoS 1 publishes without a PUBACK because their connection closed (the fleet does not reconnect, so a
   * lost connection also ends run() early with complete false).
   */
  publishErrors: number;
  /** Why the first connection that closed under the fleet did (absent while all stayed up). */
  connectionError?: string;
  /** Per message: first publish → the ack that covered its last reading, ms. */
  ackLatenciesMs: number[];
}

/** One simulated device: its window, which seqs are acked and when each message was first sent. */
class SimDevice {
  /** The telemetry topic as it goes on the wire, encoded once. */
  readonly topic: Buffer;
  nextSeq = 1;
  /** Readings sent and not yet acked. */
  inflight = 0;
  ackedCount = 0;
  lastProgress = 0;
  readonly acked: Uint8Array;
  readonly messageRemaining: Uint16Array;
  readonly messageSentAt: Float64Array;

  constructor(
    readonly id: string,
    readonly client: LeanMqttClient,
    readonly total: number,
    readonly perMessage: number,
  ) {
    this.topic = encodeTopic(topics.telemetry(id));
    this.acked = new Uint8Array(total + 1);
    const messages = Math.ceil(total / perMessage);
    this.messageRemaining = new Uint16Array(messages);
    this.messageSentAt = new Float64Array(messages);
  }

  messageSize(index: number): number {
    return Math.min(this.perMessage, this.total - index * this.perMessage);
  }
}

/**
 * Simulated devices publishing telemetry over MQTT like mqtthandler does: QoS 1, seqs contiguous from 1,
 * at most `window` readings unacknowledged per device, the backend's `devices/{id}/ack` (`{"v":1,
 * "ranges":[[from,to],…]}`) opening the window again, a resend of everything unacked after an ack timeout.
 */
export class PublisherFleet {
  private readonly devices = new Map<string, SimDevice>();
  private readonly order: SimDevice[] = [];
  private totalReadings = 0;
  private ackedReadings = 0;
  private messages = 0;
  private resentMessages = 0;
  private readonly latencies: number[] = [];
  private startedAt = 0;
  private lastAckAt = 0;
  private done: (() => void) | undefined;
  private running = false;
  /** The first connection lost under the fleet: some readings can never be acked. */
  private connectionError: string | undefined;

  private constructor(
    private readonly opts: FleetOptions,
    private readonly clients: LeanMqttClient[],
  ) {}

  /** Connects the publishers and subscribes each device to its ack topic. */
  static async connect(opts: FleetOptions): Promise<PublisherFleet> {
    const clients: LeanMqttClient[] = [];
    try {
      for (let i = 0; i < opts.connections; i++) {
        clients.push(
          await LeanMqttClient.connect(opts.brokerUrl, {
            clientId: `bench-pub-${i}-${randomBytes(3).toString('hex')}`,
            keepaliveS: 60,
            ...(opts.username !== undefined ? { username: opts.username } : {}),
            ...(opts.password !== undefined ? { password: opts.password } : {}),
          }),
        );
      }
      const fleet = new PublisherFleet(opts, clients);
      const byClient = new Map<LeanMqttClient, string[]>();
      opts.deviceIds.forEach((id, i) => {
        const client = clients[i % clients.length]!;
        const device = new SimDevice(id, client, opts.readingsPerDevice, opts.readingsPerMessage);
        fleet.devices.set(id, device);
        fleet.order.push(device);
        fleet.totalReadings += opts.readingsPerDevice;
        byClient.set(client, [...(byClient.get(client) ?? []), topics.ack(id)]);
      });
      for (const client of clients) {
        client.onMessage((topic, payload) => fleet.onAck(topic, payload));
        client.onClose((err) => fleet.onConnectionClosed(err));
        const ackTopics = byClient.get(client) ?? [];
        for (let i = 0; i < ackTopics.length; i += 200)
          await client.subscribe(ackTopics.slice(i, i + 200), 1);
      }
      return fleet;
    } catch (err) {
      for (const c of clients) c.destroy();
      throw err;
    }
  }

  /** Publishes every reading and resolves when all are acked or `timeoutMs` passed. */
  async run(timeoutMs: number): Promise<FleetResult> {
    this.running = true;
    this.startedAt = Date.now();
    this.lastAckAt = this.startedAt;
    for (const d of this.order) d.lastProgress = this.startedAt;
    const finished = new Promise<void>((resolve) => (this.done = resolve));
    const watchdog = setInterval(() => this.resendStuck(), 1000);
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
    // Devices take turns, one message each, until every window is full.
    for (let sent = true; sent;) {
      sent = false;
      for (const d of this.order) sent = this.publishNext(d) || sent;
    }
    if (this.ackedReadings >= this.totalReadings || this.connectionError) this.done?.();
    await Promise.race([finished, timeout]);
    clearInterval(watchdog);
    this.running = false;
    const complete = this.ackedReadings >= this.totalReadings;
    return {
      complete,
      startedAt: this.startedAt,
      finishedAt: complete ? this.lastAckAt : Date.now(),
      readings: this.totalReadings,
      ackedReadings: this.ackedReadings,
      messages: this.messages,
      resentMessages: this.resentMessages,
      publishErrors: this.clients.reduce((sum, c) => sum + c.failedPublishes, 0),
      connectionError: this.connectionError,
      ackLatenciesMs: this.latencies,
    };
  }

  async close(): Promise<void> {
    this.running = false;
    await Promise.allSettled(this.clients.map((c) => c.end()));
  }

  private publish(d: SimDevice, index: number): void {
    const from = index * d.perMessage + 1;
    d.client.publishQos1(d.topic, fastTelemetryPayload(this.opts.baseMs, from, d.messageSize(index)));
  }

  /** Without reconnects a lost connection fails the case: no point waiting for run()'s timeout. */
  private onConnectionClosed(err: Error | undefined): void {
    if (!err) return;
    this.connectionError ??= err.message;
    this.done?.();
  }

  /** Sends the device's next message if its window has room; false when it cannot. */
  private publishNext(d: SimDevice): boolean {
    if (!this.running || d.nextSeq > d.total) return false;
    const index = (d.nextSeq - 1) / d.perMessage;
    const size = d.messageSize(index);
    if (d.inflight > 0 && d.inflight + size > this.opts.window) return false;
    d.messageRemaining[index] = size;
    d.messageSentAt[index] = Date.now();
    d.inflight += size;
    d.nextSeq += size;
    this.messages++;
    this.publish(d, index);
    return true;
  }

  private onAck(topic: string, payload: Buffer): void {
    const parsed = parseTopic(topic);
    const d = parsed?.kind === 'ack' ? this.devices.get(parsed.deviceId) : undefined;
    if (!d) return;
    let ranges: unknown;
    try {
      ranges = (JSON.parse(payload.toString('utf8')) as { ranges?: unknown }).ranges;
    } catch {
      return;
    }
    if (!Array.isArray(ranges)) return;
    const now = Date.now();
    let progressed = false;
    for (const range of ranges as unknown[]) {
      if (!Array.isArray(range)) continue;
      const from = Math.max(1, Number(range[0]));
      const to = Math.min(d.nextSeq - 1, Number(range[1]));
      for (let seq = from; seq <= to; seq++) {
        if (d.acked[seq]) continue;
        d.acked[seq] = 1;
        d.ackedCount++;
        d.inflight--;
        this.ackedReadings++;
        progressed = true;
        const index = Math.floor((seq - 1) / d.perMessage);
        if (--d.messageRemaining[index]! === 0) this.latencies.push(now - d.messageSentAt[index]!);
      }
    }
    if (!progressed) return;
    d.lastProgress = now;
    this.lastAckAt = now;
    if (this.ackedReadings >= this.totalReadings) {
      this.done?.();
      return;
    }
    while (this.publishNext(d));
  }

  /** mqtthandler's ack timeout: a device without progress sends everything unacked again. */
  private resendStuck(): void {
    const now = Date.now();
    for (const d of this.order) {
      if (d.inflight === 0 || now - d.lastProgress < this.opts.ackTimeoutMs) continue;
      d.lastProgress = now;
      const sentMessages = Math.ceil((d.nextSeq - 1) / d.perMessage);
      for (let index = 0; index < sentMessages; index++) {
        if (d.messageRemaining[index]! > 0) {
          this.resentMessages++;
          this.publish(d, index);
        }
      }
    }
  }
}
