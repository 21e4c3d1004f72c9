/*
 * Normalises the compatibility formats of source system 004 (devices/{uuid}/data|status|heartbeat) into
 * samples the receiver can store in `readings`. Pure: no I/O, never throws.
 *
 * devices/{uuid}/data carries one of two formats (schemas: shared/src/schemas/compat004.ts):
 *   FULL   {"sensors":[{"sensor_name":"temperature","value":25.5,"unit":"°C","timestamp":"…+08:00"}, …],
 *           "status":{…}, "location":{"latitude":39.9,"longitude":116.4}, "timestamp":"…"}
 *   SIMPLE {"temperature":25.5,"humidity":60,"light":850}
 * A payload with a `sensors` key is FULL (and must then hold an array); any other JSON object is SIMPLE;
 * anything else (array, string, number, null) is rejected as a whole ('schema', format 'unknown').
 *
 * Validation follows 004 ("partial data errors don't affect the whole"): each sample is checked on its own,
 * an invalid one is rejected with its reason and the valid ones are kept.
 *   - sensor name: lowercase letters, digits, underscore, 1–50 chars, not starting with a digit
 *   - value: a JSON number (int or float); strings such as "25.5", booleans and null are rejected;
 *     numbers that overflow to ±Infinity (e.g. 1e999) are rejected as non-finite
 *   - unit (FULL only): optional string of at most 32 chars; "" or null mean "no unit"
 *   - time: the sample's `timestamp`, else the message's top-level `timestamp`, else `receivedAt`.
 *     Timestamps are ISO-8601 with a UTC offset (2025-12-19T14:30:00+08:00 is 06:30:00Z); a timestamp that
 *     does not parse, has no offset, names an impossible date or lies before 1970 rejects the samples
 *     that would use it. Sub-millisecond digits are truncated.
 *   - location (FULL only): latitude −90..90, longitude −180..180, finite numbers; a bad location is
 *     dropped (rejection 'bad_location') while the samples are kept.
 *   - status (FULL only): must be a JSON object; otherwise it is dropped (rejection 'schema').
 *   - a message with no sensor values at all (`"sensors":[]` or `{}`) gets one 'empty' rejection; its
 *     status and location are still returned.
 *
 * DUPLICATES. 004's formats carry no sequence number, but `readings` is unique on (device_id, seq, sensor)
 * and QoS 1 redelivers messages. Each sample therefore gets a synthetic key: seq = measured_at in
 * milliseconds since the epoch. It is unique per device and sensor per millisecond, so an exact replay of a
 * timestamped message (QoS 1 redelivery, device retry) is stored once, like a replayed telemetry reading.
 * Trade-offs:
 *   - Two different messages with the same timestamp for the same sensor collapse into one row (the first
 *     stored wins with INSERT IGNORE); the same holds for one sensor named twice at the same time within one
 *     message, which is rejected here as 'duplicate' so the batch insert does not depend on that.
 *   - Messages without any timestamp (the SIMPLE format always; FULL without timestamps) are keyed by
 *     `receivedAt`, so a replay that arrives later (a redelivery after a receiver crash) is stored twice.
 *     Devices that need exactly-once should send timestamps (or use the native telemetry topic with seqs).
 *   - These seqs are epoch milliseconds (~1.7e12): the `seq` column must be BIGINT, and they are not
 *     contiguous, so seq-gap (data loss) detection does not apply to devices that speak 004's formats.
 *   - Derived values (heat_index, dew_point) share the seq of their inputs, so they are only computed for a
 *     temperature and a humidity measured at the same millisecond.
 */

import {
  COMPAT004_MAX_DEVICE_STATUS_LENGTH,
  COMPAT004_MAX_UNIT_LENGTH,
  COMPAT004_TIMESTAMP_PATTERN,
} from '@sensorfleet/shared/schemas/compat004';
import { SENSOR_NAME_REGEX } from '@sensorfleet/shared/schemas/reading';

export interface NormalisedSample {
  sensor: string;
  value: number;
  unit?: string;
  measuredAt: Date;
  /** Synthetic key for `readings`: measuredAt in ms since the epoch (see DUPLICATES above). */
  seq: number;
}

export type RejectReason =
  | 'malformed_json'
  | 'schema'
  | 'bad_sensor_name'
  | 'non_numeric_value'
  | 'non_finite_value'
  | 'bad_timestamp'
  | 'bad_location'
  | 'empty'
  | 'duplicate';

export interface Rejection {
  reason: RejectReason;
  detail: string;
  sensor?: string;
}

export interface NormalisedResult {
  deviceId: string;
  /** 'unknown' when the payload is neither format (then `rejected` holds one 'schema' rejection). */
  format: 'full' | 'simple' | 'unknown';
  samples: NormalisedSample[];
  rejected: Rejection[];
  status?: Record<string, unknown>;
  location?: { latitude: number; longitude: number };
}

