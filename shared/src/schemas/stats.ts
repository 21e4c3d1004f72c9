import { Type, type Static } from '@sinclair/typebox';
import { REJECTION_SCOPES } from './rejection-reasons.js';

/*
 * What the web admin shows about ingest (sources 001 and 004: processing statistics). Filled from the
 * receiver's tables by backend/mariadb (ingest-stats-query.ts, message-log-query.ts, rollup-query.ts).
 */

export const IngestTotals = Type.Object({
  messages: Type.Integer({ minimum: 0, description: 'messages received (all topics)' }),
  readings: Type.Integer({ minimum: 0, description: 'readings received (valid or not; 004: samples)' }),
  storedReadings: Type.Integer({ minimum: 0, description: 'readings newly stored' }),
  duplicateReadings: Type.Integer({ minimum: 0, description: 'readings that were already stored (replays)' }),
  rejectedReadings: Type.Integer({ minimum: 0, description: 'readings rejected, seq conflicts included' }),
  rejectedMessages: Type.Integer({ minimum: 0, description: 'messages rejected as a whole' }),
  storedRows: Type.Integer({ minimum: 0, description: 'rows stored in readings (sent and derived values)' }),
});
export type IngestTotals = Static<typeof IngestTotals>;

/** Totals of nothing yet: where counting starts. */
export function zeroIngestTotals(): IngestTotals {
  return {
    messages: 0,
    readings: 0,
    storedReadings: 0,
    duplicateReadings: 0,
    rejectedReadings: 0,
    rejectedMessages: 0,
    storedRows: 0,
  };
}

export const RejectionCount = Type.Object({
  scope: Type.Union(REJECTION_SCOPES.map((s) => Type.Literal(s))),
  reason: Type.String({
    description: 'a reason code of rejection-reasons.ts, e.g. out_of_range, seq_conflict',
  }),
  count: Type.Integer({ minimum: 0 }),
});
export type RejectionCount = Static<typeof RejectionCount>;

export const DeviceIngestRate = Type.Intersect([
  Type.Object({
    deviceId: Type.String(),
    messagesPerMinute: Type.Number({ minimum: 0 }),
    storedReadingsPerMinute: Type.Number({ minimum: 0 }),
    lastMinute: Type.String({ description: 'last UTC minute with traffic, ISO-8601' }),
  }),
  IngestTotals,
]);
export type DeviceIngestRate = Static<typeof DeviceIngestRate>;

export const IngestStats = Type.Object({
  from: Type.String({ description: 'start of the window (UTC minute, ISO-8601, inclusive)' }),
  to: Type.String({ description: 'end of the window (ISO-8601, exclusive)' }),
  windowMinutes: Type.Integer({ minimum: 1 }),
  totals: IngestTotals,
  rejectedByReason: Type.Array(RejectionCount),
  devices: Type.Array(DeviceIngestRate, { description: 'busiest devices first (stored readings)' }),
});
export type IngestStats = Static<typeof IngestStats>;

export const MESSAGE_LOG_OUTCOMES = ['stored', 'duplicate', 'partial', 'rejected', 'applied'] as const;

export const MessageLogEntry = Type.Object({
  id: Type.Integer(),
  receivedAt: Type.String({ description: 'ISO-8601 UTC' }),
  deviceId: Type.String(),
  topicKind: Type.String({ description: 'telemetry, state, online, data, status, heartbeat' }),
  bytes: Type.Integer({ minimum: 0, description: 'payload size as received' }),
  payload: Type.String({ description: 'the stored (possibly truncated) payload' }),
  payloadEncoding: Type.Union([Type.Literal('utf8'), Type.Literal('base64')]),
  payloadTruncated: Type.Boolean(),
  outcome: Type.Union(MESSAGE_LOG_OUTCOMES.map((o) => Type.Literal(o))),
  reason: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Union([Type.String(), Type.Null()]),
  readings: Type.Integer({ minimum: 0 }),
  stored: Type.Integer({ minimum: 0 }),
  duplicates: Type.Integer({ minimum: 0 }),
  rejected: Type.Integer({ minimum: 0 }),
});
export type MessageLogEntry = Static<typeof MessageLogEntry>;

export const RollupPoint = Type.Object({
  sensor: Type.String(),
  bucket: Type.String({ description: 'start of the UTC minute or hour, ISO-8601' }),
  count: Type.Integer({ minimum: 1 }),
  min: Type.Number(),
  max: Type.Number(),
  avg: Type.Number(),
});
export type RollupPoint = Static<typeof RollupPoint>;
