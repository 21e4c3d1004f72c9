import {
  Ack,
  createDecoder,
  fromRanges,
  type Logger,
  type OutboxStore,
  type Reading,
  type TelemetryBatch,
} from '@sensorfleet/shared';
import { ReplayScheduler } from './replay-scheduler.js';

export interface TelemetryPublisher {
  /** Resolves when the broker has accepted the message (PUBACK); rejects if the link drops first. */
  publishTelemetry(batch: TelemetryBatch): Promise<void>;
  readonly connected: boolean;
}

export interface ForwarderMetrics {
  published(readings: number, bytes: number): void;
  acked(stored: number, rejected: number): void;
  resends(): void;
}

const ackDecoder = createDecoder(Ack, { maxBytes: 1_000_000 });

/**
 * Store-and-forward: reads the outbox through the ReplayScheduler, publishes batches, and deletes readings
 * only when an ack names them. Nothing is removed on publish: a reading leaves Redis only after the backend
 * says it is committed (or will never be accepted).
 */
export class Forwarder {
  readonly name = 'forwarder';
  private readonly scheduler: ReplayScheduler;
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private again = false;
  private active = false;
  private epoch = 0;

  constructor(
    private readonly deps: {
      outbox: OutboxStore;
      link: TelemetryPublisher;
      log: Logger;
      metrics: ForwarderMetrics;
      batchMax: number;
      batchMaxWaitMs: number;
      inflightMax: number;
      ackTimeoutMs: number;
      now?: () => number;
    },
  ) {
    this.scheduler = new ReplayScheduler(deps);
  }

  get inflight(): number {
    return this.scheduler.inflightCount;
  }

  async start(): Promise<void> {
    this.active = true;
    this.timer = setInterval(() => this.kick(), this.deps.batchMaxWaitMs);
  }

  async stop(): Promise<void> {
    this.active = false;
    if (this.timer) clearInterval(this.timer);
    // Unacked readings simply stay in the outbox: the next start sends them again.
    await this.pumping;
  }

  /** The link is (again) up: everything unacknowledged gets sent again, backlog behind live. */
  async onConnected(): Promise<void> {
    this.epoch++;
    const lastSeq = await this.deps.outbox.lastSeq();
    this.scheduler.reset(lastSeq);
    this.deps.log.info({ lastSeq }, 'link up: replaying the outbox');
    this.kick();
  }

  onDisconnected(): void {
    this.epoch++;
  }

  async onAck(payload: Buffer): Promise<void> {
    const decoded = ackDecoder.decode(payload);
    if (!decoded.ok) {
      this.deps.log.warn({ reason: decoded.reason, error: decoded.error }, 'ignoring malformed ack');
      return;
    }
    const ack = decoded.value;
    let stored: number[];
    try {
      stored = fromRanges(ack.ranges, 1_000_000);
    } catch (err) {
      this.deps.log.warn({ err }, 'ignoring ack naming too many seqs');
      return;
    }
    const rejected = (ack.rejected ?? []).map((r) => r.seq);
    if (rejected.length) {
      this.deps.log.warn(
        { rejected: ack.rejected?.slice(0, 20) },
        'backend rejected readings as invalid; removing them',
      );
      await this.deps.outbox.addRejected(rejected.length);
    }
    await this.deps.outbox.remove([...stored, ...rejected]);
    this.scheduler.acked(stored);
    this.scheduler.acked(rejected);
    this.deps.metrics.acked(stored.length, rejected.length);
    this.kick();
  }

  /** Runs a pump now, or right after the current one. */
  kick(): void {
    if (!this.active) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    this.pumping = this.pump()
      .catch((err: unknown) => this.deps.log.warn({ err }, 'forwarding paused by an error; retrying'))
      .finally(() => {
        this.pumping = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  private async pump(): Promise<void> {
    const now = this.deps.now ?? Date.now;
    const { link, outbox } = this.deps;
    if (!link.connected) return;
    if (this.scheduler.timedOut(now())) {
      this.deps.metrics.resends();
      this.deps.log.warn(
        { inflight: this.scheduler.inflightCount },
        'no ack in time: sending unacknowledged readings again',
      );
      this.scheduler.resendUnacked();
    }
    const epoch = this.epoch;
    // Bounded rounds per pump keep one pump short; the interval and acks call it again.
    for (let round = 0; round < 50 && link.connected && this.active && epoch === this.epoch; round++) {
      const req = this.scheduler.next();
      if (!req) break;
      const readings: Reading[] = await outbox.readRange(req.afterSeq, req.toSeq, req.count);
      if (epoch !== this.epoch) break;
      this.scheduler.sent(
        req,
        readings.map((r) => r.seq),
        now(),
      );
      if (!readings.length) {
        if (req.kind === 'live' && !this.scheduler.backlogRemaining) break;
        continue;
      }
      const batch: TelemetryBatch = { v: 1, readings };
      // Not awaited: a PUBACK lost with the connection may never resolve, and the window is governed by
      // the backend's acks anyway. Unconfirmed readings are resent after reconnect or ack timeout.
      link.publishTelemetry(batch).then(
        () => this.deps.metrics.published(readings.length, JSON.stringify(batch).length),
        (err: unknown) => this.deps.log.debug({ err }, 'publish not confirmed; will resend after reconnect'),
      );
    }
  }
}
