import type { Logger, OutboxBounds, SensorStatus } from '@sensorfleet/shared';
import { ClockJumpDetector } from './clock-jump-detector.js';
import { PendingAppends, type AppendMetrics, type OutboxAppender } from './pending-appends.js';
import { SensorReadError, type SensorSource, type SensorValues } from './sources/sensor-source.js';

export type { OutboxAppender } from './pending-appends.js';

/** The sensor status as this service writes it: shared's SensorStatus plus its own counters. */
export type SensorReport = SensorStatus & {
  /** Appends Redis no longer had after a restart (its seq counter went back), over the device's life. */
  redisLostAppends?: number;
};

export interface MeasuringStateReader {
  get(): Promise<{ running: boolean; intervalMs: number }>;
}
export interface SensorStatusWriter {
  write(status: SensorReport): Promise<void>;
  read(): Promise<SensorReport | undefined>;
}
export interface LoopMetrics extends AppendMetrics {
  readingsTaken(): void;
  sensorErrors(): void;
  clockJumps(): void;
}
export interface Clock {
  /** Wall-clock time (ms since the epoch): the readings' timestamps. May jump (NTP, no RTC). */
  now(): number;
  /** Monotonic time (ms): the cadence. Never jumps, so a clock change cannot stall measuring. */
  monotonic(): number;
}

/** Measuring state is re-read at least this often (changes also arrive at once through wake()). */
const STATE_REFRESH_MS = 1000;

/**
 * Every interval: if measuring is on, take one reading and queue it for the outbox (which assigns the seq).
 * Running state and interval come from Redis: re-read on wake() (the measuring-changed channel: button and
 * commands take effect at once) and at least every second, so they also apply within one interval if a
 * notification is missed. While Redis is unreachable the last known state holds and readings queue in
 * memory (PendingAppends). A sensor error writes no value: it is counted and reported as sensor status.
 */