export type ParsedJson = { ok: true; value: unknown } | { ok: false; error: string };

const TIMESTAMP_REGEX = new RegExp(COMPAT004_TIMESTAMP_PATTERN);
const MAX_DETAIL_VALUE_CHARS = 60;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses an MQTT payload as JSON (UTF-8; a leading byte-order mark and surrounding whitespace are
 * tolerated). Never throws.
 */
export function parseJson(buf: Buffer | string): ParsedJson {
  let text: string;
  try {
    text = typeof buf === 'string' ? buf : utf8.decode(buf);
  } catch {
    return { ok: false, error: 'payload is not valid UTF-8' };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') return { ok: false, error: 'empty payload' };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (err) {
    return { ok: false, error: `malformed JSON: ${err instanceof Error ? err.message : String(err)}` };
  }
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Short, log-safe rendering of an offending value for rejection details. */
function show(v: unknown): string {
  let s: string;
  if (typeof v === 'number') s = String(v);
  else if (v === undefined) s = 'undefined';
  else {
    try {
      s = JSON.stringify(v) ?? typeof v;
    } catch {
      s = typeof v;
    }
  }
  return s.length > MAX_DETAIL_VALUE_CHARS ? `${s.slice(0, MAX_DETAIL_VALUE_CHARS)}…` : s;
}

const daysInMonth = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();

/**
 * Parses a 004 timestamp (ISO-8601 with UTC offset) to a Date; `undefined` if it is not one, names an
 * impossible date or time, or lies before 1970-01-01T00:00:00Z (its seq would be negative).
 */
export function parseOffsetTimestamp(s: string): Date | undefined {
  const m = TIMESTAMP_REGEX.exec(s);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  const ms = m[7] === undefined ? 0 : Number(m[7].slice(0, 3).padEnd(3, '0'));
  const offset = m[8] ?? '';
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  let offsetMinutes = 0;
  if (offset !== 'Z' && offset !== 'z') {
    const digits = offset.slice(1).replace(':', '');
    const oh = Number(digits.slice(0, 2));
    const om = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
    if (oh > 23 || om > 59) return undefined;
    offsetMinutes = (offset.startsWith('-') ? -1 : 1) * (oh * 60 + om);
  }
  const date = new Date(Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000);
  // Date.UTC maps years 0..99 to 1900..1999; those are before 1970 anyway and rejected here.
  if (year < 1970 || date.getTime() < 0) return undefined;
  return date;
}

type TimeResolution = { ok: true; at: Date } | { ok: false; detail: string };

function resolveTimestamp(raw: unknown, where: string): TimeResolution | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') {
    return { ok: false, detail: `${where} must be an ISO-8601 string with offset, got ${show(raw)}` };
  }
  const at = parseOffsetTimestamp(raw);
  if (!at) {
    return {
      ok: false,
      detail: `${where} ${show(raw)} is not an ISO-8601 time with UTC offset (e.g. 2025-12-19T14:30:00+08:00)`,
    };
  }
  return { ok: true, at };
}

/** Checks name and value of one sample; a Rejection or the accepted pair. */
function checkNameAndValue(
  name: string,
  value: unknown,
  where: string,
): Rejection | { sensor: string; value: number } {
  if (!SENSOR_NAME_REGEX.test(name)) {
    return {
      reason: 'bad_sensor_name',
      detail: `${where}: sensor name ${show(name)} must be 1–50 lowercase letters, digits or _, not starting with a digit`,
      sensor: name,
    };
  }
  if (typeof value !== 'number') {
    return {
      reason: 'non_numeric_value',
      detail: `${where}: value ${show(value)} of sensor ${name} is not a number`,
      sensor: name,
    };
  }
  if (!Number.isFinite(value)) {
    return {
      reason: 'non_finite_value',
      detail: `${where}: value ${show(value)} of sensor ${name} is not finite`,
      sensor: name,
    };
  }
  return { sensor: name, value };
}

const isRejection = (r: Rejection | { sensor: string; value: number }): r is Rejection => 'reason' in r;

class Collector {
  readonly samples: NormalisedSample[] = [];
  readonly rejected: Rejection[] = [];
  private readonly seen = new Set<string>();

  add(sample: Omit<NormalisedSample, 'seq'>, where: string): void {
    const seq = sample.measuredAt.getTime();
    const key = `${sample.sensor}@${seq}`;
    if (this.seen.has(key)) {
      this.rejected.push({
        reason: 'duplicate',
        detail: `${where}: sensor ${sample.sensor} already has a value at ${sample.measuredAt.toISOString()} in this message; the first is kept`,
        sensor: sample.sensor,
      });
      return;
    }
    this.seen.add(key);
    this.samples.push({ ...sample, seq });
  }
}

