import type { Logger, OutboxBounds } from '@sensorfleet/shared';
import { LogThrottle } from './log-throttle.js';
import type { SensorValues } from './sources/sensor-source.js';

export interface OutboxAppender {
  append(
    ts: string,
    values: SensorValues,
    bounds: OutboxBounds,
    nowMs?: number,
  ): Promise<{ seq: number; dropped: number; unconfirmed?: number }>;
  /** The seq of the newest outbox entry if it is exactly this reading, else undefined. */
  newestSeqIf(ts: string, values: SensorValues): Promise<number | undefined>;
  /** Adds readings dropped outside the outbox (memory queue overflow) to the outbox's drop counter. */
  addDropped(n: number): Promise<void>;
}

export interface AppendMetrics {
  readingsDropped(n: number): void;
  redisErrors(): void;
  pendingAppends(n: number): void;
  redisLostAppends(n: number): void;
}

export interface PendingReading {
  ts: string;
  values: SensorValues;
}

/** Readings kept in memory while Redis is unreachable (1000 s at 10 Hz); beyond this the oldest go. */
export const DEFAULT_MAX_PENDING = 10_000;
/** After a failed append, try again this soon even if no new reading comes (long intervals). */
const RETRY_MS = 500;

/**
 * The way from a measured reading into the Redis outbox. Measuring never waits for Redis: readings queue
 * here and one flusher appends them in order, so a Redis outage or restart does not disturb the cadence.
 *
 * - Bounded: beyond `maxPending` the oldest reading is dropped, counted, logged, and added to the outbox's
 *   drop counter once Redis is back (so the device state reports it).
 * - No reading twice: an append that failed may still have run (the reply was lost with the connection),
 *   so before retrying it the newest outbox entry is compared with it.
 * - Seq rollback: the outbox assigns seqs; if one comes back not above the last one this process got,
 *   Redis restarted without its last writes (appendfsync everysec, power loss). The number of appends it
 *   lost is counted and reported (those that had already reached the backend are stored nonetheless).
 */
export class PendingAppends {
  private queue: PendingReading[] = [];
  private flushing: Promise<void> | undefined;
  private again = false;
  private lastSeq = 0;
  private unreportedDrops = 0;
  private failing = false;
  private uncertain = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly boundDrops = new LogThrottle(60_000);
  private readonly memoryDrops = new LogThrottle(60_000);

  constructor(
    private readonly deps: {
      outbox: OutboxAppender;
      bounds: OutboxBounds;
      now: () => number;
      log: Logger;
      metrics: AppendMetrics;
      /** Redis lost `n` appends in a restart. */
      onRedisLostAppends: (n: number) => void;
      maxPending?: number;
    },
  ) {}

  get size(): number {
    return this.queue.length;
  }

  /** Queues a reading and starts appending. */
  push(reading: PendingReading): void {
    this.queue.push(reading);
    if (this.queue.length > (this.deps.maxPending ?? DEFAULT_MAX_PENDING)) {
      this.queue.shift();
      this.unreportedDrops++;
      this.deps.metrics.readingsDropped(1);
      const dropped = this.memoryDrops.add(1);
      if (dropped !== undefined) {
        this.deps.log.error(
          { dropped, pending: this.queue.length },
          'Redis unreachable too long: oldest unsaved readings dropped (count since the last such line)',
        );
      }
    }
    this.deps.metrics.pendingAppends(this.queue.length);
    this.kick();
  }

  /** Starts a flush, or another one right after the current one. */
  kick(): void {
    if (this.flushing) {
      this.again = true;
      return;
    }
    this.flushing = this.flush().finally(() => {
      this.flushing = undefined;
      if (this.again) {
        this.again = false;
        this.kick();
      }
    });
  }

  /** Waits for the running flush and tries once more (for shutdown). */
  async drain(): Promise<void> {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    while (this.flushing) await this.flushing;
    await this.flush();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
  }

  private async flush(): Promise<void> {
    const { outbox, bounds, log, metrics } = this.deps;
    while (this.queue.length) {
      const next = this.queue[0]!;
      try {
        if (this.uncertain) {
          const seq = await outbox.newestSeqIf(next.ts, next.values);
          this.uncertain = false;
          if (seq !== undefined) {
            log.info({ seq }, 'append whose reply was lost had been stored; not appending it again');
            this.queue.shift();
            this.appended(seq);
            continue;
          }
        }
        if (this.unreportedDrops) {
          await outbox.addDropped(this.unreportedDrops);
          this.unreportedDrops = 0;
        }
        // Every reading the bound removed, counted or (sent already) kept unconfirmed for the backend's word.
        const appended = await outbox.append(next.ts, next.values, bounds, this.deps.now());
        const { seq } = appended;
        const dropped = appended.dropped + (appended.unconfirmed ?? 0);
        this.queue.shift();
        this.appended(seq);
        if (dropped > 0) {
          metrics.readingsDropped(dropped);
          const since = this.boundDrops.add(dropped);
          if (since !== undefined) {
            log.warn(
              { dropped: since, seq },
              'outbox full: oldest readings dropped (count since the last such line)',
            );
          }
        }
        if (this.failing) {
          this.failing = false;
          log.info({ pending: this.queue.length }, 'Redis reachable again: appending queued readings');
        }
      } catch (err) {
        this.uncertain = true;
        metrics.redisErrors();
        if (!this.failing) {
          this.failing = true;
          log.warn({ err, pending: this.queue.length }, 'outbox append failed; readings queue in memory');
        }
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = undefined;
          this.kick();
        }, RETRY_MS);
        break;
      } finally {
        metrics.pendingAppends(this.queue.length);
      }
    }
  }

  private appended(seq: number): void {
    if (seq <= this.lastSeq) {
      const lost = this.lastSeq - seq + 1;
      this.deps.metrics.redisLostAppends(lost);
      this.deps.log.error(
        { lost, lastSeq: this.lastSeq, nowSeq: seq },
        'Redis lost its last appends in a restart (seq counter went back): readings among them not yet ' +
          'delivered are lost; the mqtthandler renumbers seqs the backend already holds',
      );
      this.deps.onRedisLostAppends(lost);
    }
    this.lastSeq = seq;
  }
}
