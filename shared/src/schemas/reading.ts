import { Type, type Static } from '@sinclair/typebox';

/** Sensor names: lowercase letters, digits, underscore, 1–50 chars, not starting with a digit (docs/design.md#readings-and-seqs). */
export const SENSOR_NAME_PATTERN = '^[a-z][a-z0-9_]{0,49}$';
export const SENSOR_NAME_REGEX = new RegExp(SENSOR_NAME_PATTERN);

/** ISO-8601 UTC with milliseconds, e.g. 2026-11-23T10:00:00.000Z (what Date#toISOString produces). */
export const ISO_UTC_PATTERN = '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,6})?Z$';

/** Upper bound of sensor channels per reading; a real device has a handful. */
export const MAX_CHANNELS_PER_READING = 32;

export const SensorValues = Type.Record(Type.String({ pattern: SENSOR_NAME_PATTERN }), Type.Number(), {
  additionalProperties: false,
  minProperties: 1,
  maxProperties: MAX_CHANNELS_PER_READING,
  description: 'sensor name → value (finite number, unit fixed per sensor name)',
});
export type SensorValues = Static<typeof SensorValues>;

export const Reading = Type.Object(
  {
    seq: Type.Integer({
      minimum: 1,
      maximum: Number.MAX_SAFE_INTEGER,
      description: 'per-device, contiguous from 1',
    }),
    ts: Type.String({ pattern: ISO_UTC_PATTERN, description: 'measurement time, ISO-8601 UTC' }),
    values: SensorValues,
  },
  { additionalProperties: false },
);
export type Reading = Static<typeof Reading>;
