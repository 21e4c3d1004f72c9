import {
  createDecoder,
  ISO_UTC_PATTERN,
  MAX_CHANNELS_PER_READING,
  MAX_PROBED_DROPS,
  MAX_READINGS_PER_BATCH,
  Reading,
  type RejectionReason,
} from '@sensorfleet/shared';
import type { IncomingReading, ProbedDropIn, Rejection } from '../ingest/ingest-item.js';
import { parseJsonLenient } from './lenient-json.js';
import { implausibility } from './plausibility.js';
import { sensorValueBreach, shown, timeWindowBreach } from './reading-rules.js';

export type ValidatedTelemetry =
  | { ok: true; readings: IncomingReading[]; rejected: Rejection[]; probe?: ProbedDropIn[] }
  | { ok: false; rejection: Rejection };

export interface TelemetryValidatorOptions {
  maxBytes: number;
  /** Readings measured further than this in the future are rejected (a device clock gone wrong). */
  maxFutureMs: number;
}

const TS_REGEX = new RegExp(ISO_UTC_PATTERN);
const readingCheck = createDecoder(Reading);
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Checks a devices/{id}/telemetry message at the edge, with a reason per rule (the `reason` label):
 *  - the message as a whole: oversized (MESSAGE_MAX_BYTES), malformed_json, unknown_version (`v` ≠ 1),
 *    schema (not an object, `readings` not an array of 1…1000, or of 0 with a non-empty `probe`);
 *  - each reading on its own: bad_seq, duplicate_seq (same seq twice with different content), bad_timestamp
 *    (not ISO-8601 UTC, or outside the time window of reading-rules.ts), schema (shape), then the sensor
 *    name and value rules of reading-rules.ts and the plausible ranges of plausibility.ts.
 * A rejected reading is named in the ack's `rejected` (so the device drops it) while the others are stored:
 * readings are independent rows, so storing the valid ones is always safe. A reading without a usable seq
 * cannot be named in an ack; it is counted and logged, and the others are still stored.
 * An optional `probe` (docs/design.md#outbox-drop-count) is checked as a whole: a bad one is a `field`
 * rejection (`bad_probe`), not answered, and the readings are still stored.
 */
export function createTelemetryValidator(opts: TelemetryValidatorOptions) {
  return (payload: Buffer, now: number): ValidatedTelemetry => {
    if (payload.length > opts.maxBytes) {
      return reject('oversized', `payload of ${payload.length} bytes exceeds the limit of ${opts.maxBytes}`);
    }
    const parsed = parseJsonLenient(payload.toString('utf8'));
    if (!parsed.ok) return reject('malformed_json', parsed.error);
    const msg = parsed.value;
    if (!isObject(msg)) return reject('schema', `payload must be a JSON object, got ${shown(msg)}`);
    if (msg.v !== 1)
      return reject(
        'unknown_version',
        `unknown message version v=${shown(msg.v)} (this receiver speaks v=1)`,
      );
    const raw = msg.readings;
    // No readings is a probe of its own (the device has nothing else to send); without one it says nothing.
    const probeOnly = Array.isArray(msg.probe) && msg.probe.length > 0;
    if (!Array.isArray(raw) || raw.length < (probeOnly ? 0 : 1) || raw.length > MAX_READINGS_PER_BATCH) {
      return reject(
        'schema',
        `/readings must be an array of 1…${MAX_READINGS_PER_BATCH} readings (0 only with a probe)`,
      );
    }
    const readings: IncomingReading[] = [];
    const rejected: Rejection[] = [];
    // Most messages carry one reading: no map for those.
    const bySeq = raw.length > 1 ? new Map<number, IncomingReading>() : undefined;
    raw.forEach((r, i) => {
      const checked = checkReading(r, i, now, opts.maxFutureMs);
      if ('reason' in checked) {
        rejected.push(checked);
        return;
      }
      const first = bySeq?.get(checked.seq);
      if (!first) {
        bySeq?.set(checked.seq, checked);
        readings.push(checked);
      } else if (!sameContent(first, checked)) {
        rejected.push({
          scope: 'reading',
          reason: 'duplicate_seq',
          seq: checked.seq,
          detail: `/readings/${i}: seq ${checked.seq} appears twice with different content; the first is kept`,
        });
      }
    });
    if (msg.probe === undefined) return { ok: true, readings, rejected };
    const probe = checkProbe(msg.probe);
    if (typeof probe === 'string') {
      rejected.push({ scope: 'field', reason: 'bad_probe', detail: `/probe${probe}` });
      return { ok: true, readings, rejected };
    }
    return { ok: true, readings, rejected, probe };
  };
}

/** The probe's stubs, or where and why it is not one (no stub is answered then). */
export function checkProbe(raw: unknown): ProbedDropIn[] | string {
  if (!Array.isArray(raw) || raw.length > MAX_PROBED_DROPS) {
    return ` must be an array of at most ${MAX_PROBED_DROPS} {seq, ts}, got ${shown(raw)}`;
  }
  const out: ProbedDropIn[] = [];
  for (let i = 0; i < raw.length; i++) {
    const p: unknown = raw[i];
    if (!isObject(p) || ownKeyCount(p) !== 2) return `/${i} must be {seq, ts}, got ${shown(p)}`;
    const { seq, ts } = p;
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
      return `/${i}/seq must be an integer ≥ 1, got ${shown(seq)}`;
    }
    const ms = typeof ts === 'string' && TS_REGEX.test(ts) ? Date.parse(ts) : Number.NaN;
    if (!Number.isFinite(ms)) return `/${i}/ts must be ISO-8601 UTC, got ${shown(ts)}`;
    out.push({ seq, measuredMs: ms });
  }
  return out;
}

