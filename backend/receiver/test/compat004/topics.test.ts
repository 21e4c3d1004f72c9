import { describe, expect, it } from 'vitest';
import {
  normalise004Data,
  normalise004DataPayload,
  normalise004Heartbeat,
  normalise004Status,
  parseJson,
  parseOffsetTimestamp,
  type NormalisedResult,
  type RejectReason,
} from '../../src/compat004/full-format.js';

const DEVICE = 'test-device-uuid';
const RECEIVED = new Date('2026-01-05T08:00:00.123Z');

const reasons = (r: NormalisedResult): RejectReason[] => r.rejected.map((x) => x.reason);
const sensors = (r: NormalisedResult): string[] => r.samples.map((s) => s.sensor);

/** Parses like the receiver does (raw MQTT payload → JSON → normaliser). */
function fromText(text: string, receivedAt = RECEIVED): NormalisedResult {
  return normalise004DataPayload(DEVICE, text, receivedAt);
}

describe('the seed examples of source 004', () => {
  it('FULL format (HTTP API format) with per-sensor and top-level timestamps, status and location', () => {
    const r = fromText(`{
      "sensors": [
        { "sensor_name": "temperature", "value": 25.5, "unit": "°C", "timestamp": "2025-12-19T14:30:00+08:00" },
        { "sensor_name": "humidity", "value": 60, "unit": "%" }
      ],
      "status": { "ip_address": "192.168.1.100", "rssi": -50, "battery": 95 },
      "location": { "latitude": 39.9042, "longitude": 116.4074 },
      "timestamp": "2025-12-19T14:30:00+08:00"
    }`);
    const at = new Date('2025-12-19T06:30:00.000Z');
    expect(r.format).toBe('full');
    expect(r.deviceId).toBe(DEVICE);
    expect(r.rejected).toEqual([]);
    expect(r.samples).toEqual([
      { sensor: 'temperature', value: 25.5, unit: '°C', measuredAt: at, seq: at.getTime() },
      { sensor: 'humidity', value: 60, unit: '%', measuredAt: at, seq: at.getTime() },
    ]);
    expect(r.status).toEqual({ ip_address: '192.168.1.100', rssi: -50, battery: 95 });
    expect(r.location).toEqual({ latitude: 39.9042, longitude: 116.4074 });
  });

  it('FULL format of the mosquitto_pub test (top-level timestamp only, no location)', () => {
    const r = fromText(`{
      "sensors": [
        {"sensor_name": "temperature", "value": 25.5, "unit": "°C"},
        {"sensor_name": "humidity", "value": 60, "unit": "%"}
      ],
      "status": { "ip_address": "192.168.1.100", "rssi": -50 },
      "timestamp": "2025-12-19T14:30:00+08:00"
    }`);
    expect(r.format).toBe('full');
    expect(r.rejected).toEqual([]);
    expect(r.samples.map((s) => s.measuredAt.toISOString())).toEqual([
      '2025-12-19T06:30:00.000Z',
      '2025-12-19T06:30:00.000Z',
    ]);
    expect(r.location).toBeUndefined();
  });

  it('FULL format of the batching advice (no timestamps at all → received time, no unit)', () => {
    const r = fromText(`{"sensors": [
      {"sensor_name": "temperature", "value": 25.5},
      {"sensor_name": "humidity", "value": 60},
      {"sensor_name": "pressure", "value": 1013.25}
    ]}`);
    expect(r.rejected).toEqual([]);
    expect(r.samples).toEqual([
      { sensor: 'temperature', value: 25.5, measuredAt: RECEIVED, seq: RECEIVED.getTime() },
      { sensor: 'humidity', value: 60, measuredAt: RECEIVED, seq: RECEIVED.getTime() },
      { sensor: 'pressure', value: 1013.25, measuredAt: RECEIVED, seq: RECEIVED.getTime() },
    ]);
    expect(r.status).toBeUndefined();
  });

  it('SIMPLE format (ESP32): every key a sensor, measured when received', () => {
    const r = fromText('{"temperature": 25.5, "humidity": 60, "light": 850}');
    expect(r.format).toBe('simple');
    expect(r.rejected).toEqual([]);
    expect(r.samples).toEqual([
      { sensor: 'temperature', value: 25.5, measuredAt: RECEIVED, seq: 1767600000123 },
      { sensor: 'humidity', value: 60, measuredAt: RECEIVED, seq: 1767600000123 },
      { sensor: 'light', value: 850, measuredAt: RECEIVED, seq: 1767600000123 },
    ]);
    expect(r.samples[0]).not.toHaveProperty('unit');
  });

  it('the invalid sensor name of the troubleshooting section (123abc) is skipped, the rest kept', () => {
    const r = fromText('{"123abc": 1, "temperature": 25.5}');
    expect(sensors(r)).toEqual(['temperature']);
    expect(r.rejected).toEqual([expect.objectContaining({ reason: 'bad_sensor_name', sensor: '123abc' })]);
  });
});

