import { Type, type Static } from '@sinclair/typebox';
import { ISO_UTC_PATTERN } from './reading.js';

import { MAX_INTERVAL_MS, MIN_INTERVAL_MS } from '../measuring-interval.js';

export { MAX_INTERVAL_MS, MIN_INTERVAL_MS };

export const COMMAND_NAMES = ['start', 'stop', 'set_interval', 'ping', 'status'] as const;
export type CommandName = (typeof COMMAND_NAMES)[number];

/** The envelope every command shares; arguments sit beside it and are checked per command. */
export const CommandEnvelope = Type.Object(
  {
    id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]+$' }),
    command: Type.String({ minLength: 1, maxLength: 64 }),
    expiresAt: Type.Optional(Type.String({ pattern: ISO_UTC_PATTERN })),
  },
  { additionalProperties: true },
);
export type CommandEnvelope = Static<typeof CommandEnvelope>;

export const CommandArgs = {
  start: Type.Object({}),
  stop: Type.Object({}),
  set_interval: Type.Object({
    intervalMs: Type.Integer({ minimum: MIN_INTERVAL_MS, maximum: MAX_INTERVAL_MS }),
  }),
  ping: Type.Object({}),
  status: Type.Object({}),
} as const;

export const CommandResult = Type.Union([
  Type.Object(
    { id: Type.String(), ok: Type.Literal(true), result: Type.Record(Type.String(), Type.Unknown()) },
    { additionalProperties: false },
  ),
  Type.Object(
    { id: Type.String(), ok: Type.Literal(false), error: Type.String() },
    { additionalProperties: false },
  ),
]);
export type CommandResult = Static<typeof CommandResult>;
