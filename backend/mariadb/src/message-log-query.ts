/**
 * The receiver's message log (MESSAGE_LOG), for the web admin: raw inbound messages by device and time,
 * newest first. With a device id the query walks the (device_id, received_at) index; without one, the
 * primary key (ids grow with arrival).
 */
import type { MessageLogEntry } from '@sensorfleet/shared/schemas/stats';
import type { Queryable } from './ingest-stats-query.js';

export interface MessageLogQuery {
  deviceId?: string;
  /** ISO-8601 or epoch ms; inclusive. */
  from?: string | number;
  /** ISO-8601 or epoch ms; exclusive. */
  to?: string | number;
  outcome?: MessageLogEntry['outcome'];
  /** Page on: entries with a smaller id than this. */
  beforeId?: number;
  /** Default 100, at most 1000. */
  limit?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
const sqlTime = (t: string | number): string => new Date(t).toISOString().slice(0, 23).replace('T', ' ');

interface Row {
  id: number;
  received_at: Date;
  device_id: string;
  topic_kind: string;
  bytes: number;
  payload: Buffer;
  payload_truncated: number;
  outcome: MessageLogEntry['outcome'];
  reason: string | null;
  detail: string | null;
  readings: number;
  stored: number;
  duplicates: number;
  rejected: number;
}

export async function findMessageLog(db: Queryable, q: MessageLogQuery = {}): Promise<MessageLogEntry[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (q.deviceId !== undefined) {
    where.push('device_id = ?');
    params.push(q.deviceId);
  }
  if (q.from !== undefined) {
    where.push('received_at >= ?');
    params.push(sqlTime(q.from));
  }
  if (q.to !== undefined) {
    where.push('received_at < ?');
    params.push(sqlTime(q.to));
  }
  if (q.outcome !== undefined) {
    where.push('outcome = ?');
    params.push(q.outcome);
  }
  if (q.beforeId !== undefined) {
    where.push('id < ?');
    params.push(q.beforeId);
  }
  const order = q.deviceId !== undefined ? 'received_at DESC, id DESC' : 'id DESC';
  params.push(Math.min(1000, Math.max(1, Math.floor(q.limit ?? 100))));
  const rows = (await db.query(
    'SELECT id, received_at, device_id, topic_kind, bytes, payload, payload_truncated, outcome, reason, detail,' +
      ' readings, stored, duplicates, rejected FROM message_log' +
      (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
      ` ORDER BY ${order} LIMIT ?`,
    params,
  )) as Row[];
  return rows.map((r) => {
    let payload: string;
    let payloadEncoding: 'utf8' | 'base64' = 'utf8';
    try {
      payload = utf8.decode(r.payload);
    } catch {
      // A cut can split a multi-byte character; anything else that is not UTF-8 is shown as base64.
      payload = r.payload.toString('base64');
      payloadEncoding = 'base64';
    }
    return {
      id: Number(r.id),
      receivedAt: r.received_at.toISOString(),
      deviceId: r.device_id,
      topicKind: r.topic_kind,
      bytes: Number(r.bytes),
      payload,
      payloadEncoding,
      payloadTruncated: Number(r.payload_truncated) === 1,
      outcome: r.outcome,
      reason: r.reason,
      detail: r.detail,
      readings: Number(r.readings),
      stored: Number(r.stored),
      duplicates: Number(r.duplicates),
      rejected: Number(r.rejected),
    };
  });
}
