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