function reject(reason: RejectionReason, detail: string): ValidatedTelemetry {
  return { ok: false, rejection: { scope: 'message', reason, detail } };
}

function sameContent(a: IncomingReading, b: IncomingReading): boolean {
  const keys = Object.keys(a.values);
  return (
    a.measuredMs === b.measuredMs &&
    keys.length === Object.keys(b.values).length &&
    keys.every((k) => a.values[k] === b.values[k])
  );
}

function ownKeyCount(o: object): number {
  let n = 0;
  for (const k in o) if (Object.hasOwn(o, k)) n++;
  return n;
}

const twoDigits = (s: string, at: number): number => (s.charCodeAt(at) - 48) * 10 + s.charCodeAt(at + 1) - 48;

/**
 * Date.parse refuses month 13, minute 60 and the like, but rolls 2026-02-30 over to March 2 and 24:00 over
 * to the next day; only days after the 28th and hour 24 can do that (formatting every timestamp back to
 * catch them was a measurable cost per reading).
 */
function mayRollOver(ts: string): boolean {
  return twoDigits(ts, 8) > 28 || twoDigits(ts, 11) > 23;
}

/** A real date and time reads back the same. */
function readsBack(ts: string, ms: number): boolean {
  return new Date(ms).toISOString().slice(0, 19) === ts.slice(0, 19);
}

function checkReading(r: unknown, i: number, now: number, maxFutureMs: number): IncomingReading | Rejection {
  const at = `/readings/${i}`;
  if (!isObject(r))
    return { scope: 'reading', reason: 'schema', detail: `${at} must be an object, got ${shown(r)}` };
  const seq = r.seq;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
    return {
      scope: 'reading',
      reason: 'bad_seq',
      detail: `${at}/seq must be an integer ≥ 1, got ${shown(seq)}`,
    };
  }
  const bad = (reason: RejectionReason, detail: string): Rejection => ({
    scope: 'reading',
    reason,
    seq,
    detail: `${at}${detail}`,
  });
  const ts = r.ts;
  if (typeof ts !== 'string' || !TS_REGEX.test(ts)) {
    return bad('bad_timestamp', `/ts must be ISO-8601 UTC like 2026-11-23T10:00:00.000Z, got ${shown(ts)}`);
  }
  const ms = Date.parse(ts);
  if (!Number.isFinite(ms) || (mayRollOver(ts) && !readsBack(ts, ms))) {
    return bad('bad_timestamp', `/ts ${ts} is not a real date and time`);
  }
  const when = timeWindowBreach(ms, now, maxFutureMs);
  if (when) return bad('bad_timestamp', `/ts ${ts} is ${when}`);
  const values = r.values;
  if (!isObject(values)) return bad('schema', `/values must be an object, got ${shown(values)}`);
  const names = Object.keys(values);
  if (names.length < 1 || names.length > MAX_CHANNELS_PER_READING) {
    return bad('schema', `/values must have 1…${MAX_CHANNELS_PER_READING} sensors, got ${names.length}`);
  }
  for (const name of names) {
    const v = values[name];
    const breach = sensorValueBreach(name, v);
    if (breach) return bad(breach.reason, `/values: ${breach.detail}`);
    const why = implausibility(name, v as number);
    if (why) return bad('out_of_range', `/values/${name}: ${why}`);
  }
  // The rules above cover every constraint of the shared schema but one: no properties besides seq, ts
  // and values. The schema decides (and words the error) only when there are others; running its
  // compiled check on every reading was 6 % of the bytes the receiver allocated.
  if (ownKeyCount(r) !== 3) {
    const full = readingCheck.check(r);
    if (!full.ok) return bad('schema', ` ${full.error}`);
  }
  // `derived` is filled by the intake.
  return { seq, measuredMs: ms, values: values as Record<string, number>, derived: {} };
}