function normaliseLocation(raw: unknown): { latitude: number; longitude: number } | Rejection {
  const bad = (why: string): Rejection => ({
    reason: 'bad_location',
    detail: `location ${show(raw)}: ${why}`,
  });
  if (!isPlainObject(raw)) return bad('must be an object {latitude, longitude}');
  const { latitude, longitude } = raw;
  if (typeof latitude !== 'number' || !Number.isFinite(latitude))
    return bad('latitude must be a finite number');
  if (typeof longitude !== 'number' || !Number.isFinite(longitude)) {
    return bad('longitude must be a finite number');
  }
  if (latitude < -90 || latitude > 90) return bad('latitude must be within -90..90');
  if (longitude < -180 || longitude > 180) return bad('longitude must be within -180..180');
  return { latitude, longitude };
}

function normaliseFull(
  deviceId: string,
  payload: Record<string, unknown>,
  receivedAt: Date,
): NormalisedResult {
  const result: NormalisedResult = { deviceId, format: 'full', samples: [], rejected: [] };
  const sensors = payload['sensors'];
  if (!Array.isArray(sensors)) {
    result.rejected.push({ reason: 'schema', detail: `"sensors" must be an array, got ${show(sensors)}` });
    return result;
  }

  const status = payload['status'];
  if (isPlainObject(status)) result.status = status;
  else if (status !== undefined && status !== null) {
    result.rejected.push({
      reason: 'schema',
      detail: `"status" must be an object, got ${show(status)}; dropped`,
    });
  }

  const rawLocation = payload['location'];
  if (rawLocation !== undefined && rawLocation !== null) {
    const loc = normaliseLocation(rawLocation);
    if ('reason' in loc) result.rejected.push({ ...loc, detail: `${loc.detail}; dropped` });
    else result.location = loc;
  }

  const topTime = resolveTimestamp(payload['timestamp'], 'top-level timestamp');
  let topTimeUsed = false;
  const collector = new Collector();

  sensors.forEach((entry, i) => {
    const where = `sensors[${i}]`;
    if (!isPlainObject(entry)) {
      collector.rejected.push({ reason: 'schema', detail: `${where} must be an object, got ${show(entry)}` });
      return;
    }
    const name = entry['sensor_name'];
    if (typeof name !== 'string') {
      collector.rejected.push({
        reason: typeof name === 'undefined' ? 'schema' : 'bad_sensor_name',
        detail: `${where}: sensor_name must be a string, got ${show(name)}`,
      });
      return;
    }
    if (!Object.hasOwn(entry, 'value')) {
      collector.rejected.push({
        reason: 'schema',
        detail: `${where}: sensor ${name} has no value`,
        sensor: name,
      });
      return;
    }
    const checked = checkNameAndValue(name, entry['value'], where);
    if (isRejection(checked)) {
      collector.rejected.push(checked);
      return;
    }

    const rawUnit = entry['unit'];
    let unit: string | undefined;
    if (typeof rawUnit === 'string') {
      if (rawUnit.length > COMPAT004_MAX_UNIT_LENGTH) {
        collector.rejected.push({
          reason: 'schema',
          detail: `${where}: unit of sensor ${name} is longer than ${COMPAT004_MAX_UNIT_LENGTH} chars`,
          sensor: name,
        });
        return;
      }
      if (rawUnit !== '') unit = rawUnit;
    } else if (rawUnit !== undefined && rawUnit !== null) {
      collector.rejected.push({
        reason: 'schema',
        detail: `${where}: unit of sensor ${name} must be a string, got ${show(rawUnit)}`,
        sensor: name,
      });
      return;
    }

    let time = resolveTimestamp(entry['timestamp'], `${where}: timestamp`);
    if (time === undefined && topTime !== undefined) {
      time = topTime;
      topTimeUsed = true;
    }
    if (time !== undefined && !time.ok) {
      collector.rejected.push({ reason: 'bad_timestamp', detail: `${where}: ${time.detail}`, sensor: name });
      return;
    }
    const sample: Omit<NormalisedSample, 'seq'> = {
      sensor: checked.sensor,
      value: checked.value,
      measuredAt: time?.at ?? receivedAt,
    };
    if (unit !== undefined) sample.unit = unit;
    collector.add(sample, where);
  });

  // A bad top-level timestamp that no sample fell back on is still worth reporting.
  if (topTime !== undefined && !topTime.ok && !topTimeUsed) {
    result.rejected.push({ reason: 'bad_timestamp', detail: `${topTime.detail}; ignored` });
  }
  if (sensors.length === 0) result.rejected.push({ reason: 'empty', detail: '"sensors" is empty' });
  result.samples = collector.samples;
  result.rejected.push(...collector.rejected);
  return result;
}

