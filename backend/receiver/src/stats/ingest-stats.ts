import { zeroIngestTotals, type IngestTotals, type Logger } from '@sensorfleet/shared';
import type { BatchResult } from '../ingest/batch-writer.js';
import type { IngestItem } from '../ingest/ingest-item.js';

export interface StatsSnapshot extends IngestTotals {
  uptimeS: number;
  rejectedByReason: Record<string, number>;
  /** Messages without any rejection, in % of all messages (004's "success rate"). */
  successRate: number | null;
  lastMessageAt: string | null;
}

/**
 * This replica's ingest totals since start, counted when a batch commits (so they agree with the
 * database's ingest_counters), for the periodic statistics line. The fleet-wide, exact figures come from
 * the database (ingest-stats-query.ts in backend/mariadb).
 */
export class IngestStats {
  private readonly startedAt: number;
  private s = { ...zeroIngestTotals(), cleanMessages: 0 };
  private byReason = new Map<string, number>();
  private lastMessageAt: number | undefined;

  constructor(private readonly now: () => number = Date.now) {
    this.startedAt = now();
  }

  received(item: IngestItem): void {
    this.lastMessageAt = item.receivedAt;
  }

  committed(result: BatchResult): void {
    result.summaries.forEach((sum) => {
      this.s.messages++;
      if (!sum.rejections.length) this.s.cleanMessages++;
      this.s.readings += sum.readings;
      this.s.storedReadings += sum.stored;
      this.s.duplicateReadings += sum.duplicates;
      this.s.rejectedReadings += sum.rejected;
      if (sum.rejections.some((r) => r.scope === 'message')) this.s.rejectedMessages++;
      for (const r of sum.rejections) this.byReason.set(r.reason, (this.byReason.get(r.reason) ?? 0) + 1);
    });
    this.s.storedRows += result.inserted;
  }

  snapshot(): StatsSnapshot {
    const { cleanMessages, ...rest } = this.s;
    return {
      uptimeS: Math.round((this.now() - this.startedAt) / 1000),
      ...rest,
      rejectedByReason: Object.fromEntries([...this.byReason].sort()),
      successRate: this.s.messages ? Math.round((cleanMessages / this.s.messages) * 10_000) / 100 : null,
      lastMessageAt: this.lastMessageAt === undefined ? null : new Date(this.lastMessageAt).toISOString(),
    };
  }
}

/**
 * Logs one statistics line every STATS_LOG_INTERVAL (004 prints a report every 5 minutes): totals since
 * start, rates over the last interval, and what the caller adds (connection, backlog).
 */
export class StatsReporter {
  readonly name = 'stats-reporter';
  private timer: NodeJS.Timeout | undefined;
  private last: StatsSnapshot | undefined;
  private lastAt = 0;

  constructor(
    private readonly deps: {
      stats: IngestStats;
      intervalMs: number;
      log: Logger;
      extra: () => Record<string, unknown>;
      now?: () => number;
    },
  ) {}

  async start(): Promise<void> {
    if (!this.deps.intervalMs) return;
    this.lastAt = this.time();
    this.timer = setInterval(() => this.report(), this.deps.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.deps.intervalMs) this.report();
  }

  report(): void {
    const now = this.time();
    const snap = this.deps.stats.snapshot();
    const minutes = Math.max(1e-9, (now - this.lastAt) / 60_000);
    const prev = this.last;
    const perMinute = (k: 'messages' | 'storedReadings' | 'rejectedReadings') =>
      Math.round(((snap[k] - (prev?.[k] ?? 0)) / minutes) * 10) / 10;
    this.deps.log.info(
      {
        stats: snap,
        perMinute: {
          messages: perMinute('messages'),
          storedReadings: perMinute('storedReadings'),
          rejectedReadings: perMinute('rejectedReadings'),
        },
        ...this.deps.extra(),
      },
      'ingest statistics',
    );
    this.last = snap;
    this.lastAt = now;
  }

  private time(): number {
    return (this.deps.now ?? Date.now)();
  }
}