describe('format detection', () => {
  it.each([
    ['an array', [{ temperature: 1 }]],
    ['a string', 'temperature'],
    ['a number', 25.5],
    ['null', null],
    ['a boolean', true],
  ])('rejects %s as a whole (schema)', (_label, payload) => {
    const r = normalise004Data(DEVICE, payload, RECEIVED);
    expect(r.format).toBe('unknown');
    expect(r.samples).toEqual([]);
    expect(reasons(r)).toEqual(['schema']);
  });

  it('a `sensors` key that is not an array is a broken FULL message (schema)', () => {
    const r = normalise004Data(DEVICE, { sensors: { temperature: { value: 25.5 } } }, RECEIVED);
    expect(r.format).toBe('full');
    expect(r.samples).toEqual([]);
    expect(reasons(r)).toEqual(['schema']);
  });
});

describe('rejection reasons', () => {
  it('malformed_json: the payload is not JSON', () => {
    const r = fromText('{"temperature": 25.5,');
    expect(r.format).toBe('unknown');
    expect(reasons(r)).toEqual(['malformed_json']);
    expect(fromText('').rejected[0]?.detail).toMatch(/empty/);
  });

  it('schema: a sensors entry that is not an object, lacks a value or has a bad unit', () => {
    const r = normalise004Data(
      DEVICE,
      {
        sensors: [
          'temperature',
          null,
          { value: 1 },
          { sensor_name: 'humidity' },
          { sensor_name: 'light', value: 850, unit: 5 },
          { sensor_name: 'sound', value: 40, unit: 'x'.repeat(33) },
          { sensor_name: 'pressure', value: 1013.25, unit: 'hPa' },
        ],
      },
      RECEIVED,
    );
    expect(reasons(r)).toEqual(['schema', 'schema', 'schema', 'schema', 'schema', 'schema']);
    expect(sensors(r)).toEqual(['pressure']);
  });

  it('schema: a status that is not an object is dropped, the samples are kept', () => {
    const r = normalise004Data(DEVICE, { sensors: [{ sensor_name: 'a', value: 1 }], status: 'ok' }, RECEIVED);
    expect(reasons(r)).toEqual(['schema']);
    expect(r.status).toBeUndefined();
    expect(sensors(r)).toEqual(['a']);
  });

  it.each([
    ['starts with a digit', '1temp'],
    ['upper case', 'Temperature'],
    ['a dash', 'air-temp'],
    ['a space', 'air temp'],
    ['starts with underscore', '_temp'],
    ['empty', ''],
    ['51 characters', 'a'.repeat(51)],
    ['__proto__', '__proto__'],
  ])('bad_sensor_name: %s', (_label, name) => {
    const full = normalise004Data(DEVICE, { sensors: [{ sensor_name: name, value: 1 }] }, RECEIVED);
    expect(full.rejected).toEqual([expect.objectContaining({ reason: 'bad_sensor_name', sensor: name })]);
    const simple = fromText(JSON.stringify({ [name]: 1 }));
    expect(reasons(simple)).toEqual(['bad_sensor_name']);
  });

  it('a sensor_name that is not a string is a bad name; 50 characters and digits/underscores are fine', () => {
    const r = normalise004Data(
      DEVICE,
      {
        sensors: [
          { sensor_name: 42, value: 1 },
          { sensor_name: 'a'.repeat(50), value: 1 },
          { sensor_name: 'sensor_1', value: 2 },
        ],
      },
      RECEIVED,
    );
    expect(reasons(r)).toEqual(['bad_sensor_name']);
    expect(sensors(r)).toEqual(['a'.repeat(50), 'sensor_1']);
  });

  it.each([
    ['a numeric string', '25.5'],
    ['a boolean', true],
    ['null', null],
    ['an object', { value: 25.5 }],
    ['an array', [25.5]],
  ])('non_numeric_value: %s (004 requires int or float)', (_label, value) => {
    const full = normalise004Data(DEVICE, { sensors: [{ sensor_name: 'temperature', value }] }, RECEIVED);
    expect(full.rejected).toEqual([
      expect.objectContaining({ reason: 'non_numeric_value', sensor: 'temperature' }),
    ]);
    const simple = normalise004Data(DEVICE, { temperature: value }, RECEIVED);
    expect(reasons(simple)).toEqual(['non_numeric_value']);
  });

  it('non_finite_value: a number that overflows to Infinity in JSON (1e999), and NaN', () => {
    const simple = fromText('{"temperature": 1e999, "humidity": -1e999, "light": 850}');
    expect(reasons(simple)).toEqual(['non_finite_value', 'non_finite_value']);
    expect(sensors(simple)).toEqual(['light']);
    const full = fromText('{"sensors": [{"sensor_name": "temperature", "value": 1e999}]}');
    expect(reasons(full)).toEqual(['non_finite_value']);
    expect(reasons(normalise004Data(DEVICE, { temperature: NaN }, RECEIVED))).toEqual(['non_finite_value']);
  });

  it.each([
    ['no UTC offset (ambiguous local time)', '2025-12-19T14:30:00'],
    ['not a date', 'yesterday'],
    ['an impossible date', '2025-02-30T10:00:00Z'],
    ['an impossible hour', '2025-12-19T24:00:00Z'],
    ['an impossible offset', '2025-12-19T14:30:00+08:60'],
    ['before 1970', '1969-12-31T23:59:59Z'],
    ['date only', '2025-12-19'],
    ['a number', 1766125800],
  ])('bad_timestamp: %s rejects that sample only', (_label, timestamp) => {
    const r = normalise004Data(
      DEVICE,
      {
        sensors: [
          { sensor_name: 'temperature', value: 25.5, timestamp },
          { sensor_name: 'humidity', value: 60 },
        ],
      },
      RECEIVED,
    );
    expect(r.rejected).toEqual([expect.objectContaining({ reason: 'bad_timestamp', sensor: 'temperature' })]);
    expect(r.samples).toEqual([
      { sensor: 'humidity', value: 60, measuredAt: RECEIVED, seq: RECEIVED.getTime() },
    ]);
  });

  it('bad_timestamp: a bad top-level timestamp rejects the samples that fall back on it', () => {
    const r = normalise004Data(
      DEVICE,
      {
        sensors: [
          { sensor_name: 'temperature', value: 25.5, timestamp: '2025-12-19T06:30:00Z' },
          { sensor_name: 'humidity', value: 60 },
        ],
        timestamp: '19.12.2025 14:30',
      },
      RECEIVED,
    );
    expect(r.rejected).toEqual([expect.objectContaining({ reason: 'bad_timestamp', sensor: 'humidity' })]);
    expect(sensors(r)).toEqual(['temperature']);
  });

  it('bad_timestamp: a bad top-level timestamp nobody uses is reported once, nothing rejected', () => {
    const r = normalise004Data(
      DEVICE,
      { sensors: [{ sensor_name: 'a', value: 1, timestamp: '2025-12-19T06:30:00Z' }], timestamp: 'x' },
      RECEIVED,
    );
    expect(reasons(r)).toEqual(['bad_timestamp']);
    expect(r.rejected[0]?.sensor).toBeUndefined();
    expect(sensors(r)).toEqual(['a']);
  });

  it.each([
    ['latitude above 90', { latitude: 90.0001, longitude: 0 }],
    ['latitude below -90', { latitude: -90.0001, longitude: 0 }],
    ['longitude above 180', { latitude: 0, longitude: 180.0001 }],
    ['longitude below -180', { latitude: 0, longitude: -180.0001 }],
    ['latitude as string', { latitude: '39.9', longitude: 116.4 }],
    ['longitude missing', { latitude: 39.9 }],
    ['not an object', [39.9, 116.4]],
  ])('bad_location: %s drops the location, keeps the samples', (_label, location) => {
    const r = normalise004Data(DEVICE, { sensors: [{ sensor_name: 'a', value: 1 }], location }, RECEIVED);
    expect(reasons(r)).toEqual(['bad_location']);
    expect(r.location).toBeUndefined();
    expect(sensors(r)).toEqual(['a']);
  });

  it('empty: a message without sensor values (status and location still returned)', () => {
    const full = normalise004Data(
      DEVICE,
      { sensors: [], status: { battery: 95 }, location: { latitude: 1, longitude: 2 } },
      RECEIVED,
    );
    expect(reasons(full)).toEqual(['empty']);
    expect(full.status).toEqual({ battery: 95 });
    expect(full.location).toEqual({ latitude: 1, longitude: 2 });
    const simple = fromText('{}');
    expect(simple.format).toBe('simple');
    expect(reasons(simple)).toEqual(['empty']);
  });

  it('duplicate: the same sensor twice at the same instant in one message keeps the first', () => {
    const r = normalise004Data(
      DEVICE,
      {
        sensors: [
          { sensor_name: 'temperature', value: 25.5, timestamp: '2025-12-19T14:30:00+08:00' },
          { sensor_name: 'temperature', value: 26, timestamp: '2025-12-19T06:30:00Z' },
          { sensor_name: 'temperature', value: 27, timestamp: '2025-12-19T06:31:00Z' },
        ],
      },
      RECEIVED,
    );
    expect(reasons(r)).toEqual(['duplicate']);
    expect(r.samples.map((s) => s.value)).toEqual([25.5, 27]);
  });
});