export class MeasurementLoop {
  readonly name = 'measurement-loop';
  private timer: NodeJS.Timeout | undefined;
  private running = false;
  private ticking: Promise<void> | undefined;
  private wakeRequested = false;
  private status: SensorReport;
  private statusWrites: Promise<void> = Promise.resolve();
  private statusQueued = false;
  private opened = false;
  private state: { running: boolean; intervalMs: number } | undefined;
  private stateReadAt = Number.NEGATIVE_INFINITY;
  private stateStale = true;
  private stateFailing = false;
  private lastIntervalMs = 0;
  private nextDue: number | undefined;
  private readonly pending: PendingAppends;
  private readonly clockJumps: ClockJumpDetector;

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
      maxPending?: number;
      /** A wall-clock step larger than this (ms, either way) is counted as a clock jump. */
      clockJumpThresholdMs?: number;
    },
  ) {
    this.clockJumps = new ClockJumpDetector(deps.clockJumpThresholdMs);
    this.status = { status: 'starting', driver: deps.source.kind, errors: 0 };
    this.pending = new PendingAppends({
      outbox: deps.outbox,
      bounds: deps.bounds,
      now: () => deps.clock.now(),
      log: deps.log,
      metrics: deps.metrics,
      maxPending: deps.maxPending,
      onRedisLostAppends: (n) =>
        this.setStatus({ ...this.status, redisLostAppends: (this.status.redisLostAppends ?? 0) + n }),
    });
  }

  get sensorStatus(): SensorReport {
    return this.status;
  }

  /** Readings measured but not yet in the outbox. */
  get pendingAppends(): number {
    return this.pending.size;
  }

  async start(): Promise<void> {
    this.running = true;
    // The loss counter is the device's, not this process's: carry it over.
    const previous = await this.deps.statusStore.read().catch(() => undefined);
    if (previous?.redisLostAppends) this.status.redisLostAppends = previous.redisLostAppends;
    if (previous?.clockJumps) this.status.clockJumps = previous.clockJumps;
    if (previous?.lastClockJump) this.status.lastClockJump = previous.lastClockJump;
    await this.tryOpen();
    this.schedule(0);
  }

  /** Measuring state changed (button/command): re-read it now instead of at the next refresh. */
  wake(): void {
    if (!this.running) return;
    this.stateStale = true;
    if (this.ticking) {
      this.wakeRequested = true;
      return;
    }
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    await this.pending.drain();
    if (this.pending.size) {
      this.deps.log.warn({ lost: this.pending.size }, 'readings not appended: Redis unreachable at shutdown');
    }
    await this.statusWrites;
    await this.deps.source.close();
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // One tick at a time: two overlapping ticks would measure twice for one slot.
      this.ticking = this.tick().finally(() => {
        this.ticking = undefined;
        if (this.wakeRequested) {
          this.wakeRequested = false;
          this.schedule(0);
        }
      });
    }, delayMs);
  }

  private async tick(): Promise<void> {
    const { clock } = this.deps;
    this.watchClock();
    const state = await this.currentState();
    let intervalMs = state?.intervalMs ?? 1000;
    if (state) {
      intervalMs = state.intervalMs;
      if (intervalMs !== this.lastIntervalMs) this.nextDue = undefined;
      this.lastIntervalMs = intervalMs;
      const now = clock.monotonic();
      if (!state.running) {
        this.setStatus({ ...this.status, status: 'stopped' });
        this.nextDue = undefined;
      } else if (this.nextDue === undefined || now >= this.nextDue) {
        // Keep a fixed cadence (no drift from read time); after a stall, restart it from now.
        this.nextDue =
          this.nextDue !== undefined && now - this.nextDue < intervalMs
            ? this.nextDue + intervalMs
            : now + intervalMs;
        await this.measure();
      }
    }
    const now = clock.monotonic();
    const delay =
      state?.running && this.nextDue !== undefined && this.nextDue > now
        ? Math.min(this.nextDue - now, intervalMs)
        : Math.min(intervalMs, STATE_REFRESH_MS);
    this.schedule(delay);
  }

  /**
   * Readings keep the wall-clock time as measured, jump or not (seq keeps their order); the jump is
   * counted and reported so that an operator can tell why timestamps go back or leap ahead.
   */
  private watchClock(): void {
    const jump = this.clockJumps.sample(this.deps.clock.now(), this.deps.clock.monotonic());
    if (!jump) return;
    this.deps.metrics.clockJumps();
    this.deps.log.warn(jump, 'wall clock jumped: readings from now on carry the new time');
    this.setStatus({ ...this.status, clockJumps: (this.status.clockJumps ?? 0) + 1, lastClockJump: jump });
  }

  private async currentState(): Promise<{ running: boolean; intervalMs: number } | undefined> {
    const now = this.deps.clock.monotonic();
    if (this.state && !this.stateStale && now - this.stateReadAt < STATE_REFRESH_MS) return this.state;
    this.stateStale = false; // a wake() during the read marks it stale again
    try {
      this.state = await this.deps.state.get();
      this.stateReadAt = now;
      if (this.stateFailing) {
        this.stateFailing = false;
        this.deps.log.info('measuring state readable again');
      }
    } catch (err) {
      this.deps.metrics.redisErrors();
      if (!this.stateFailing) {
        this.stateFailing = true;
        this.deps.log.warn(
          { err },
          'measuring state unavailable (Redis down?); keeping the last known state',
        );
      }
    }
    return this.state;
  }

  private async measure(): Promise<void> {
    if (!this.opened && !(await this.tryOpen())) return;
    const ts = new Date(this.deps.clock.now()).toISOString();
    let values: SensorValues;
    try {
      values = await this.deps.source.read();
    } catch (err) {
      this.deps.metrics.sensorErrors();
      const message = err instanceof Error ? err.message : String(err);
      if (this.status.status !== 'error') {
        this.deps.log.warn(
          { err, transient: err instanceof SensorReadError ? err.transient : undefined },
          'sensor read failed',
        );
      }
      this.setStatus({
        ...this.status,
        status: 'error',
        lastError: message,
        errors: (this.status.errors ?? 0) + 1,
      });
      return;
    }
    this.deps.metrics.readingsTaken();
    if (this.status.status !== 'ok') {
      if (this.status.status === 'error') this.deps.log.info('sensor reads again');
      this.setStatus({ ...this.status, status: 'ok' });
    }
    this.pending.push({ ts, values });
  }

  private async tryOpen(): Promise<boolean> {
    try {
      const info = await this.deps.source.open();
      this.opened = true;
      this.deps.log.info(info, 'sensor ready');
      this.setStatus({ ...this.status, status: 'ok', model: info.model });
      return true;
    } catch (err) {
      this.deps.metrics.sensorErrors();
      const message = err instanceof Error ? err.message : String(err);
      if (this.status.status !== 'error') this.deps.log.error({ err }, 'sensor not available');
      this.setStatus({
        ...this.status,
        status: 'error',
        lastError: message,
        errors: (this.status.errors ?? 0) + 1,
      });
      return false;
    }
  }

  /** Never awaited by the cadence: one write at a time, always of the newest status. */
  private setStatus(status: SensorReport): void {
    const changed = JSON.stringify(status) !== JSON.stringify(this.status);
    this.status = status;
    if (!changed || this.statusQueued) return;
    this.statusQueued = true;
    this.statusWrites = this.statusWrites.then(async () => {
      this.statusQueued = false;
      await this.deps.statusStore
        .write(this.status)
        .catch((err: unknown) => this.deps.log.debug({ err }, 'could not write sensor status'));
    });
  }
}
