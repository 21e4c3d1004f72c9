import type { Pool, PoolConnection } from 'mariadb';
import type { Logger } from '@sensorfleet/shared';
import { writeRegistry } from './device-registry-writer.js';
import type { IngestItem, ReadingOutcome } from './ingest-item.js';
import { insertBatchRecord } from './batch-record.js';
import { countBatch } from './ingest-counters.js';
import {
  insertMessageLog,
  logRow,
  shouldLog,
  summarise,
  type ItemSummary,
  type MessageLogMode,
} from './message-log.js';
import { ConcurrentWriteError, writeReadings } from './readings-writer.js';
import { planRegistry } from './registry-updates.js';
import { sqlDateTime } from '../db/sql-time.js';
import { minutesOfRows } from '../fold/fold-plan.js';

export interface BatchResult {
  batchId: number;
  /** Per item: what became of each of its readings, and the summary (outcome, counts, rejections). */
  outcomes: ReadingOutcome[][];
  summaries: ItemSummary[];
  /** Rows the batch tried to store and rows it stored. */
  rows: number;
  inserted: number;
  /** Whether duplicates made it compare with stored rows (the slow path). */
  checked: boolean;
  /** Devices with seq conflicts → their highest stored seq (`devices.last_seq`), for the ack. */
  highestSeq: Map<string, number>;
  /** Transactions started for this batch (more than 1 after deadlocks). */
  attempts: number;
}

/** MariaDB error numbers worth retrying the transaction for at once. */
const ER_LOCK_WAIT_TIMEOUT = 1205;
const ER_LOCK_DEADLOCK = 1213;
const MAX_ATTEMPTS = 5;

const retryable = (err: unknown): boolean => {
  const errno = (err as { errno?: number }).errno;
  return err instanceof ConcurrentWriteError || errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT;
};

/**
 * Writes one coalesced batch of messages in ONE transaction, in a fixed statement order so that replicas
 * lock shared rows in the same order:
 *   1. readings (bulk INSERT IGNORE, conflict check only when there were duplicates: readings-writer.ts)
 *   2. one `ingest_batches` row: the seq ranges it stored, the minute rollups of those rows, its counters
 *      and last-seen figures, folded into rollups, ingest_counters and devices later, exactly once
 *      (batch-record.ts, fold/)
 *   3. message_log rows (MESSAGE_LOG)
 *   4. devices changes of online / state / 004 status and heartbeat (rare; hot rows last, locked briefly)
 *   5. for devices with seq conflicts, their highest stored seq
 * Either all of it commits or none; the caller acks only after this resolves. Deadlocks and lock-wait
 * timeouts between replicas are retried here with a fresh transaction.
 */
export class BatchWriter {
  constructor(
    private readonly pool: Pool,
    private readonly opts: { messageLog: MessageLogMode; log: Logger },
  ) {}

  async write(items: IngestItem[]): Promise<BatchResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        const result = await this.writeOnce(items);
        result.attempts = attempt;
        return result;
      } catch (err) {
        if (!retryable(err) || attempt >= MAX_ATTEMPTS) throw err;
        this.opts.log.debug({ err, attempt }, 'transaction collided with another replica; retrying');
        await new Promise((r) => setTimeout(r, Math.random() * 20 * attempt));
      }
    }
  }

  private async writeOnce(items: IngestItem[]): Promise<BatchResult> {
    const conn = await this.pool.getConnection();
    try {
      const [[next]] = (await Promise.all([
        conn.query('SELECT NEXTVAL(ingest_batch_ids) AS id'),
        conn.beginTransaction(),
      ])) as [{ id: number }[], unknown];
      const batchId = Number(next!.id);
      const readings = await writeReadings(conn, items, batchId);
      const summaries = items.map((item, i) => summarise(item, readings.outcomes[i] ?? []));
      const { counters, rejections } = countBatch(items, summaries, readings.insertedByItem);
      const logRows =
        this.opts.messageLog === 'off'
          ? []
          : items.flatMap((item, i) =>
              shouldLog(this.opts.messageLog, summaries[i]!) ? [logRow(item, summaries[i]!)] : [],
            );
      const conflicted = [
        ...new Set(
          items
            .filter((it, i) => it.acks && readings.outcomes[i]?.includes('conflict'))
            .map((it) => it.deviceId),
        ),
      ].sort();
      const registry = planRegistry(items, readings.outcomes);
      // Issued in this order at once; the connection sends them one after the other and none after one
      // that found the transaction aborted (@sensorfleet/mariadb transaction-guard.ts).
      const done = Promise.all([
        insertBatchRecord(conn, batchId, sqlDateTime(Date.now()), {
          ranges: readings.stored,
          counters,
          rejections,
          touch: registry.touch,
          minutes: minutesOfRows(readings.storedRows),
        }),
        logRows.length ? insertMessageLog(conn, logRows) : undefined,
        writeRegistry(conn, registry),
        conflicted.length ? highestSeqs(conn, conflicted) : undefined,
      ]);
      const [, , , highest] = await done;
      await conn.commit();
      return {
        batchId,
        outcomes: readings.outcomes,
        summaries,
        rows: readings.rows,
        inserted: readings.inserted,
        checked: readings.checked,
        highestSeq: highest ?? new Map(),
        attempts: 1,
      };
    } catch (err) {
      await conn.rollback().catch(() => {});
      throw err;
    } finally {
      await conn.release();
    }
  }
}

async function highestSeqs(conn: PoolConnection, deviceIds: string[]): Promise<Map<string, number>> {
  // The stored rows are the truth (devices.last_seq follows them only when the fold job has run).
  const rows = (await conn.query(
    `SELECT device_id AS id, MAX(seq) AS highest FROM readings WHERE device_id IN (${deviceIds.map(() => '?').join(',')})` +
      ' GROUP BY device_id',
    deviceIds,
  )) as { id: string; highest: number }[];
  return new Map(rows.map((r) => [r.id, Number(r.highest)]));
}
