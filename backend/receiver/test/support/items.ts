import type { IncomingReading, IngestItem } from '../../src/ingest/ingest-item.js';

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