describe('partial data errors do not affect the whole', () => {
  it('keeps every valid sample of a mixed FULL message and says why each other one was rejected', () => {
    const r = fromText(`{
      "sensors": [
        {"sensor_name": "temperature", "value": 25.5, "unit": "°C"},
        {"sensor_name": "Humidity", "value": 60},
        {"sensor_name": "pressure", "value": "1013.25"},
        {"sensor_name": "light", "value": 1e999},
        {"sensor_name": "co2", "value": 412, "timestamp": "soon"},
        {"sensor_name": "humidity", "value": 60, "unit": "%"}
      ],
      "location": {"latitude": 91, "longitude": 0},
      "status": {"battery": 80}
    }`);
    expect(sensors(r)).toEqual(['temperature', 'humidity']);
    expect(reasons(r).sort()).toEqual(
      ['bad_location', 'bad_sensor_name', 'bad_timestamp', 'non_finite_value', 'non_numeric_value'].sort(),
    );
    expect(r.rejected.filter((x) => x.sensor).map((x) => x.sensor)).toEqual([
      'Humidity',
      'pressure',
      'light',
      'co2',
    ]);
    expect(r.status).toEqual({ battery: 80 });
    for (const x of r.rejected) expect(x.detail.length).toBeGreaterThan(0);
  });

  it('keeps every valid key of a mixed SIMPLE message', () => {
    const r = fromText('{"temperature": 25.5, "humidity": "60", "Light": 850, "pressure": 1013.25}');
    expect(sensors(r)).toEqual(['temperature', 'pressure']);
    expect(reasons(r)).toEqual(['non_numeric_value', 'bad_sensor_name']);
  });
});

