import type { IncomingReading, IngestItem } from '../../src/ingest/ingest-item.js';
import { derivedOf } from '../../src/intake/message-intake.js';

/** A minimal IngestItem for pure tests; override what the test is about. */
export function item(over: Partial<IngestItem> = {}): IngestItem {
  return {
    deviceId: 'dev-1',
    kind: 'telemetry',
    receivedAt: Date.UTC(2026, 10, 23, 10, 0, 30),
    retained: false,
    bytes: 100,
    logPayload: Buffer.from('{}'),
    readings: [],
    rejected: [],
    registry: [],
    acks: true,
    ...over,
  };
}

export function reading(seq: number, over: Partial<IncomingReading> = {}): IncomingReading {
  return {
    seq,
    measuredMs: Date.UTC(2026, 10, 23, 10, 0, 0) + seq * 1000,
    values: { temperature: 20 + seq / 100, humidity: 50 },
    derived: {},
    ...over,
  };
}

/**
 * A telemetry message of seqs `from`..`to`, one second apart from `baseMs` (+ `shiftMs`), with the derived
 * values the intake adds: what the writer tests store and audit.
 */
export function telemetryRange(
  deviceId: string,
  from: number,
  to: number,
  opts: { baseMs: number; shiftMs?: number; values?: (seq: number) => Record<string, number> },
): IngestItem {
  const valuesOf =
    opts.values ?? ((seq) => ({ temperature: 15 + (seq % 70) / 7, humidity: 30 + (seq % 60) }));
  const readings: IncomingReading[] = [];
  for (let seq = from; seq <= to; seq++) {
    const values = valuesOf(seq);
    readings.push({
      seq,
      measuredMs: opts.baseMs + seq * 1000 + (opts.shiftMs ?? 0),
      values,
      derived: derivedOf(values),
    });
  }
  return item({ deviceId, receivedAt: Date.now(), bytes: 10, logPayload: Buffer.alloc(0), readings });
}
