/**
 * The rules every reading meets, whichever topic it came on (native telemetry: telemetry-validator.ts;
 * source 004: compat004/): its sensor names, its values and its time. Each rule answers with the reason of
 * the shared catalogue and a detail; the caller says where in the message it was. Plausible ranges of the
 * known sensors are in plausibility.ts.
 */
import { SENSOR_NAME_PATTERN, SENSOR_NAME_REGEX, type RejectionReason } from '@sensorfleet/shared';

export interface RuleBreach {
  reason: RejectionReason;
  detail: string;
}

/** Readings before this are a device clock that was never set (a Pi without RTC boots in 1970). */
const EARLIEST_READING_MS = Date.UTC(2000, 0, 1);

const MAX_SHOWN_CHARS = 60;

/** Short, log-safe rendering of an offending value for a rejection detail. */
export function shown(v: unknown): string {
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
  return s.length > MAX_SHOWN_CHARS ? `${s.slice(0, MAX_SHOWN_CHARS)}…` : s;
}

/**
 * A sensor name and its value: the name matches SENSOR_NAME_PATTERN, the value is a JSON number and finite
 * (NaN and ±Infinity come from the lenient parser, 1e999 from JSON itself). undefined when both are fine.
 */
export function sensorValueBreach(name: string, value: unknown): RuleBreach | undefined {
  if (!SENSOR_NAME_REGEX.test(name)) {
    return {
      reason: 'bad_sensor_name',
      detail: `sensor name ${shown(name)} must match ${SENSOR_NAME_PATTERN}`,
    };
  }
  if (typeof value !== 'number') {
    return { reason: 'non_numeric_value', detail: `value of ${name} must be a number, got ${shown(value)}` };
  }
  if (!Number.isFinite(value)) {
    return { reason: 'non_finite_value', detail: `value of ${name} is ${value}, not a finite number` };
  }
  return undefined;
}

/** Why a measurement time is not believable (a device clock not set or wrong), or undefined. */
export function timeWindowBreach(ms: number, now: number, maxFutureMs: number): string | undefined {
  if (ms < EARLIEST_READING_MS) return 'before 2000: device clock not set?';
  if (ms > now + maxFutureMs) return 'in the future: device clock wrong?';
  return undefined;
}