function normaliseSimple(
  deviceId: string,
  payload: Record<string, unknown>,
  receivedAt: Date,
): NormalisedResult {
  const collector = new Collector();
  const keys = Object.keys(payload);
  for (const key of keys) {
    const where = `key ${show(key)}`;
    const checked = checkNameAndValue(key, payload[key], where);
    if (isRejection(checked)) collector.rejected.push(checked);
    else collector.add({ sensor: checked.sensor, value: checked.value, measuredAt: receivedAt }, where);
  }
  const rejected = collector.rejected;
  if (keys.length === 0) rejected.push({ reason: 'empty', detail: 'the message has no sensor values' });
  return { deviceId, format: 'simple', samples: collector.samples, rejected };
}

/**
 * Normalises an already JSON-parsed devices/{deviceId}/data payload (use {@link parseJson} first; a
 * parse failure is the caller's 'malformed_json'). `receivedAt` stands in for missing timestamps.
 */
export function normalise004Data(deviceId: string, payload: unknown, receivedAt: Date): NormalisedResult {
  if (!isPlainObject(payload)) {
    return {
      deviceId,
      format: 'unknown',
      samples: [],
      rejected: [
        {
          reason: 'schema',
          detail: `payload must be a JSON object (FULL {"sensors":[…]} or SIMPLE {"name":number}), got ${show(payload)}`,
        },
      ],
    };
  }
  return Object.hasOwn(payload, 'sensors')
    ? normaliseFull(deviceId, payload, receivedAt)
    : normaliseSimple(deviceId, payload, receivedAt);
}

/**
 * The whole devices/{deviceId}/data path from raw bytes: {@link parseJson}, then {@link normalise004Data};
 * a parse failure yields format 'unknown' with one 'malformed_json' rejection.
 */
export function normalise004DataPayload(
  deviceId: string,
  raw: Buffer | string,
  receivedAt: Date,
): NormalisedResult {
  const parsed = parseJson(raw);
  if (!parsed.ok) {
    return {
      deviceId,
      format: 'unknown',
      samples: [],
      rejected: [{ reason: 'malformed_json', detail: parsed.error }],
    };
  }
  return normalise004Data(deviceId, parsed.value, receivedAt);
}

export type Status004Result =
  | {
      ok: true;
      /** The fields to merge into the device's last reported status. */
      status: Record<string, unknown>;
      /** The new device status (`status` field, e.g. "online"), when the message names one. */
      deviceStatus?: string;
    }
  | { ok: false; rejection: Rejection };

/** A payload that must be a JSON object: the object, or the rejection saying why not. */
function parseObject(
  raw: Buffer | string,
  what: string,
): { ok: true; value: Record<string, unknown> } | { ok: false; rejection: Rejection } {
  const parsed = parseJson(raw);
  if (!parsed.ok) return { ok: false, rejection: { reason: 'malformed_json', detail: parsed.error } };
  if (!isPlainObject(parsed.value)) {
    const detail = `${what} payload must be a JSON object, got ${show(parsed.value)}`;
    return { ok: false, rejection: { reason: 'schema', detail } };
  }
  return { ok: true, value: parsed.value };
}

/**
 * devices/{deviceId}/status: 004 merges the object into the last reported status and sets the device
 * status from its `status` field. The payload must be a JSON object; a `status` field that is not a
 * string of 1–50 chars does not change the device status (it is still merged).
 */
export function normalise004Status(raw: Buffer | string): Status004Result {
  const parsed = parseObject(raw, 'status');
  if (!parsed.ok) return parsed;
  const status = parsed.value;
  const s = status['status'];
  return typeof s === 'string' && s.length > 0 && s.length <= COMPAT004_MAX_DEVICE_STATUS_LENGTH
    ? { ok: true, status, deviceStatus: s }
    : { ok: true, status };
}

export type Heartbeat004Result =
  { ok: true; payload: Record<string, unknown>; deviceTime?: Date } | { ok: false; rejection: Rejection };

/**
 * devices/{deviceId}/heartbeat: any JSON object, or an empty payload (counts as `{}`). Only its arrival
 * matters (last seen, last heartbeat, online); a valid `timestamp` is returned as `deviceTime`
 * (informational, e.g. for clock-skew display), an invalid one is ignored.
 */
export function normalise004Heartbeat(raw: Buffer | string): Heartbeat004Result {
  const text = typeof raw === 'string' ? raw : raw.toString('utf8');
  if (text.replace(/^\uFEFF/, '').trim() === '') return { ok: true, payload: {} };
  const parsed = parseObject(raw, 'heartbeat');
  if (!parsed.ok) return parsed;
  const payload = parsed.value;
  const time = resolveTimestamp(payload['timestamp'], 'timestamp');
  return time?.ok ? { ok: true, payload, deviceTime: time.at } : { ok: true, payload };
}
