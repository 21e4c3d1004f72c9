import { toRanges, type Ack, type Logger } from '@sensorfleet/shared';
import { IngestBatcher, type AcceptedMessage, type Batch } from './ingest-batcher.js';
import type { WriteResult } from './readings-writer.js';

export interface IngestMetrics {
  committed(batch: Batch, result: WriteResult, commitMs: number, lagsMs: number[]): void;
  writeFailed(): void;
  pending(rows: number): void;
}

/**
 * The receiver's core loop: coalesce → write in one transaction → commit → ack each device. An ack is
 * published only after the commit succeeded; a failed write keeps the batch and retries with backoff
 * (acks wait), and while rows pile up beyond `maxPendingRows` the MQTT side stops taking messages.
 */
export class TelemetryIngest {
  readonly name = 'telemetry-ingest';
  private readonly batcher: IngestBatcher;
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private retrying: Batch | undefined;
  private failures = 0;
  private waiters: (() => void)[] = [];
  private stopped = false;
  private acking = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      write: (messages: AcceptedMessage[]) => Promise<WriteResult>;
      publishAck: (deviceId: string, ack: Ack) => Promise<void>;
      maxRows: number;
      maxWaitMs: number;
      maxPendingRows: number;
      log: Logger;
      metrics: IngestMetrics;
      now?: () => number;
    },
  ) {
    this.batcher = new IngestBatcher({ maxRows: deps.maxRows, maxWaitMs: deps.maxWaitMs });
  }

  get pendingRows(): number {
    return this.batcher.pendingRows + (this.retrying?.rows ?? 0);
  }

  get healthy(): boolean {
    return this.failures === 0;
  }

  async start(): Promise<void> {
    this.stopped = false;
  }

  /** Adds a validated message; resolves when there is room for more (flow control for the MQTT side). */
  async accept(m: AcceptedMessage): Promise<void> {
    if (m.readings.length === 0) {
      // Nothing to store: answer the rejected readings right away.
      await this.ack([m]);
      return;
    }
    this.batcher.add(m);
    this.deps.metrics.pending(this.pendingRows);
    this.schedule();
    while (this.pendingRows >= this.deps.maxPendingRows && !this.stopped) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  /** Finishes what was accepted (commit + ack), or leaves it un-acked if the database is down. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.flushing;
    if (this.failures === 0 && this.batcher.pendingMessages) await this.flushAll();
    await Promise.all(this.acking);
    this.release();
  }

  private schedule(): void {
    if (this.flushing || this.timer) return;
    const due = this.retrying ? this.retryDelay() : this.batcher.dueIn((this.deps.now ?? Date.now)());
    if (due === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flushing = this.flushOnce().finally(() => {
        this.flushing = undefined;
        if (!this.stopped) this.schedule();
      });
    }, due);
  }

  private retryDelay(): number {
    return Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
  }

  private async flushAll(): Promise<void> {
    while (this.batcher.pendingMessages && this.failures === 0) await this.flushOnce();
  }

  private async flushOnce(): Promise<void> {
    const batch = this.retrying ?? this.batcher.take();
    if (!batch.messages.length) return;
    this.retrying = batch;
    const started = (this.deps.now ?? Date.now)();
    let result: WriteResult;
    try {
      result = await this.deps.write(batch.messages);
    } catch (err) {
      this.failures++;
      this.deps.metrics.writeFailed();
      this.deps.log.warn(
        { err, rows: batch.rows, failures: this.failures, retryInMs: this.retryDelay() },
        'database write failed; nothing acked, retrying',
      );
      return;
    }
    const committedAt = (this.deps.now ?? Date.now)();
    this.retrying = undefined;
    if (this.failures) this.deps.log.info({ failures: this.failures }, 'database writes recovered');
    this.failures = 0;
    const lags: number[] = [];
    for (const m of batch.messages) for (const r of m.readings) lags.push(committedAt - Date.parse(r.ts));
    this.deps.metrics.committed(batch, result, committedAt - started, lags);
    this.deps.metrics.pending(this.pendingRows);
    this.release();
    // Acks go out while the next transaction is already being built; stop() waits for them.
    const acking = this.ack(batch.messages).finally(() => this.acking.delete(acking));
    this.acking.add(acking);
  }

  /** One ack per device for everything of that device in the batch. */
  private async ack(messages: AcceptedMessage[]): Promise<void> {
    const byDevice = new Map<string, AcceptedMessage[]>();
    for (const m of messages) byDevice.set(m.deviceId, [...(byDevice.get(m.deviceId) ?? []), m]);
    await Promise.all(
      [...byDevice].map(async ([deviceId, ms]) => {
        const ack: Ack = {
          v: 1,
          ranges: toRanges(ms.flatMap((m) => m.readings.map((r) => r.seq))),
          ...(ms.some((m) => m.rejected.length) ? { rejected: ms.flatMap((m) => m.rejected) } : {}),
        };
        try {
          await this.deps.publishAck(deviceId, ack);
        } catch (err) {
          // Stored but not confirmed: the device sends again and the duplicate is ignored.
          this.deps.log.warn({ err, deviceId }, 'ack not published; the device will resend');
        }
      }),
    );
  }

  private release(): void {
    if (this.pendingRows >= this.deps.maxPendingRows && !this.stopped) return;
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
