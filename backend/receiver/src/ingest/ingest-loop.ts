import type { Ack, Logger, ProbeAnswer } from '@sensorfleet/shared';
import { buildAcks } from './ack-builder.js';
import { probesByDevice } from './probe-answer.js';
import type { BatchResult } from './batch-writer.js';
import type { IngestItem, ProbedDropIn } from './ingest-item.js';
import { IngestBatcher, type Batch } from './ingest-batcher.js';

export interface IngestMetrics {
  committed(batch: Batch, result: BatchResult, commitMs: number, lagsMs: number[]): void;
  writeFailed(): void;
  pending(rows: number, paused: boolean): void;
}

/**
 * The receiver's core loop: coalesce → write in one transaction → commit → ack each device and release
 * each message's receipt (its PUBACK to the broker). Both happen only after the commit succeeded; a
 * failed write keeps the batch and retries with backoff (acks and PUBACKs wait), and while rows pile up
 * beyond `maxPendingRows` accept() does not resolve, so the MQTT side stops taking messages (the broker
 * and the devices keep the rest): memory stays bounded however long the database is away, and the loop
 * recovers by itself when it is back.
 */
export class IngestLoop {
  readonly name = 'ingest-loop';
  private readonly batcher: IngestBatcher;
  private timer: NodeJS.Timeout | undefined;
  /** Transactions in flight (at most `concurrency`; one while the database fails). */
  private readonly inflight = new Map<Promise<void>, { rows: number }>();
  /** Batches whose transaction failed, oldest first: written again before anything newer. */
  private retryQueue: Batch[] = [];
  private failures = 0;
  private waiters: (() => void)[] = [];
  private stopped = false;
  private acking = new Set<Promise<void>>();

  constructor(
    private readonly deps: {
      write: (items: IngestItem[]) => Promise<BatchResult>;
      publishAck: (deviceId: string, ack: Ack) => Promise<void>;
      /**
       * Answers a telemetry probe (docs/design.md#outbox-drop-count) after the batch carrying it committed,
       * so readings of that batch and of every earlier one from the same message stream are seen. Without
       * it probes are not answered (the device keeps asking).
       */
      answerProbe?: (deviceId: string, stubs: readonly ProbedDropIn[]) => Promise<ProbeAnswer>;
      maxRows: number;
      maxWaitMs: number;
      maxPendingRows: number;
      /**
       * Transactions in flight at once. Two let the database work on one batch while this process builds
       * the next (and publishes the acks of the last); they lock shared rows in the same order as any two
       * replicas do, so they cannot deadlock on each other beyond what BatchWriter retries.
       */
      concurrency?: number;
      log: Logger;
      metrics: IngestMetrics;
      now?: () => number;
    },
  ) {
    this.batcher = new IngestBatcher({ maxRows: deps.maxRows, maxWaitMs: deps.maxWaitMs });
  }

  get pendingRows(): number {
    let rows = this.batcher.pendingRows;
    for (const b of this.retryQueue) rows += b.rows;
    for (const f of this.inflight.values()) rows += f.rows;
    return rows;
  }

  /** The database took the last batch (false while writes fail and are retried). */
  get healthy(): boolean {
    return this.failures === 0;
  }

  /** Intake is held back: too many rows wait for the database. */
  get paused(): boolean {
    return this.waiters.length > 0;
  }

  async start(): Promise<void> {
    this.stopped = false;
  }

  /**
   * Adds a validated message. Returns nothing when there is room for more, else a promise that resolves
   * when there is (flow control for the MQTT side). No promise in the common case: one per message was a
   * measurable share of the receiver's CPU and garbage with 1-reading messages.
   */
  accept(item: IngestItem): Promise<void> | undefined {
    this.batcher.add(item);
    this.report();
    this.schedule();
    return this.pendingRows >= this.deps.maxPendingRows && !this.stopped ? this.roomForMore() : undefined;
  }

