import { MAX_CHANNELS_PER_READING, SENSOR_NAME_PATTERN } from './reading.js';
import { MAX_PROBED_DROPS, MAX_READINGS_PER_BATCH } from './telemetry.js';

/**
 * Why the backend rejected something, one code per rule, in one place (like fastify's errors.js): the
 * receiver emits these, its metrics and the ingest_rejections table count them, acks name them, and the
 * receiver README's validation table is generated from here (`npm run docs`).
 *
 * Scopes: `message` — the whole message, nothing of it is used; `reading` — one reading (native) or one
 * sample (source 004), the rest of the message is still used; `field` — a part of a 004 message that is
 * not a reading (location, status, an unused timestamp; a native telemetry `probe`) was dropped, its
 * values are kept.
 */
export const REJECTION_SCOPES = ['message', 'reading', 'field'] as const;
export type RejectionScope = (typeof REJECTION_SCOPES)[number];

/** Per reason: in which scopes it occurs, and the rule it names there. */
export const REJECTION_REASONS = {
  oversized: { message: 'payload larger than `MESSAGE_MAX_BYTES` (not even parsed)' },
  malformed_json: { message: 'not JSON (bare `NaN`/`Infinity` tokens excepted, see `non_finite_value`)' },
  unknown_version: { message: '`v` missing or not `1` (telemetry, state)' },
  schema: {
    message:
      `not an object; \`readings\` not an array of 1…${MAX_READINGS_PER_BATCH} (0 only with a non-empty` +
      ' `probe`); bad state/online payload',
    reading:
      `\`values\` not an object of 1…${MAX_CHANNELS_PER_READING} sensors, or extra properties;` +
      ' 004: a sample that is not an object, has no value or a bad unit, or `sensors` not an array',
    field: 'a 004 `status` that is not an object (dropped)',
  },
  empty: { message: '004 data without any value' },
  bad_seq: { reading: 'seq not an integer ≥ 1 (cannot be named in an ack; counted and logged)' },
  duplicate_seq: {
    reading: 'the same seq twice in one message with different content (the first is kept)',
  },
  bad_timestamp: {
    reading:
      'not ISO-8601 UTC (004: with a UTC offset), not a real date, before 2000, or more than' +
      ' `READING_MAX_FUTURE` ahead',
    field: 'a 004 top-level `timestamp` that no sample uses and that does not parse (ignored)',
  },
  bad_sensor_name: { reading: `not \`${SENSOR_NAME_PATTERN}\`` },
  non_numeric_value: { reading: 'a string, boolean, null…' },
  non_finite_value: { reading: 'NaN, ±Infinity, 1e999' },
  out_of_range: { reading: 'outside the plausible range of a known sensor (below)' },
  duplicate: { reading: '004: the same sensor twice at the same time in one message (the first is kept)' },
  seq_conflict: { reading: 'the seq is already stored with a different reading (see below)' },
  bad_probe: {
    field:
      `a telemetry \`probe\` that is not an array of at most ${MAX_PROBED_DROPS} {seq, ts} (ignored, not` +
      ' answered; the readings are still stored)',
  },
  bad_location: { field: 'a 004 `location` without finite latitude −90…90 and longitude −180…180 (dropped)' },
} as const satisfies Record<string, Partial<Record<RejectionScope, string>>>;

export type RejectionReason = keyof typeof REJECTION_REASONS;

/** The reasons that occur in a scope, in catalogue order (e.g. the label values of a metric). */
export function reasonsIn(scope: RejectionScope): RejectionReason[] {
  return (Object.keys(REJECTION_REASONS) as RejectionReason[]).filter((r) =>
    Object.hasOwn(REJECTION_REASONS[r], scope),
  );
}

/**
 * Reason of a rejected reading whose seq is already stored with a different measurement: the device's seq
 * counter went back (Redis lost its last second with appendfsync everysec). The device re-appends such
 * readings under new seqs above `highestSeq`, so they are stored instead of being taken for replays.
 */
export const SEQ_CONFLICT_REASON = 'seq_conflict' satisfies RejectionReason;
