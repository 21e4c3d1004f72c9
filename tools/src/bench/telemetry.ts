/**
 * The readings of the benchmark, shared by the MQTT publishers and the raw-insert baseline so that both
 * store exactly the same rows: deterministic values and timestamps per (device, seq).
 */

/** Every reading carries these three sensors: 3 rows per reading. */
export const SENSORS = ['temperature', 'humidity', 'pressure'] as const;

/** Readings are 1 s apart; seq 1 of every device is at `baseMs + 1000`. */
export const READING_INTERVAL_MS = 1000;

/** Plausible, deterministic values of a BME280 (exact in DOUBLE). */
export function readingValues(seq: number): Record<(typeof SENSORS)[number], number> {
  return {
    temperature: 20 + (seq % 1000) / 100,
    humidity: 40 + (seq % 500) / 10,
    pressure: 1000 + (seq % 400) / 10,
  };
}

export function readingTs(baseMs: number, seq: number): string {
  return new Date(baseMs + seq * READING_INTERVAL_MS).toISOString();
}

/** `devices/{id}/telemetry` payload (the TelemetryBatch of shared) with seqs from..from+count-1. */
export function telemetryPayload(baseMs: number, fromSeq: number, count: number): string {
  const readings = [];
  for (let seq = fromSeq; seq < fromSeq + count; seq++) {
    readings.push({ seq, ts: readingTs(baseMs, seq), values: readingValues(seq) });
  }
  return JSON.stringify({ v: 1, readings });
}

/**
 * What telemetryPayload returns, byte for byte, at a fraction of the CPU: the publishers build one payload
 * per message while sharing the cores with the system under test, and Date#toISOString plus formatting
 * three doubles cost ~1 µs per reading. The values repeat with the seq (mod 1000/500/400), so their text is
 * looked up; a timestamp is its minute's ISO prefix (cached: consecutive readings share it) plus seconds
 * and milliseconds.
 */
export function fastTelemetryPayload(baseMs: number, fromSeq: number, count: number): string {
  let out = '{"v":1,"readings":[';
  for (let seq = fromSeq; seq < fromSeq + count; seq++) {
    out +=
      (seq === fromSeq ? '{"seq":' : ',{"seq":') +
      seq +
      ',"ts":"' +
      fastReadingTs(baseMs + seq * READING_INTERVAL_MS) +
      '","values":{"temperature":' +
      valueText.temperature[seq % 1000] +
      ',"humidity":' +
      valueText.humidity[seq % 500] +
      ',"pressure":' +
      valueText.pressure[seq % 400] +
      '}}';
  }
  return out + ']}';
}

/** JSON text of readingValues' numbers by seq modulo each one's period (built from readingValues itself). */
const valueText = {
  temperature: Array.from({ length: 1000 }, (_, i) => JSON.stringify(readingValues(i).temperature)),
  humidity: Array.from({ length: 500 }, (_, i) => JSON.stringify(readingValues(i).humidity)),
  pressure: Array.from({ length: 400 }, (_, i) => JSON.stringify(readingValues(i).pressure)),
};
const twoDigits = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, '0'));
const threeDigits = Array.from({ length: 1000 }, (_, i) => String(i).padStart(3, '0'));
let isoMinute = NaN;
let isoMinutePrefix = '';

/** `new Date(ms).toISOString()` for any ms; only the minute's `YYYY-MM-DDTHH:MM:` comes from Date. */
function fastReadingTs(ms: number): string {
  const minute = Math.floor(ms / 60_000);
  if (minute !== isoMinute) {
    isoMinute = minute;
    // Cut from the end: years outside 0000–9999 have a longer, signed year field.
    isoMinutePrefix = new Date(minute * 60_000).toISOString().slice(0, -7);
  }
  const rest = ms - minute * 60_000;
  return isoMinutePrefix + twoDigits[Math.floor(rest / 1000)] + '.' + threeDigits[rest % 1000] + 'Z';
}

/** `2026-11-23T10:00:00.123Z` → `2026-11-23 10:00:00.123` (what the receiver writes to DATETIME(3)). */
export function toSqlDateTime(iso: string): string {
  return iso.slice(0, 23).replace('T', ' ');
}

export type ReadingRow = [deviceId: string, seq: number, sensor: string, value: number, measuredAt: string];

/**
 * The `readings` rows of a case in the order they arrive: message by message, the devices taking turns
 * (device 1's first message, device 2's first message, …, device 1's second message, …).
 */
export function caseRows(
  deviceIds: readonly string[],
  readingsPerDevice: number,
  readingsPerMessage: number,
  baseMs: number,
): ReadingRow[] {
  const rows: ReadingRow[] = [];
  for (let from = 1; from <= readingsPerDevice; from += readingsPerMessage) {
    const to = Math.min(readingsPerDevice, from + readingsPerMessage - 1);
    for (const id of deviceIds) {
      for (let seq = from; seq <= to; seq++) {
        const at = toSqlDateTime(readingTs(baseMs, seq));
        const values = readingValues(seq);
        for (const sensor of SENSORS) rows.push([id, seq, sensor, values[sensor], at]);
      }
    }
  }
  return rows;
}

/** Device ids of a case: `bench-00001`, … (valid topic levels, sorted like numbers). */
export function deviceIds(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `bench-${String(i + 1).padStart(5, '0')}`);
}
