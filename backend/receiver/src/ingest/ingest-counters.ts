/**
 * Ingest statistics in the database (sources 001 and 004): per UTC minute and device, how many messages
 * and readings arrived and what became of them, plus rejections by reason. Committed with the rows they
 * count (in the batch's `ingest_batches` row) and folded into ingest_counters / ingest_rejections exactly
 * once (fold/), so the totals are exact whichever replica did the work and whatever crashed;
 * ingest-stats-query.ts in backend/mariadb reads them for the web admin.
 */
import {
  zeroIngestTotals,
  type IngestTotals,
  type RejectionReason,
  type RejectionScope,
} from '@sensorfleet/shared';
import type { IngestItem } from './ingest-item.js';
import { sqlMinute } from '../db/sql-time.js';
import type { ItemSummary } from './message-log.js';

export interface CounterRow extends IngestTotals {
  minute: string;
  deviceId: string;
}

export interface RejectionCount {
  minute: string;
  deviceId: string;
  scope: RejectionScope;
  reason: RejectionReason;
  n: number;
}

export function countBatch(
  items: readonly IngestItem[],
  summaries: readonly ItemSummary[],
  storedRows: readonly number[],
): { counters: CounterRow[]; rejections: RejectionCount[] } {
  const counters = new Map<string, CounterRow>();
  const rejections = new Map<string, RejectionCount>();
  items.forEach((item, i) => {
    const s = summaries[i]!;
    const minute = sqlMinute(item.receivedAt);
    const k = `${minute}\u0000${item.deviceId}`;
    let c = counters.get(k);
    if (!c) {
      c = { minute, deviceId: item.deviceId, ...zeroIngestTotals() };
      counters.set(k, c);
    }
    c.messages++;
    c.readings += s.readings;
    c.storedReadings += s.stored;
    c.duplicateReadings += s.duplicates;
    c.rejectedReadings += s.rejected;
    if (s.rejections.some((r) => r.scope === 'message')) c.rejectedMessages++;
    c.storedRows += storedRows[i] ?? 0;
    for (const r of s.rejections) {
      const rk = `${k}\u0000${r.scope}\u0000${r.reason}`;
      const rc = rejections.get(rk);
      if (rc) rc.n++;
      else rejections.set(rk, { minute, deviceId: item.deviceId, scope: r.scope, reason: r.reason, n: 1 });
    }
  });
  const order = (a: { minute: string; deviceId: string }, b: { minute: string; deviceId: string }) =>
    a.minute !== b.minute
      ? a.minute < b.minute
        ? -1
        : 1
      : a.deviceId < b.deviceId
        ? -1
        : a.deviceId > b.deviceId
          ? 1
          : 0;
  return {
    counters: [...counters.values()].sort(order),
    rejections: [...rejections.values()].sort(
      (a, b) => order(a, b) || (a.scope + a.reason < b.scope + b.reason ? -1 : 1),
    ),
  };
}
