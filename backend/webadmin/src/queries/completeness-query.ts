import type { Queryable } from '@sensorfleet/mariadb';
import type { Completeness } from '@sensorfleet/shared/schemas/webadmin-api';

type Day = Completeness['days'][number];
type Gap = Day['gaps'][number];

const MAX_GAPS = 1000;
const dayOf = (d: Date) => d.toISOString().slice(0, 10);
const int = (v: unknown): number | null =>
  typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : null;

function parseState(v: unknown): Record<string, unknown> | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') return v as Record<string, unknown>;
  try {
    return JSON.parse(String(v)) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/**
 * Per device and UTC day: readings stored vs seqs issued, and every gap in the seqs with what can be said
 * about its cause. How each number is made:
 * - `stored`: distinct seqs in `readings` measured that day; `firstSeq`/`lastSeq` their range.
 * - gaps: runs of seqs missing between stored ones (window function over the device's stored seqs, one
 *   stored seq before the range included), charged to the day of the reading after the gap; the run after
 *   the last stored seq up to the device's reported `lastSeq` is charged to the last day of the range.
 * - `issued` = `stored` + the gap seqs charged to the day; `missing` = those gap seqs.
 * - cause `backlog`: seqs ≥ the reported `oldestUnackedSeq` are still in the device outbox (not yet
 *   delivered). Other gaps are `not_attributed`: the device counts readings dropped by its outbox bound
 *   (`dropped`), lost when Redis restarted without its last writes (`sensor.redisLostAppends`) and rejected
 *   by the backend (`rejected`), and the receiver counts rejections per minute and reason
 *   (`ingest_rejections`), but none of them record which seqs; `accounting` compares the totals.
 */
export async function deviceCompleteness(
  db: Queryable,
  q: { deviceId: string; from: Date; to: Date },
): Promise<Completeness | undefined> {
  const [device] = (await db.query('SELECT last_state, last_state_at, last_seq FROM devices WHERE id = ?', [
    q.deviceId,
  ])) as { last_state: unknown; last_state_at: Date | null; last_seq: number | null }[];
  if (!device) return undefined;
  const state = parseState(device.last_state);
  const sensor = (state?.sensor ?? null) as Record<string, unknown> | null;
  const lastSeqIssued = int(state?.lastSeq);
  const oldestUnackedSeq = int(state?.oldestUnackedSeq);
  const dropped = int(state?.dropped);
  const lost = int(sensor?.redisLostAppends) ?? (state ? 0 : null);
  const rejectedAsReported = int(state?.rejected);

  const perDay = (await db.query(
    "SELECT DATE_FORMAT(measured_at, '%Y-%m-%d') AS day, COUNT(DISTINCT seq) AS stored, MIN(seq) AS first_seq," +
      ' MAX(seq) AS last_seq FROM readings WHERE device_id = ? AND measured_at >= ? AND measured_at < ?' +
      ' GROUP BY day ORDER BY day',
    [q.deviceId, q.from, q.to],
  )) as { day: string; stored: number; first_seq: number; last_seq: number }[];
  const rejections = (await db.query(
    "SELECT DATE_FORMAT(minute, '%Y-%m-%d') AS day, reason, SUM(n) AS n FROM ingest_rejections" +
      " WHERE device_id = ? AND scope = 'reading' AND minute >= ? AND minute < ? GROUP BY day, reason",
    [q.deviceId, q.from, q.to],
  )) as { day: string; reason: string; n: number }[];

  const days = new Map<string, Day>();
  const dayEntry = (day: string): Day => {
    let d = days.get(day);
    if (!d) {
      d = { day, stored: 0, firstSeq: null, lastSeq: null, issued: 0, missing: 0, rejected: {}, gaps: [] };
      days.set(day, d);
    }
    return d;
  };
  for (const r of perDay) {
    const d = dayEntry(r.day);
    d.stored = Number(r.stored);
    d.firstSeq = Number(r.first_seq);
    d.lastSeq = Number(r.last_seq);
  }
  for (const r of rejections) dayEntry(r.day).rejected[r.reason] = Number(r.n);

  const lo = Math.min(...perDay.map((r) => Number(r.first_seq)));
  const hi = Math.max(...perDay.map((r) => Number(r.last_seq)));
  const gaps: Gap[] = [];
  let truncated = false;
  const split = (
    fromSeq: number,
    toSeq: number,
    after: string | null,
    before: string | null,
    day: string,
  ) => {
    // The part at or above oldestUnackedSeq is in the outbox; the rest is missing.
    const parts: [number, number, Gap['cause']][] = [];
    if (oldestUnackedSeq !== null && toSeq >= oldestUnackedSeq) {
      if (fromSeq < oldestUnackedSeq) parts.push([fromSeq, oldestUnackedSeq - 1, 'not_attributed']);
      parts.push([Math.max(fromSeq, oldestUnackedSeq), toSeq, 'backlog']);
    } else parts.push([fromSeq, toSeq, 'not_attributed']);
    for (const [f, t, cause] of parts) {
      if (gaps.length >= MAX_GAPS) {
        truncated = true;
        return;
      }
      const gap: Gap = { fromSeq: f, toSeq: t, count: t - f + 1, after, before, cause };
      gaps.push(gap);
      const d = dayEntry(day);
      d.gaps.push(gap);
      d.missing += gap.count;
    }
  };
  if (perDay.length) {
    const [prev] = (await db.query('SELECT MAX(seq) AS seq FROM readings WHERE device_id = ? AND seq < ?', [
      q.deviceId,
      lo,
    ])) as { seq: number | null }[];
    const start = prev?.seq == null ? lo : Number(prev.seq);
    const rows = (await db.query(
      'SELECT prev_seq, seq, prev_at, at FROM (' +
        ' SELECT seq, at, LAG(seq) OVER (ORDER BY seq) AS prev_seq, LAG(at) OVER (ORDER BY seq) AS prev_at FROM (' +
        '  SELECT seq, MIN(measured_at) AS at FROM readings WHERE device_id = ? AND seq BETWEEN ? AND ? GROUP BY seq' +
        ' ) s) g WHERE seq > prev_seq + 1 ORDER BY seq LIMIT ?',
      [q.deviceId, start, hi, MAX_GAPS + 1],
    )) as { prev_seq: number; seq: number; prev_at: Date; at: Date }[];
    // A device's seqs start at 1: seqs below the first ever stored are a gap too.
    if (prev?.seq == null && lo > 1) {
      const first = perDay[0]!;
      split(1, lo - 1, null, null, first.day);
    }
    for (const r of rows) {
      const at = r.at;
      if (at.getTime() < q.from.getTime() || at.getTime() >= q.to.getTime()) continue;
      split(Number(r.prev_seq) + 1, Number(r.seq) - 1, r.prev_at.toISOString(), at.toISOString(), dayOf(at));
    }
    if (rows.length > MAX_GAPS) truncated = true;
  }
  const lastStored = device.last_seq === null ? null : Number(device.last_seq);
  const tail = Math.max(hi === -Infinity ? 0 : hi, lastStored ?? 0);
  const toIsNow = q.to.getTime() >= Date.now() - 60_000;
  if (lastSeqIssued !== null && lastSeqIssued > tail && toIsNow) {
    split(tail + 1, lastSeqIssued, null, null, dayOf(new Date(Math.min(Date.now(), q.to.getTime() - 1))));
  }

  for (const d of days.values()) d.issued = d.stored + d.missing;
  const missing = gaps.filter((g) => g.cause !== 'backlog').reduce((n, g) => n + g.count, 0);
  const backlog = gaps.filter((g) => g.cause === 'backlog').reduce((n, g) => n + g.count, 0);
  const counted = (dropped ?? 0) + (lost ?? 0) + (rejectedAsReported ?? 0);
  const explained = Math.min(missing, counted);
  return {
    deviceId: q.deviceId,
    from: q.from.toISOString(),
    to: q.to.toISOString(),
    device: {
      lastSeqIssued,
      lastSeqStored: lastStored,
      backlog: int(state?.backlog),
      oldestUnackedSeq,
      droppedByOutboxBound: dropped,
      lostInPowerCut: lost,
      rejectedAsReported,
      seqConflicts: int(state?.seqConflicts),
      stateAt: device.last_state_at?.toISOString() ?? null,
    },
    days: [...days.values()].sort((a, b) => (a.day < b.day ? -1 : 1)),
    accounting: {
      missing,
      backlog,
      explainedByDeviceCounts: explained,
      unexplained: missing - explained,
      gapsTruncated: truncated,
    },
    notes: [
      'Drops (outbox bound), power-cut losses and rejections are counted by the device and the receiver, not ' +
        'numbered: a gap is attributed to them only as a total (accounting), never one by one.',
      'The device counters are totals since its outbox began; for a range shorter than its life they may ' +
        'count losses outside the range.',
      'Rejections per day are from the receiver’s per-minute counters (kept for INGEST_STATS_MAX_AGE).',
    ],
  };
}
