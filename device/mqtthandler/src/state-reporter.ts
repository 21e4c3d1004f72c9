import type { Redis } from 'ioredis';
import type {
  Logger,
  MeasuringStateStore,
  OutboxStore,
  ReportedState,
  SensorStatus,
} from '@sensorfleet/shared';

/** What the device reports on the retained `devices/{id}/state` topic. */
export async function collectState(deps: {
  outbox: OutboxStore;
  measuring: MeasuringStateStore;
  redis: Redis;
  version: string;
  startedAt: number;
}): Promise<ReportedState> {
  const [stats, measuring, sensorJson] = await Promise.all([
    deps.outbox.stats(),
    deps.measuring.get(),
    deps.redis.hget(deps.outbox.keys.sensorStatus, 'json'),
  ]);
  return {
    v: 1,
    running: measuring.running,
    intervalMs: measuring.intervalMs,
    backlog: stats.backlog,
    oldestUnackedTs: stats.oldestTs ?? null,
    lastSeq: stats.lastSeq,
    dropped: stats.dropped,
    rejected: stats.rejected,
    ...(sensorJson ? { sensor: JSON.parse(sensorJson) as SensorStatus } : {}),
    version: deps.version,
    uptimeS: Math.round((Date.now() - deps.startedAt) / 100) / 10,
    ts: new Date().toISOString(),
  };
}

/** The parts of the state whose change is worth a message right away (backlog only when it empties/fills). */
function signature(s: ReportedState): string {
  return JSON.stringify([
    s.running,
    s.intervalMs,
    s.backlog > 0,
    s.dropped,
    s.rejected,
    s.sensor?.status,
    s.sensor?.model,
  ]);
}

/**
 * Publishes the state retained: on connect, when something that matters changes (checked every few
 * seconds), and at least every `intervalMs` so the backend sees fresh backlog figures.
 */
export class StateReporter {
  readonly name = 'state-reporter';
  private timer: NodeJS.Timeout | undefined;
  private lastSignature = '';
  private lastPublishedAt = 0;
  private last: ReportedState | undefined;

  constructor(
    private readonly deps: {
      collect: () => Promise<ReportedState>;
      publish: (state: ReportedState) => Promise<void>;
      connected: () => boolean;
      intervalMs: number;
      checkEveryMs?: number;
      log: Logger;
    },
  ) {}

  get latest(): ReportedState | undefined {
    return this.last;
  }

  async start(): Promise<void> {
    this.timer = setInterval(() => void this.check(false), this.deps.checkEveryMs ?? 2000);
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
  }

  /** Publish now (on connect, after a command). */
  async publishNow(): Promise<ReportedState | undefined> {
    return this.check(true);
  }

  private async check(force: boolean): Promise<ReportedState | undefined> {
    try {
      const state = await this.deps.collect();
      this.last = state;
      if (!this.deps.connected()) return state;
      const sig = signature(state);
      const due = Date.now() - this.lastPublishedAt >= this.deps.intervalMs;
      if (force || due || sig !== this.lastSignature) {
        await this.deps.publish(state);
        this.lastSignature = sig;
        this.lastPublishedAt = Date.now();
      }
      return state;
    } catch (err) {
      this.deps.log.debug({ err }, 'state not published');
      return undefined;
    }
  }
}
