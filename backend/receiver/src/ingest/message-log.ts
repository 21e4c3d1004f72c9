/**
 * The message log (source 000's "full message log"): raw inbound messages kept in `message_log` for
 * inspection, findable by device and time, written in the ingest transaction with the rows they produced.
 * MESSAGE_LOG=all logs every message, `rejected` only messages with something rejected (outcome rejected
 * or partial), `off` nothing. Rotation: maintenance/retention.ts.
 */
import type { MESSAGE_LOG_OUTCOMES } from '@sensorfleet/shared';
import type { PoolConnection } from 'mariadb';
import type { IngestItem, ReadingOutcome, Rejection } from './ingest-item.js';
import { sqlDateTime } from '../db/sql-time.js';

/** MESSAGE_LOG: which messages are kept. */
export type MessageLogMode = 'all' | 'rejected' | 'off';

/** What became of a message as a whole (the `outcome` column; the web admin reads the same list). */
export type Outcome = (typeof MESSAGE_LOG_OUTCOMES)[number];

export interface ItemSummary {
  outcome: Outcome;
  /** Readings the message carried (valid or not). */
  readings: number;
  stored: number;
  duplicates: number;
  /** Rejected readings, including seq conflicts. */
  rejected: number;
  /** Every rejection, seq conflicts included. */
  rejections: Rejection[];
}

const DETAIL_MAX = 500;

/** What became of one message, from its rejections and the outcomes of its readings. */
export function summarise(item: IngestItem, outcomes: readonly ReadingOutcome[]): ItemSummary {
  const rejections = [...item.rejected];
  let stored = 0;
  let duplicates = 0;
  outcomes.forEach((o, j) => {
    if (o === 'stored') stored++;
    // 004 keys are measurement times: a different value at the same millisecond is 004's documented
    // "first stored wins" duplicate, not a seq conflict (there is no seq counter to roll back).
    else if (o === 'duplicate' || !item.acks) duplicates++;
    else {
      const seq = item.readings[j]!.seq;
      rejections.push({
        scope: 'reading',
        reason: 'seq_conflict',
        seq,
        detail: `seq ${seq} is already stored with a different reading`,
      });
    }
  });
  const rejectedReadings = rejections.filter((r) => r.scope === 'reading').length;
  const readings = item.readings.length + item.rejected.filter((r) => r.scope === 'reading').length;
  let outcome: Outcome;
  if (rejections.some((r) => r.scope === 'message') || (rejections.length && stored + duplicates === 0)) {
    outcome = 'rejected';
  } else if (rejections.length) outcome = 'partial';
  else if (item.readings.length === 0) outcome = 'applied';
  else outcome = stored === 0 ? 'duplicate' : 'stored';
  return { outcome, readings, stored, duplicates, rejected: rejectedReadings, rejections };
}

export function shouldLog(mode: MessageLogMode, s: ItemSummary): boolean {
  return mode === 'all' || (mode === 'rejected' && (s.outcome === 'rejected' || s.outcome === 'partial'));
}

export type MessageLogRow = [
  string, // received_at
  string, // device_id
  string, // topic_kind
  number, // bytes
  Buffer, // payload
  number, // payload_truncated
  Outcome,
  string | null, // reason
  string | null, // detail
  number, // readings
  number, // stored
  number, // duplicates
  number, // rejected
];

export function logRow(item: IngestItem, s: ItemSummary): MessageLogRow {
  let detail: string | null = null;
  if (s.rejections.length) {
    detail = s.rejections.map((r) => `${r.reason}: ${r.detail}`).join('; ');
    if (detail.length > DETAIL_MAX) detail = `${detail.slice(0, DETAIL_MAX - 1)}…`;
  }
  return [
    sqlDateTime(item.receivedAt),
    item.deviceId,
    item.kind,
    item.bytes,
    item.logPayload,
    item.bytes > item.logPayload.length ? 1 : 0,
    s.outcome,
    s.rejections[0]?.reason ?? null,
    detail,
    s.readings,
    s.stored,
    s.duplicates,
    s.rejected,
  ];
}

const COLUMNS =
  'INSERT INTO message_log (received_at, device_id, topic_kind, bytes, payload, payload_truncated, outcome,' +
  ' reason, detail, readings, stored, duplicates, rejected) VALUES ';
const TUPLE = '(?,?,?,?,?,?,?,?,?,?,?,?,?)';
/** Keeps a statement well below max_allowed_packet (16 MiB by default). */
const MAX_STATEMENT_BYTES = 4 * 1024 * 1024;

/** Multi-row inserts of the rows, issued at once on the transaction's connection (sent in order). */
export function insertMessageLog(conn: PoolConnection, rows: MessageLogRow[]): Promise<unknown> {
  const statements: Promise<unknown>[] = [];
  let chunk: MessageLogRow[] = [];
  let bytes = 0;
  const flush = () => {
    if (!chunk.length) return;
    statements.push(conn.query(COLUMNS + chunk.map(() => TUPLE).join(','), chunk.flat()));
    chunk = [];
    bytes = 0;
  };
  for (const row of rows) {
    const size = row[4].length + (row[8]?.length ?? 0) + 200;
    if (bytes + size > MAX_STATEMENT_BYTES || chunk.length >= 1000) flush();
    chunk.push(row);
    bytes += size;
  }
  flush();
  return Promise.all(statements);
}
