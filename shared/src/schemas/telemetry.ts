import { Type, type Static } from '@sinclair/typebox';
import { Reading } from './reading.js';

/** Readings per telemetry message; the device batches up to this many (MQTT_BATCH_MAX). */
export const MAX_READINGS_PER_BATCH = 1000;

/** Stubs per probe (the device sends at most this many at once; the receiver refuses more). */
export const MAX_PROBED_DROPS = 1000;

/**
 * A reading the device's outbox bound dropped after it had been sent (docs/design.md#outbox-drop-count):
 * seq and measurement time only, no values. The backend says in the ack whether it stores it.
 */
export const ProbedDrop = Type.Object(
  {
    seq: Type.Integer({ minimum: 1 }),
    ts: Type.String({ description: "the reading's `ts` as the device sent it (ISO-8601 UTC)" }),
  },
  { additionalProperties: false },
);
export type ProbedDrop = Static<typeof ProbedDrop>;

/**
 * Optional `probe` of a telemetry message: "do you store these?". A receiver that does not know the field
 * ignores it (the envelope allows extra properties); nothing is stored from it.
 */
export const TelemetryProbe = Type.Array(ProbedDrop, { maxItems: MAX_PROBED_DROPS });

/**
 * The envelope only: readings are validated one by one by the receiver, so one bad reading is rejected
 * with its reason while the rest of the batch is stored. `readings` may be empty only in a probe of its
 * own (the device had nothing else to send).
 */
export const TelemetryEnvelope = Type.Union([
  Type.Object(
    {
      v: Type.Literal(1),
      readings: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_READINGS_PER_BATCH }),
    },
    { additionalProperties: true },
  ),
  Type.Object(
    {
      v: Type.Literal(1),
      readings: Type.Array(Type.Unknown(), { maxItems: 0 }),
      probe: Type.Array(Type.Unknown(), { minItems: 1, maxItems: MAX_PROBED_DROPS }),
    },
    { additionalProperties: true },
  ),
]);
export type TelemetryEnvelope = Static<typeof TelemetryEnvelope>;

export const TelemetryBatch = Type.Union(
  [
    Type.Object(
      {
        v: Type.Literal(1),
        readings: Type.Array(Reading, { minItems: 1, maxItems: MAX_READINGS_PER_BATCH }),
        probe: Type.Optional(TelemetryProbe),
      },
      { additionalProperties: true },
    ),
    Type.Object(
      {
        v: Type.Literal(1),
        readings: Type.Array(Reading, { maxItems: 0 }),
        probe: Type.Array(ProbedDrop, { minItems: 1, maxItems: MAX_PROBED_DROPS }),
      },
      { additionalProperties: true },
    ),
  ],
  {
    description:
      'devices/{id}/telemetry: readings in seq order, or none and a probe (the device had nothing else to send)',
  },
);
export type TelemetryBatch = Static<typeof TelemetryBatch>;
