import { Type, type Static } from '@sinclair/typebox';

const SeqRange = Type.Tuple([Type.Integer({ minimum: 1 }), Type.Integer({ minimum: 1 })], {
  description: 'inclusive [from, to]',
});

export const RejectedReading = Type.Object(
  { seq: Type.Integer({ minimum: 1 }), reason: Type.String() },
  { additionalProperties: false },
);
export type RejectedReading = Static<typeof RejectedReading>;

/**
 * Reason of a rejected reading whose seq is already stored with a different measurement: the device's seq
 * counter went back (Redis lost its last second with appendfsync everysec). The device re-appends such
 * readings under new seqs above `highestSeq`, so they are stored instead of being taken for replays.
 */
export const SEQ_CONFLICT_REASON = 'seq_conflict';

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
  },
  { additionalProperties: true },
);
export type Ack = Static<typeof Ack>;
