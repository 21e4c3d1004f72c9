import { Type, type Static } from '@sinclair/typebox';

export const SensorStatus = Type.Object(
  {
    status: Type.Union([
      Type.Literal('ok'),
      Type.Literal('error'),
      Type.Literal('starting'),
      Type.Literal('stopped'),
    ]),
    driver: Type.String(),
    model: Type.Optional(Type.String()),
    lastError: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Integer({ minimum: 0 })),
    redisLostAppends: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'appends Redis lost when it restarted without its last writes',
      }),
    ),
    clockJumps: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'wall-clock steps the sensor saw (wall vs monotonic clock), over the device life',
      }),
    ),
    lastClockJump: Type.Optional(
      Type.Object(
        {
          at: Type.String({ description: 'wall-clock time right after the step (ISO-8601)' }),
          byMs: Type.Integer({ description: 'size of the step in ms: negative = the clock went back' }),
        },
        { additionalProperties: true },
      ),
    ),
  },
  { additionalProperties: true },
);
export type SensorStatus = Static<typeof SensorStatus>;

/** devices/{id}/state (retained): what the device reports about itself. */
export const ReportedState = Type.Object(
  {
    v: Type.Literal(1),
    running: Type.Boolean(),
    intervalMs: Type.Integer({ minimum: 1 }),
    backlog: Type.Integer({ minimum: 0, description: 'readings not yet acknowledged by the backend' }),
    oldestUnackedTs: Type.Union([Type.String(), Type.Null()]),
    lastSeq: Type.Integer({ minimum: 0 }),
    dropped: Type.Integer({ minimum: 0, description: 'readings dropped by the bounded outbox' }),
    dropsUnconfirmed: Type.Optional(
      Type.Integer({
        minimum: 0,
        description: 'sent readings the outbox bound dropped that the backend has not yet said it stores',
      }),
    ),
    rejected: Type.Optional(Type.Integer({ minimum: 0 })),
    seqConflicts: Type.Optional(
      Type.Integer({ minimum: 0, description: 'readings renumbered after a seq conflict (Redis rollback)' }),
    ),
    oldestUnackedSeq: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
    sensor: Type.Optional(SensorStatus),
    version: Type.String(),
    uptimeS: Type.Number({ minimum: 0 }),
    ts: Type.String(),
    rev: Type.Optional(
      Type.Integer({
        minimum: 1,
        description:
          'revision: grows with every state the device publishes, whatever its wall clock does; ' +
          'the backend orders states by it when both have one, else by ts',
      }),
    ),
  },
  { additionalProperties: true },
);
export type ReportedState = Static<typeof ReportedState>;

/** devices/{id}/online (retained; `false` is also the MQTT last will). */
export const OnlineFlag = Type.Boolean();
export type OnlineFlag = Static<typeof OnlineFlag>;
