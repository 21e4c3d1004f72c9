import { describe, expect, it } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import {
  COMPAT004_TIMESTAMP_PATTERN,
  Compat004Data,
  Compat004FullData,
  Compat004Heartbeat,
  Compat004Location,
  Compat004SensorEntry,
  Compat004SimpleData,
  Compat004Status,
} from '../src/schemas/compat004.js';
import { SENSOR_NAME_PATTERN } from '../src/schemas/reading.js';

const ok = (schema: TSchema, value: unknown): boolean => Value.Check(schema, value);

// The examples of source 004's README.
const seedFull = {
  sensors: [
    { sensor_name: 'temperature', value: 25.5, unit: '°C', timestamp: '2025-12-19T14:30:00+08:00' },
    { sensor_name: 'humidity', value: 60, unit: '%' },
  ],
  status: { ip_address: '192.168.1.100', rssi: -50, battery: 95 },
  location: { latitude: 39.9042, longitude: 116.4074 },
  timestamp: '2025-12-19T14:30:00+08:00',
};
const seedSimple = { temperature: 25.5, humidity: 60, light: 850 };

describe('Compat004FullData', () => {
  it('accepts the seed examples', () => {
    expect(ok(Compat004FullData, seedFull)).toBe(true);
    expect(
      ok(Compat004FullData, {
        sensors: [
          { sensor_name: 'temperature', value: 25.5 },
          { sensor_name: 'humidity', value: 60 },
          { sensor_name: 'pressure', value: 1013.25 },
        ],
      }),
    ).toBe(true);
    expect(ok(Compat004Data, seedFull)).toBe(true);
  });

  it.each([
    ['a bad sensor name', { sensors: [{ sensor_name: '123abc', value: 1 }] }],
    ['an upper-case sensor name', { sensors: [{ sensor_name: 'Temperature', value: 1 }] }],
    ['a 51-char sensor name', { sensors: [{ sensor_name: 'a'.repeat(51), value: 1 }] }],
    ['a numeric string value', { sensors: [{ sensor_name: 'temperature', value: '25.5' }] }],
    ['an infinite value', { sensors: [{ sensor_name: 'temperature', value: Infinity }] }],
    ['NaN', { sensors: [{ sensor_name: 'temperature', value: NaN }] }],
    ['a missing value', { sensors: [{ sensor_name: 'temperature' }] }],
    [
      'a timestamp without offset',
      { sensors: [{ sensor_name: 't', value: 1, timestamp: '2025-12-19T14:30:00' }] },
    ],
    ['a bad top-level timestamp', { sensors: [], timestamp: 'now' }],
    ['latitude 90.0001', { sensors: [], location: { latitude: 90.0001, longitude: 0 } }],
    ['longitude -180.0001', { sensors: [], location: { latitude: 0, longitude: -180.0001 } }],
    ['a status that is not an object', { sensors: [], status: 'online' }],
    ['sensors as an object', { sensors: { temperature: { value: 25.5 } } }],
  ])('rejects %s', (_label, value) => {
    expect(ok(Compat004FullData, value)).toBe(false);
  });

  it('accepts the location range edges', () => {
    for (const [latitude, longitude] of [
      [-90, -180],
      [90, 180],
    ]) {
      expect(ok(Compat004Location, { latitude, longitude })).toBe(true);
    }
    expect(ok(Compat004Location, { latitude: 90.0001, longitude: 0 })).toBe(false);
    expect(ok(Compat004Location, { latitude: 0 })).toBe(false);
  });

  it('allows a unit up to 32 chars and a 50-char name', () => {
    expect(ok(Compat004SensorEntry, { sensor_name: 'a'.repeat(50), value: 1, unit: 'u'.repeat(32) })).toBe(
      true,
    );
    expect(ok(Compat004SensorEntry, { sensor_name: 'a', value: 1, unit: 'u'.repeat(33) })).toBe(false);
  });
});

describe('Compat004SimpleData', () => {
  it('accepts the seed example', () => {
    expect(ok(Compat004SimpleData, seedSimple)).toBe(true);
    expect(ok(Compat004Data, seedSimple)).toBe(true);
  });

  it.each([
    ['empty', {}],
    ['a bad name', { '123abc': 1 }],
    ['a string value', { temperature: '25.5' }],
    ['a nested object', { temperature: { value: 25.5 } }],
    ['an array', [25.5]],
    ['Infinity', { temperature: Infinity }],
  ])('rejects %s', (_label, value) => {
    expect(ok(Compat004SimpleData, value)).toBe(false);
    expect(ok(Compat004Data, value)).toBe(false);
  });
});

describe('status and heartbeat', () => {
  it('status: the seed example and any object with an optional status string', () => {
    expect(ok(Compat004Status, { status: 'online', battery: 95, signal: 'good' })).toBe(true);
    expect(ok(Compat004Status, { battery: 95 })).toBe(true);
    expect(ok(Compat004Status, { status: '' })).toBe(false);
    expect(ok(Compat004Status, { status: 1 })).toBe(false);
    expect(ok(Compat004Status, 'online')).toBe(false);
    expect(ok(Compat004Status, ['online'])).toBe(false);
  });

  it('heartbeat: any object (an empty payload counts as {})', () => {
    expect(ok(Compat004Heartbeat, { timestamp: '2025-12-19T14:30:00+08:00' })).toBe(true);
    expect(ok(Compat004Heartbeat, {})).toBe(true);
    expect(ok(Compat004Heartbeat, 'ping')).toBe(false);
    expect(ok(Compat004Heartbeat, null)).toBe(false);
    expect(ok(Compat004Heartbeat, [])).toBe(false);
  });
});

describe('patterns', () => {
  it('sensor names follow the shared rule', () => {
    expect(Compat004SensorEntry.properties.sensor_name.pattern).toBe(SENSOR_NAME_PATTERN);
  });

  it.each([
    '2025-12-19T14:30:00+08:00',
    '2025-12-19T06:30:00Z',
    '2025-12-19T06:30:00.250Z',
    '2025-12-19 14:30:00+0800',
    '2025-12-19T14:30+08',
  ])('timestamp pattern accepts %s', (s) => {
    expect(new RegExp(COMPAT004_TIMESTAMP_PATTERN).test(s)).toBe(true);
  });

  it.each(['2025-12-19T14:30:00', '2025-12-19', '19.12.2025 14:30', '1766125800', '2025-12-19T14:30:00 Z'])(
    'timestamp pattern refuses %s',
    (s) => {
      expect(new RegExp(COMPAT004_TIMESTAMP_PATTERN).test(s)).toBe(false);
    },
  );
});