  private async roomForMore(): Promise<void> {
    while (this.pendingRows >= this.deps.maxPendingRows && !this.stopped) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        this.report();
      });
    }
  }

  /** Finishes what was accepted (commit + ack), or leaves it un-acked if the database is down. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.all(this.inflight.keys());
    while (this.failures === 0 && (this.retryQueue.length || this.batcher.pendingMessages)) {
      await this.flush(this.retryQueue.shift() ?? this.batcher.take());
    }
    await Promise.all(this.acking);
    this.release();
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private report(): void {
    this.deps.metrics.pending(this.pendingRows, this.paused);
  }

  private schedule(): void {
    if (this.timer || this.stopped) return;
    const limit = this.failures ? 1 : Math.max(1, this.deps.concurrency ?? 1);
    if (this.inflight.size >= limit) return;
    const due = this.retryQueue.length
      ? this.failures
        ? this.retryDelay()
        : 0
      : this.batcher.dueIn(this.now());
    if (due === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const batch = this.retryQueue.shift() ?? this.batcher.take();
      if (batch.items.length) {
        const slot = { rows: batch.rows };
        const flushing: Promise<void> = this.flush(batch, slot).finally(() => {
          this.inflight.delete(flushing);
          this.schedule();
        });
        this.inflight.set(flushing, slot);
      }
      this.schedule();
    }, due);
  }

  private retryDelay(): number {
    return Math.min(5000, 100 * 2 ** Math.min(this.failures, 6));
  }

  /** One transaction; `slot` is the batch's share of pendingRows while in flight (zeroed when settled). */
  private async flush(batch: Batch, slot = { rows: 0 }): Promise<void> {
    const started = this.now();
    let result: BatchResult;
    try {
      result = await this.deps.write(batch.items);
    } catch (err) {
      slot.rows = 0;
      this.failures++;
      this.retryQueue.unshift(batch);
      this.deps.metrics.writeFailed();
      // Every retry while the database is away would say the same: log the first few, then every 10th.
      if (this.failures <= 3 || this.failures % 10 === 0) {
        this.deps.log.warn(
          { err, rows: batch.rows, failures: this.failures, retryInMs: this.retryDelay() },
          'database write failed; nothing acked, retrying',
        );
      }
      return;
    }
    const committedAt = this.now();
    if (this.failures) this.deps.log.info({ failures: this.failures }, 'database writes recovered');
    this.failures = 0;
    const lags: number[] = [];
    batch.items.forEach((item, i) => {
      const outcomes = result.outcomes[i] ?? [];
      item.readings.forEach((r, j) => {
        if (outcomes[j] === 'stored') lags.push(committedAt - r.measuredMs);
      });
    });
    this.deps.metrics.committed(batch, result, committedAt - started, lags);
    // Taken for good: the broker may forget these messages now (their PUBACKs go out).
    for (const item of batch.items) item.receipt?.committed();
    slot.rows = 0;
    this.release();
    this.report();
    // Acks go out while the next transaction is already being built; stop() waits for them.
    const acking = this.ack(batch.items, result).finally(() => this.acking.delete(acking));
    this.acking.add(acking);
  }

  private async ack(items: IngestItem[], result: BatchResult): Promise<void> {
    const acks = buildAcks(items, result.outcomes, result.highestSeq);
    await this.addProbeAnswers(items, acks);
    await Promise.all(
      [...acks].map(async ([deviceId, ack]) => {
        try {
          await this.deps.publishAck(deviceId, ack);
        } catch (err) {
          // Stored but not confirmed: the device sends again and the duplicate is ignored.
          this.deps.log.warn({ err, deviceId }, 'ack not published; the device will resend');
        }
      }),
    );
  }

  /** Each probing device's answer goes into its ack (an ack of its own if the batch had none for it). */
  private async addProbeAnswers(items: IngestItem[], acks: Map<string, Ack>): Promise<void> {
    const answer = this.deps.answerProbe;
    if (!answer) return;
    await Promise.all(
      [...probesByDevice(items)].map(async ([deviceId, stubs]) => {
        try {
          const probe = await answer(deviceId, stubs);
          const ack = acks.get(deviceId);
          if (ack) ack.probe = probe;
          else acks.set(deviceId, { v: 1, ranges: [], probe });
        } catch (err) {
          // Unanswered: the device asks again after its ack timeout.
          this.deps.log.warn({ err, deviceId, stubs: stubs.length }, 'probe not answered');
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
