import { Type, type Static } from '@sinclair/typebox';
import { SENSOR_NAME_PATTERN } from './reading.js';

/*
 * Compatibility formats of source system 004 (a standalone MQTT ingestion service for third-party devices
 * such as ESP32 boards). Three topics, QoS 1, no sequence numbers, no `v` field:
 *
 *   devices/{uuid}/data       sensor values, FULL format (the HTTP-upload shape) or SIMPLE format
 *   devices/{uuid}/status     device status; merged into the device's last reported status, and its
 *                             `status` field (e.g. "online") becomes the device status
 *   devices/{uuid}/heartbeat  keep-alive: any JSON object, or an empty payload; only updates last seen
 *
 * These schemas describe a message that is valid as a whole. The receiver is more lenient than that on
 * `data` ("partial data errors don't affect the whole", 004's rule): it validates sample by sample and
 * stores the valid ones (see backend/receiver/src/compat004/), so use these schemas for
 * documentation, OpenAPI and device-side checks, not as an all-or-nothing gate on `data`.
 */

/**
 * Timestamps of 004 payloads: ISO-8601 date and time WITH a UTC offset, e.g. `2025-12-19T14:30:00+08:00`
 * or `2025-12-19T06:30:00.250Z`. Seconds and fraction are optional; the offset may be `Z`, `±hh:mm`,
 * `±hhmm` or `±hh`. A time without offset is ambiguous (the device's local time) and is not accepted.
 * Capture groups (used by the receiver's parser): 1 year, 2 month, 3 day, 4 hour, 5 minute, 6 second,
 * 7 fraction, 8 offset.
 */
export const COMPAT004_TIMESTAMP_PATTERN =
  '^(\\d{4})-(\\d{2})-(\\d{2})[Tt ](\\d{2}):(\\d{2})(?::(\\d{2})(?:[.,](\\d{1,9}))?)?([Zz]|[+-]\\d{2}(?::?\\d{2})?)$';

/** Longest unit string accepted (`°C`, `%`, `hPa`, `lux`, …). */
export const COMPAT004_MAX_UNIT_LENGTH = 32;

/** Longest `status` string of a status message that becomes the device status. */
export const COMPAT004_MAX_DEVICE_STATUS_LENGTH = 50;

const Timestamp = Type.String({
  pattern: COMPAT004_TIMESTAMP_PATTERN,
  description: 'ISO-8601 with UTC offset, e.g. 2025-12-19T14:30:00+08:00',
});

const SensorName = Type.String({
  pattern: SENSOR_NAME_PATTERN,
  description: 'lowercase letters, digits, underscore; 1–50 chars; not starting with a digit',
});

export const Compat004Location = Type.Object(
  {
    latitude: Type.Number({ minimum: -90, maximum: 90 }),
    longitude: Type.Number({ minimum: -180, maximum: 180 }),
  },
  { additionalProperties: true, description: 'WGS 84 degrees' },
);
export type Compat004Location = Static<typeof Compat004Location>;

/** Free-form device status (ip_address, rssi, battery, …). */
export const Compat004StatusFields = Type.Record(Type.String(), Type.Unknown(), {
  description: 'free-form device status, e.g. {"ip_address":"192.168.1.100","rssi":-50,"battery":95}',
});
export type Compat004StatusFields = Static<typeof Compat004StatusFields>;

export const Compat004SensorEntry = Type.Object(
  {
    sensor_name: SensorName,
    value: Type.Number({ description: 'int or float; strings such as "25.5" are not accepted' }),
    unit: Type.Optional(Type.String({ maxLength: COMPAT004_MAX_UNIT_LENGTH })),
    timestamp: Type.Optional(Timestamp),
  },
  { additionalProperties: true },
);
export type Compat004SensorEntry = Static<typeof Compat004SensorEntry>;

/** devices/{uuid}/data, FULL format (identical to 004's HTTP upload body). */
export const Compat004FullData = Type.Object(
  {
    sensors: Type.Array(Compat004SensorEntry),
    status: Type.Optional(Compat004StatusFields),
    location: Type.Optional(Compat004Location),
    timestamp: Type.Optional(Timestamp),
  },
  {
    additionalProperties: true,
    description: 'sensor timestamp → else this top-level timestamp → else the time the backend received it',
  },
);
export type Compat004FullData = Static<typeof Compat004FullData>;

/** devices/{uuid}/data, SIMPLE format: `{"temperature":25.5,"humidity":60,"light":850}`; no units, no time. */
export const Compat004SimpleData = Type.Record(SensorName, Type.Number(), {
  additionalProperties: false,
  minProperties: 1,
  description: 'sensor name → value; measured at the time the backend received it',
});
export type Compat004SimpleData = Static<typeof Compat004SimpleData>;

export const Compat004Data = Type.Union([Compat004FullData, Compat004SimpleData]);
export type Compat004Data = Static<typeof Compat004Data>;

/** devices/{uuid}/status, e.g. `{"status":"online","battery":95,"signal":"good"}`. */
export const Compat004Status = Type.Object(
  {
    status: Type.Optional(Type.String({ minLength: 1, maxLength: COMPAT004_MAX_DEVICE_STATUS_LENGTH })),
  },
  {
    additionalProperties: true,
    description:
      'merged into the last reported status; `status` (online, offline, …) becomes the device status',
  },
);
export type Compat004Status = Static<typeof Compat004Status>;

/**
 * devices/{uuid}/heartbeat, e.g. `{"timestamp":"2025-12-19T14:30:00+08:00"}`. Any JSON object; a
 * zero-length payload counts as `{}`. Only the arrival matters (last seen, online).
 */
export const Compat004Heartbeat = Type.Record(Type.String(), Type.Unknown(), {
  description: 'any JSON object (an empty payload counts as {})',
});
export type Compat004Heartbeat = Static<typeof Compat004Heartbeat>;
