import { Counter, Gauge, Histogram, reasonsIn, type Registry } from '@sensorfleet/shared';
import type { BatchResult } from '../ingest/batch-writer.js';
import type { Batch } from '../ingest/ingest-batcher.js';
import type { IngestMetrics } from '../ingest/ingest-loop.js';

/**
 * The receiver's Prometheus metrics (README "Metrics"). Per-device figures are not labels here (a fleet
 * would explode the series count): they are in the database, see ingest-stats-query.ts.
 */
export function createReceiverMetrics(registry: Registry) {
  const r = [registry];
  // Per-message figures are kept in plain variables and handed to prom-client when it is scraped: a
  // labelled inc() or set() per message hashes its labels every time (measurable with 1-reading messages).
  const messagesByKind = new Map<string, number>();
  let pendingRows = 0;
  let paused = false;
  const m = {
    messages: new Counter({
      name: 'sensorfleet_messages_total',
      help: 'messages received, by topic kind (telemetry, state, online, data, status, heartbeat)',
      labelNames: ['kind'],
      registers: r,
      collect() {
        for (const [kind, n] of messagesByKind) this.inc({ kind }, n);
        messagesByKind.clear();
      },
    }),
    ignoredMessages: new Counter({
      name: 'sensorfleet_ignored_messages_total',
      help: 'messages on topics the receiver does not handle (invalid device id)',
      registers: r,
    }),
    rejectedMessages: new Counter({
      name: 'sensorfleet_rejected_messages_total',
      help: 'messages rejected as a whole, by reason (rejection-reasons.ts; counted when the batch commits)',
      labelNames: ['reason'],
      registers: r,
    }),
    rejectedReadings: new Counter({
      name: 'sensorfleet_rejected_readings_total',
      help: 'single readings (004: samples) rejected, by reason (rejection-reasons.ts); seq_conflict included',
      labelNames: ['reason'],
      registers: r,
    }),
    readings: new Counter({
      name: 'sensorfleet_readings_total',
      help: 'readings received in committed messages (valid or not)',
      registers: r,
    }),
    storedReadings: new Counter({
      name: 'sensorfleet_stored_readings_total',
      help: 'readings newly stored',
      registers: r,
    }),
    duplicateReadings: new Counter({
      name: 'sensorfleet_duplicate_readings_total',
      help: 'readings already stored (replays)',
      registers: r,
    }),
    storedRows: new Counter({
      name: 'sensorfleet_stored_rows_total',
      help: 'rows newly stored in readings (sent and derived values)',
      registers: r,
    }),
    conflictChecks: new Counter({
      name: 'sensorfleet_conflict_checks_total',
      help: 'batches with duplicates, compared with the stored rows for seq conflicts',
      registers: r,
    }),
    writeFailures: new Counter({
      name: 'sensorfleet_db_write_failures_total',
      help: 'failed transactions (the batch is kept and retried, nothing acked)',
      registers: r,
    }),
    transactionRetries: new Counter({
      name: 'sensorfleet_db_transaction_retries_total',
      help: 'transactions retried at once after a deadlock or lock wait timeout with another replica',
      registers: r,
    }),
    pendingRows: new Gauge({
      name: 'sensorfleet_pending_rows',
      help: 'rows waiting for a transaction',
      registers: r,
      collect() {
        this.set(pendingRows);
      },
    }),
    intakePaused: new Gauge({
      name: 'sensorfleet_intake_paused',
      help: '1 while the receiver holds back MQTT acknowledgements because too many rows are waiting',
      registers: r,
      collect() {
        this.set(paused ? 1 : 0);
      },
    }),
    batchRows: new Histogram({
      name: 'sensorfleet_batch_rows',
      help: 'rows per transaction',
      buckets: [1, 10, 50, 100, 500, 1000, 5000, 20000],
      registers: r,
    }),
    batchMessages: new Histogram({
      name: 'sensorfleet_batch_messages',
      help: 'messages per transaction',
      buckets: [1, 2, 5, 10, 50, 100, 500, 1000, 5000],
      registers: r,
    }),
    commitSeconds: new Histogram({
      name: 'sensorfleet_commit_seconds',
      help: 'time to write and commit one transaction',
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: r,
    }),
    lagSeconds: new Histogram({
      name: 'sensorfleet_ingest_lag_seconds',
      help: 'reading ts → committed, for newly stored readings',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 300, 3600, 86400],
      registers: r,
    }),
    foldedBatches: new Counter({
      name: 'sensorfleet_folded_batches_total',
      help: 'ingest batches folded into rollups, counters and devices (by this replica)',
      registers: r,
    }),
    foldedRows: new Counter({
      name: 'sensorfleet_folded_rows_total',
      help: 'raw rows aggregated into the minute/hour rollups (by this replica)',
      registers: r,
    }),
    foldPending: new Gauge({
      name: 'sensorfleet_fold_pending_batches',
      help: 'committed batches not folded yet (last seen by this replica): the lag of rollups and counters',
      registers: r,
    }),
    messageLogDeleted: new Counter({
      name: 'sensorfleet_message_log_deleted_rows_total',
      help: 'message log rows deleted by rotation, by why (age, size)',
      labelNames: ['why'],
      registers: r,
    }),
    messageLogBytes: new Gauge({
      name: 'sensorfleet_message_log_bytes',
      help: 'estimated size of the message log after the last rotation (by this replica)',
      registers: r,
    }),
  };

  // Every reason of the catalogue from the start, at 0: a rate() over a series that appears only with its
  // first rejection misses that rejection, and a dashboard can list the reasons before any occurred.
  for (const reason of reasonsIn('message')) m.rejectedMessages.inc({ reason }, 0);
  for (const reason of reasonsIn('reading')) m.rejectedReadings.inc({ reason }, 0);

  const ingest: IngestMetrics = {
    committed(batch: Batch, result: BatchResult, commitMs: number, lagsMs: number[]) {
      let readings = 0;
      let stored = 0;
      let duplicates = 0;
      for (const s of result.summaries) {
        readings += s.readings;
        stored += s.stored;
        duplicates += s.duplicates;
        for (const rej of s.rejections) {
          if (rej.scope === 'message') m.rejectedMessages.inc({ reason: rej.reason });
          else if (rej.scope === 'reading') m.rejectedReadings.inc({ reason: rej.reason });
        }
      }
      m.readings.inc(readings);
      m.storedReadings.inc(stored);
      m.duplicateReadings.inc(duplicates);
      m.storedRows.inc(result.inserted);
      if (result.checked) m.conflictChecks.inc();
      if (result.attempts > 1) m.transactionRetries.inc(result.attempts - 1);
      m.batchRows.observe(batch.rows);
      m.batchMessages.observe(batch.items.length);
      m.commitSeconds.observe(commitMs / 1000);
      for (const l of lagsMs) m.lagSeconds.observe(Math.max(0, l) / 1000);
    },
    writeFailed: () => m.writeFailures.inc(),
    pending: (rows, isPaused) => {
      pendingRows = rows;
      paused = isPaused;
    },
  };
  const countMessage = (kind: string) => messagesByKind.set(kind, (messagesByKind.get(kind) ?? 0) + 1);
  return { ...m, ingest, countMessage };
}

export type ReceiverMetrics = ReturnType<typeof createReceiverMetrics>;
