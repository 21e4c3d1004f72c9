import type { Logger, OutboxBounds, SensorStatus } from '@sensorfleet/shared';
import { SensorReadError, type SensorSource, type SensorValues } from './sources/sensor-source.js';

export interface OutboxAppender {
  append(
    ts: string,
    values: SensorValues,
    bounds: OutboxBounds,
    nowMs?: number,
  ): Promise<{ seq: number; dropped: number }>;
}
export interface MeasuringStateReader {
  get(): Promise<{ running: boolean; intervalMs: number }>;
}
export interface SensorStatusWriter {
  write(status: SensorStatus): Promise<void>;
}
export interface LoopMetrics {
  readingsTaken(): void;
  readingsDropped(n: number): void;
  sensorErrors(): void;
  redisErrors(): void;
  pendingAppends(n: number): void;
}
export interface Clock {
  now(): number;
}

/** Readings kept in memory while Redis is unreachable; beyond this the oldest are dropped and counted. */
const MAX_PENDING = 10_000;

/**
 * Every interval: if measuring is on, take one reading and append it to the outbox (which assigns the seq).
 * Running state and interval are re-read from Redis each tick, so the button and commands take effect
 * within one interval (and at once when notified). A sensor error writes no value: it is counted and
 * reported as sensor status. If Redis is briefly unreachable, readings wait in a bounded memory queue
 * and are appended in order when it is back.
 */
export class MeasurementLoop {
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private ticking: Promise<void> | undefined;
  private pending: { ts: string; values: SensorValues }[] = [];
  private status: SensorStatus;
  private opened = false;
  private lastIntervalMs = 0;
  private nextDue = 0;

  constructor(
    private readonly deps: {
      source: SensorSource;
      outbox: OutboxAppender;
      state: MeasuringStateReader;
      statusStore: SensorStatusWriter;
      bounds: OutboxBounds;
      clock: Clock;
      log: Logger;
      metrics: LoopMetrics;
    },
  ) {
    this.status = { status: 'starting', driver: deps.source.kind, errors: 0 };
  }

  readonly name = 'measurement-loop';

  get sensorStatus(): SensorStatus {
    return this.status;
  }

  async start(): Promise<void> {
    this.running = true;
    await this.tryOpen();
    this.schedule(0);
  }

  /** Measuring state changed (button/command): re-evaluate now instead of at the next tick. */
  wake(): void {
    if (!this.running) return;
    this.nextDue = 0;
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    await this.flushPending();
    if (this.pending.length) {
      this.deps.log.warn(
        { lost: this.pending.length },
        'readings not appended: Redis unreachable at shutdown',
      );
    }
    await this.deps.source.close();
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.ticking = this.tick().finally(() => (this.ticking = undefined));
    }, delayMs);
  }

  private async tick(): Promise<void> {
    let intervalMs = this.lastIntervalMs || 1000;
    try {
      await this.flushPending();
      const state = await this.deps.state.get();
      intervalMs = state.intervalMs;
      const now = this.deps.clock.now();
      if (intervalMs !== this.lastIntervalMs) this.nextDue = 0;
      this.lastIntervalMs = intervalMs;
      if (!state.running) {
        await this.setStatus({ ...this.status, status: 'stopped' });
        this.nextDue = 0;
      } else if (now >= this.nextDue) {
        // Keep a fixed cadence (no drift from read time); after a stall, restart it from now.
        this.nextDue =
          this.nextDue && now - this.nextDue < intervalMs ? this.nextDue + intervalMs : now + intervalMs;
        await this.measure(now);
      }
    } catch (err) {
      this.deps.metrics.redisErrors();
      this.deps.log.warn({ err }, 'measuring state unavailable (Redis down?); retrying');
    }
    const now = this.deps.clock.now();
    const delay = this.nextDue > now ? Math.min(this.nextDue - now, intervalMs) : Math.min(intervalMs, 1000);
    this.schedule(delay);
  }

  private async measure(nowMs: number): Promise<void> {
    if (!this.opened && !(await this.tryOpen())) return;
    let values: SensorValues;
    try {
      values = await this.deps.source.read();
    } catch (err) {
      this.deps.metrics.sensorErrors();
      const message = err instanceof Error ? err.message : String(err);
      this.deps.log.warn(
        { err, transient: err instanceof SensorReadError ? err.transient : undefined },
        'sensor read failed',
      );
      await this.setStatus({
        ...this.status,
        status: 'error',
        lastError: message,
        errors: (this.status.errors ?? 0) + 1,
      });
      return;
    }
    this.deps.metrics.readingsTaken();
    if (this.status.status !== 'ok') await this.setStatus({ ...this.status, status: 'ok' });
    this.pending.push({ ts: new Date(nowMs).toISOString(), values });
    if (this.pending.length > MAX_PENDING) {
      this.pending.shift();
      this.deps.metrics.readingsDropped(1);
      this.deps.log.error('Redis unreachable too long: oldest unsaved reading dropped');
    }
    await this.flushPending();
  }

  private async flushPending(): Promise<void> {
    while (this.pending.length) {
      const next = this.pending[0]!;
      try {
        const { dropped } = await this.deps.outbox.append(
          next.ts,
          next.values,
          this.deps.bounds,
          this.deps.clock.now(),
        );
        this.pending.shift();
        if (dropped > 0) {
          this.deps.metrics.readingsDropped(dropped);
          this.deps.log.warn({ dropped }, 'outbox full: oldest readings dropped');
        }
      } catch (err) {
        this.deps.metrics.redisErrors();
        this.deps.log.warn({ err, pending: this.pending.length }, 'outbox append failed; will retry');
        break;
      } finally {
        this.deps.metrics.pendingAppends(this.pending.length);
      }
    }
  }

  private async tryOpen(): Promise<boolean> {
    try {
      const info = await this.deps.source.open();
      this.opened = true;
      this.deps.log.info(info, 'sensor ready');
      await this.setStatus({
        status: 'ok',
        driver: this.deps.source.kind,
        model: info.model,
        errors: this.status.errors,
      });
      return true;
    } catch (err) {
      this.deps.metrics.sensorErrors();
      const message = err instanceof Error ? err.message : String(err);
      this.deps.log.error({ err }, 'sensor not available');
      await this.setStatus({
        ...this.status,
        status: 'error',
        lastError: message,
        errors: (this.status.errors ?? 0) + 1,
      });
      return false;
    }
  }

  private async setStatus(status: SensorStatus): Promise<void> {
    const changed = JSON.stringify(status) !== JSON.stringify(this.status);
    this.status = status;
    if (!changed) return;
    try {
      await this.deps.statusStore.write(status);
    } catch (err) {
      this.deps.log.debug({ err }, 'could not write sensor status');
    }
  }
}