describe('location range edges', () => {
  it.each([
    [-90, -180],
    [90, 180],
    [-90, 180],
    [90, -180],
    [0, 0],
  ])('latitude %d, longitude %d is valid', (latitude, longitude) => {
    const r = normalise004Data(
      DEVICE,
      { sensors: [{ sensor_name: 'a', value: 1 }], location: { latitude, longitude } },
      RECEIVED,
    );
    expect(r.rejected).toEqual([]);
    expect(r.location).toEqual({ latitude, longitude });
  });

  it('latitude 90.0001 is not', () => {
    const r = normalise004Data(
      DEVICE,
      { sensors: [], location: { latitude: 90.0001, longitude: 0 } },
      RECEIVED,
    );
    expect(reasons(r)).toContain('bad_location');
  });
});

describe('timestamps', () => {
  it('converts +08:00 to the right UTC instant', () => {
    const r = normalise004Data(
      DEVICE,
      { sensors: [{ sensor_name: 'temperature', value: 25.5, timestamp: '2025-12-19T14:30:00+08:00' }] },
      RECEIVED,
    );
    expect(r.samples[0]?.measuredAt.toISOString()).toBe('2025-12-19T06:30:00.000Z');
    expect(r.samples[0]?.seq).toBe(Date.UTC(2025, 11, 19, 6, 30, 0));
  });

  it.each([
    ['2025-12-19T14:30:00+08:00', '2025-12-19T06:30:00.000Z'],
    ['2025-12-19T14:30:00Z', '2025-12-19T14:30:00.000Z'],
    ['2025-12-19t14:30:00z', '2025-12-19T14:30:00.000Z'],
    ['2025-12-19 14:30:00+0800', '2025-12-19T06:30:00.000Z'],
    ['2025-12-19T14:30:00+08', '2025-12-19T06:30:00.000Z'],
    ['2025-12-19T01:30:00-05:30', '2025-12-19T07:00:00.000Z'],
    ['2025-12-31T23:30:00-01:00', '2026-01-01T00:30:00.000Z'],
    ['2025-12-19T14:30+08:00', '2025-12-19T06:30:00.000Z'],
    ['2025-12-19T14:30:00.5+08:00', '2025-12-19T06:30:00.500Z'],
    ['2025-12-19T14:30:00.123456789Z', '2025-12-19T14:30:00.123Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['1970-01-01T00:00:00Z', '1970-01-01T00:00:00.000Z'],
  ])('parses %s as %s', (input, iso) => {
    expect(parseOffsetTimestamp(input)?.toISOString()).toBe(iso);
  });

  it.each([
    '2025-02-29T00:00:00Z',
    '2025-13-01T00:00:00Z',
    '2025-12-19T14:60:00Z',
    '2025-12-19T14:30:60Z',
    '1970-01-01T00:30:00+01:00',
    '2025-12-19T14:30:00 +08:00',
    ' 2025-12-19T14:30:00Z',
    '+002025-12-19T14:30:00Z',
  ])('refuses %s', (input) => {
    expect(parseOffsetTimestamp(input)).toBeUndefined();
  });
});

describe('synthetic seq (duplicate handling)', () => {
  it('an exact replay of a timestamped message gets the same keys, whenever it arrives', () => {
    const msg =
      '{"sensors":[{"sensor_name":"temperature","value":25.5}],"timestamp":"2025-12-19T14:30:00+08:00"}';
    const first = fromText(msg, new Date('2025-12-19T06:30:01Z'));
    const replay = fromText(msg, new Date('2025-12-19T09:00:00Z'));
    expect(replay.samples).toEqual(first.samples);
    expect(first.samples[0]?.seq).toBe(Date.parse('2025-12-19T06:30:00Z'));
  });

  it('a SIMPLE message is keyed by its arrival time, so a later replay gets new keys', () => {
    const msg = '{"temperature":25.5}';
    const first = fromText(msg, new Date('2025-12-19T06:30:01.000Z'));
    const replay = fromText(msg, new Date('2025-12-19T06:30:02.000Z'));
    expect(replay.samples[0]?.seq).not.toBe(first.samples[0]?.seq);
    expect(first.samples[0]?.seq).toBe(Date.parse('2025-12-19T06:30:01.000Z'));
  });

  it('seqs are non-negative integers (ms)', () => {
    const r = fromText(
      '{"sensors":[{"sensor_name":"a","value":1,"timestamp":"2025-12-19T14:30:00.9999+08:00"}]}',
    );
    expect(Number.isInteger(r.samples[0]?.seq)).toBe(true);
    expect(r.samples[0]?.seq).toBe(Date.parse('2025-12-19T06:30:00.999Z'));
  });
});

describe('parseJson', () => {
  it('parses JSON from a Buffer or a string, tolerating a byte-order mark and whitespace', () => {
    expect(parseJson(Buffer.from('{"temperature":25.5}'))).toEqual({
      ok: true,
      value: { temperature: 25.5 },
    });
    expect(parseJson('\uFEFF {"a":1}\n')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJson(Buffer.from([0xef, 0xbb, 0xbf, 0x5b, 0x5d]))).toEqual({ ok: true, value: [] });
    expect(parseJson('1e999')).toEqual({ ok: true, value: Infinity });
  });

  it.each([
    ['truncated', '{"temperature": 25.5'],
    ['single quotes', "{'temperature': 25.5}"],
    ['NaN literal', '{"temperature": NaN}'],
    ['trailing comma', '{"temperature": 25.5,}'],
    ['plain text', 'hello'],
    ['empty', ''],
    ['whitespace only', '  \n'],
  ])('reports %s as an error', (_label, text) => {
    const r = parseJson(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.length).toBeGreaterThan(0);
  });

  it('reports invalid UTF-8 and never throws on random bytes', () => {
    expect(parseJson(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]))).toEqual({
      ok: false,
      error: 'payload is not valid UTF-8',
    });
    let state = 12345;
    for (let i = 0; i < 200; i++) {
      const bytes = Buffer.alloc(1 + (i % 40));
      for (let j = 0; j < bytes.length; j++) {
        state = (state * 1103515245 + 12345) % 2 ** 31;
        bytes[j] = state & 0xff;
      }
      expect(() => parseJson(bytes)).not.toThrow();
      const parsed = parseJson(bytes);
      if (parsed.ok) expect(() => normalise004Data(DEVICE, parsed.value, RECEIVED)).not.toThrow();
    }
  });
});

