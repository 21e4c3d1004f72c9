import { performance } from 'node:perf_hooks';
import type { Redis } from 'ioredis';
import type {
  Logger,
  MeasuringStateStore,
  OutboxStore,
  ReportedState,
  SensorStatus,
} from '@sensorfleet/shared';

/** The sensor's status as it writes it (shared's SensorStatus plus what only the device reads). */
export type DeviceSensorStatus = SensorStatus & {
  /** Appends Redis lost on a restart without its last writes (counted by the sensor process). */
  redisLostAppends?: number;
};

/** The reported state with its device-side extensions (ReportedState allows additional properties). */
export type DeviceState = ReportedState & {
  /** Readings renumbered after a seq conflict (the backend had other readings under their seqs). */
  seqConflicts: number;
  /** Seq of the oldest reading not yet acknowledged (null when the outbox is empty). */
  oldestUnackedSeq: number | null;
  sensor?: DeviceSensorStatus;
};

/** What the device reports on the retained `devices/{id}/state` topic. */
export async function collectState(deps: {
  outbox: OutboxStore;
  measuring: MeasuringStateStore;
  redis: Redis;
  /** Readings renumbered after a seq conflict (RedisForwarderStore.seqConflicts). */
  seqConflicts: () => Promise<number>;
  version: string;
  /** performance.now() when the process started: uptime must not follow the wall clock, which may step. */
  startedMonotonicMs: number;
}): Promise<DeviceState> {
  const [stats, measuring, sensorJson, seqConflicts] = await Promise.all([
    deps.outbox.stats(),
    deps.measuring.get(),
    deps.redis.hget(deps.outbox.keys.sensorStatus, 'json'),
    deps.seqConflicts(),
  ]);
  return {
    v: 1,
    running: measuring.running,
    intervalMs: measuring.intervalMs,
    backlog: stats.backlog,
    oldestUnackedTs: stats.oldestTs ?? null,
    oldestUnackedSeq: stats.oldestSeq ?? null,
    lastSeq: stats.lastSeq,
    dropped: stats.dropped,
    dropsUnconfirmed: stats.dropsUnconfirmed,
    rejected: stats.rejected,
    seqConflicts,
    ...(sensorJson ? { sensor: JSON.parse(sensorJson) as DeviceSensorStatus } : {}),
    version: deps.version,
    uptimeS: Math.max(0, Math.round((performance.now() - deps.startedMonotonicMs) / 100) / 10),
    ts: new Date().toISOString(),
  };
}

/** Delivery counts as stuck when the oldest unacked reading has been the same for this long. */
const STUCK_MS = 30_000;

/**
 * The parts of the state whose change is worth a message right away. Not the backlog itself: with live
 * readings a few are always on their way, and a message each time the outbox happens to be empty would
 * undo the savings of batching. Instead, whether delivery is stuck (see DeliveryWatch).
 */
function signature(s: DeviceState, stuck: boolean): string {
  return JSON.stringify([
    s.running,
    s.intervalMs,
    stuck,
    s.dropped,
    s.dropsUnconfirmed,
    s.rejected,
    s.seqConflicts,
    s.sensor?.status,
    s.sensor?.model,
    s.sensor?.redisLostAppends,
    s.sensor?.clockJumps,
  ]);
}

/**
 * Stuck = the oldest unacked reading has not changed for STUCK_MS (link or backend down). Judged by this
 * process's monotonic clock, not by reading timestamps, which follow the device's wall clock.
 */
export class DeliveryWatch {
  private oldest: number | null = null;
  private since = 0;

  constructor(private readonly stuckMs = STUCK_MS) {}

  stuck(state: Pick<DeviceState, 'oldestUnackedSeq'>, nowMs: number): boolean {
    if (state.oldestUnackedSeq !== this.oldest) {
      this.oldest = state.oldestUnackedSeq;
      this.since = nowMs;
    }
    return this.oldest !== null && nowMs - this.since >= this.stuckMs;
  }
}

/**
 * Publishes the state retained: on connect, when something that matters changes (checked every few
 * seconds), and at least every `intervalMs` so the backend sees fresh backlog figures.
 */
export class StateReporter {
  readonly name = 'state-reporter';
  private timer: NodeJS.Timeout | undefined;
  private lastSignature = '';
  private lastPublishedAt = Number.NEGATIVE_INFINITY;
  private last: DeviceState | undefined;
  private readonly watch = new DeliveryWatch();

  constructor(
    private readonly deps: {
      collect: () => Promise<DeviceState>;
      publish: (state: DeviceState) => Promise<void>;
      connected: () => boolean;
      intervalMs: number;
      checkEveryMs?: number;
      /** Monotonic ms (default performance.now). */
      monotonic?: () => number;
      log: Logger;
    },
  ) {}

  get latest(): DeviceState | undefined {
    return this.last;
  }

  async start(): Promise<void> {
    this.timer = setInterval(() => void this.check(false), this.deps.checkEveryMs ?? 2000);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
  }

  /** Publish now (on connect, after a command). */
  async publishNow(): Promise<DeviceState | undefined> {
    return this.check(true);
  }

  private async check(force: boolean): Promise<DeviceState | undefined> {
    try {
      const state = await this.deps.collect();
      this.last = state;
      if (!this.deps.connected()) return state;
      // Monotonic: the device's wall clock may be set back or ahead (the state's `ts` says what it shows).
      const now = this.deps.monotonic ? this.deps.monotonic() : performance.now();
      const sig = signature(state, this.watch.stuck(state, now));
      const due = now - this.lastPublishedAt >= this.deps.intervalMs;
      if (force || due || sig !== this.lastSignature) {
        await this.deps.publish(state);
        this.lastSignature = sig;
        this.lastPublishedAt = this.deps.monotonic ? this.deps.monotonic() : performance.now();
      }
      return state;
    } catch (err) {
      this.deps.log.debug({ err }, 'state not published');
      return undefined;
    }
  }
}
