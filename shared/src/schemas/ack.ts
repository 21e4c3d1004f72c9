import { Type, type Static } from '@sinclair/typebox';
import { SEQ_CONFLICT_REASON, type RejectionReason } from './rejection-reasons.js';

const SeqRange = Type.Tuple([Type.Integer({ minimum: 1 }), Type.Integer({ minimum: 1 })], {
  description: 'inclusive [from, to]',
});

export const RejectedReading = Type.Object(
  {
    seq: Type.Integer({ minimum: 1 }),
    reason: Type.String({
      description:
        `a reason code of rejection-reasons.ts, then \`: \` and a detail for people ("out_of_range: …");` +
        ` exactly \`${SEQ_CONFLICT_REASON}\` for a seq conflict (the device re-appends those readings)`,
    }),
  },
  { additionalProperties: false },
);
export type RejectedReading = Static<typeof RejectedReading>;

/** The `reason` of a rejected reading in an ack: the code first, so a device can count by it. */
export function ackReason(reason: RejectionReason, detail: string): string {
  return reason === SEQ_CONFLICT_REASON ? reason : `${reason}: ${detail}`;
}

/**
 * The answer to a telemetry message's `probe`: which of the named dropped readings the backend stores
 * (same seq and measurement time) and which it does not. Seqs named in neither were not answered (the
 * device asks again). Only a device that sent a probe gets one; older devices ignore the field.
 */
export const ProbeAnswer = Type.Object(
  {
    stored: Type.Array(SeqRange, { maxItems: 10_000 }),
    unknown: Type.Array(SeqRange, { maxItems: 10_000 }),
  },
  { additionalProperties: true },
);
export type ProbeAnswer = Static<typeof ProbeAnswer>;

/**
 * devices/{id}/ack. `ranges` are seqs committed to MariaDB (stored now or earlier); `rejected` are readings
 * the backend will never accept (invalid), with the reason. The device deletes both from its outbox and
 * counts the rejected ones, so a bad reading cannot block the link forever.
 */
export const Ack = Type.Object(
  {
    v: Type.Literal(1),
    ranges: Type.Array(SeqRange, { maxItems: 10_000 }),
    rejected: Type.Optional(Type.Array(RejectedReading, { maxItems: 10_000 })),
    highestSeq: Type.Optional(
      Type.Integer({ minimum: 0, description: 'highest seq of this device stored in the backend' }),
    ),
    probe: Type.Optional(ProbeAnswer),
  },
  { additionalProperties: true },
);
export type Ack = Static<typeof Ack>;
