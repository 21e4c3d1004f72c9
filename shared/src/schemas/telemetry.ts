import { Type, type Static } from '@sinclair/typebox';
import { Reading } from './reading.js';

/** Readings per telemetry message; the device batches up to this many (MQTT_BATCH_MAX). */
export const MAX_READINGS_PER_BATCH = 1000;

/**
 * The envelope only: readings are validated one by one by the receiver, so one bad reading is rejected
 * with its reason while the rest of the batch is stored.
 */
export const TelemetryEnvelope = Type.Object(
  {
    v: Type.Literal(1),
    readings: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_READINGS_PER_BATCH }),
  },
  { additionalProperties: true },
);
export type TelemetryEnvelope = Static<typeof TelemetryEnvelope>;

export const TelemetryBatch = Type.Object(
  {
    v: Type.Literal(1),
    readings: Type.Array(Reading, { minItems: 1, maxItems: MAX_READINGS_PER_BATCH }),
  },
  { additionalProperties: true, description: 'devices/{id}/telemetry: readings in seq order' },
);
export type TelemetryBatch = Static<typeof TelemetryBatch>;