describe('status and heartbeat', () => {
  it('status: the seed example is merged and sets the device status', () => {
    expect(normalise004Status('{"status": "online", "battery": 95, "signal": "good"}')).toEqual({
      ok: true,
      status: { status: 'online', battery: 95, signal: 'good' },
      deviceStatus: 'online',
    });
  });

  it('status: without a usable `status` string only the merge happens', () => {
    expect(normalise004Status('{"battery": 95}')).toEqual({ ok: true, status: { battery: 95 } });
    expect(normalise004Status('{"status": 1}')).toEqual({ ok: true, status: { status: 1 } });
    expect(normalise004Status(JSON.stringify({ status: 'x'.repeat(51) }))).not.toHaveProperty('deviceStatus');
  });

  it('status: not an object or not JSON is rejected', () => {
    expect(normalise004Status('"online"')).toMatchObject({ ok: false, rejection: { reason: 'schema' } });
    expect(normalise004Status('[1]')).toMatchObject({ ok: false, rejection: { reason: 'schema' } });
    expect(normalise004Status('online')).toMatchObject({
      ok: false,
      rejection: { reason: 'malformed_json' },
    });
    expect(normalise004Status('')).toMatchObject({ ok: false, rejection: { reason: 'malformed_json' } });
  });

  it('heartbeat: the seed example, an empty payload and any object are accepted', () => {
    expect(normalise004Heartbeat('{"timestamp": "2025-12-19T14:30:00+08:00"}')).toEqual({
      ok: true,
      payload: { timestamp: '2025-12-19T14:30:00+08:00' },
      deviceTime: new Date('2025-12-19T06:30:00Z'),
    });
    expect(normalise004Heartbeat(Buffer.alloc(0))).toEqual({ ok: true, payload: {} });
    expect(normalise004Heartbeat(' ')).toEqual({ ok: true, payload: {} });
    expect(normalise004Heartbeat('{"uptime": 12, "timestamp": "garbage"}')).toEqual({
      ok: true,
      payload: { uptime: 12, timestamp: 'garbage' },
    });
  });

  it('heartbeat: non-object JSON and garbage are rejected', () => {
    expect(normalise004Heartbeat('42')).toMatchObject({ ok: false, rejection: { reason: 'schema' } });
    expect(normalise004Heartbeat('{oops')).toMatchObject({
      ok: false,
      rejection: { reason: 'malformed_json' },
    });
  });
});
