import type { IngestItem, RegistryUpdate } from '../../src/ingest/ingest-item.js';
import { describe, expect, it } from 'vitest';
import { parseOffsetTimestamp } from '../../src/compat004/offset-timestamp.js';
import { MessageIntake } from '../../src/intake/message-intake.js';

/*
 * Source 004's topics through the receiver's edge, as production takes them: topic and raw payload in,
 * IngestItem out. Derived values are off so that the readings are exactly what the device sent.
 */
const DEVICE = 'test-device-uuid';
const RECEIVED = new Date('2026-01-05T08:00:00.123Z');
const intake = new MessageIntake({
  maxBytes: 256 * 1024,
  maxFutureMs: 86_400_000,
  derivedValues: false,
  messageLog: 'off',
  logPayloadBytes: 0,
});

function take(topic: 'data' | 'status' | 'heartbeat', payload: unknown, receivedAt = RECEIVED): IngestItem {
  const raw = Buffer.isBuffer(payload)
    ? payload
    : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload));
  return intake.take(`devices/${DEVICE}/${topic}`, raw, false, receivedAt.getTime())!;
}
const data = (payload: unknown, receivedAt = RECEIVED) => take('data', payload, receivedAt);

interface Sample {
  sensor: string;
  value: number;
  seq: number;
}
/** Every stored value with its key, in reading order. */
const samples = (i: IngestItem): Sample[] =>
  i.readings.flatMap((r) =>
    Object.entries(r.values).map(([sensor, value]) => ({ sensor, value, seq: r.seq })),
  );
const sensors = (i: IngestItem): string[] => samples(i).map((s) => s.sensor);
const reasons = (i: IngestItem): string[] => i.rejected.map((x) => x.reason);
const scoped = (i: IngestItem): string[] => i.rejected.map((x) => `${x.scope}:${x.reason}`);
const update = <K extends RegistryUpdate['kind']>(i: IngestItem, kind: K) =>
  i.registry.find((u): u is Extract<RegistryUpdate, { kind: K }> => u.kind === kind);
const report = (i: IngestItem) => update(i, 'report004')?.report;
const rejectedFor = (reason: string, name: string) =>
  expect.objectContaining({ scope: 'reading', reason, detail: expect.stringContaining(name) });

describe('the seed examples of source 004', () => {
  it('FULL format (HTTP API format) with per-sensor and top-level timestamps, status and location', () => {
    const i = data(`{
      "sensors": [
        { "sensor_name": "temperature", "value": 25.5, "unit": "°C", "timestamp": "2025-12-19T14:30:00+08:00" },
        { "sensor_name": "humidity", "value": 60, "unit": "%" }
      ],
      "status": { "ip_address": "192.168.1.100", "rssi": -50, "battery": 95 },
      "location": { "latitude": 39.9042, "longitude": 116.4074 },
      "timestamp": "2025-12-19T14:30:00+08:00"
    }`);
    const at = Date.parse('2025-12-19T06:30:00.000Z');
    expect(i).toMatchObject({ deviceId: DEVICE, kind: 'data', acks: false, rejected: [] });
    expect(i.readings).toEqual([
      { seq: at, measuredMs: at, values: { temperature: 25.5, humidity: 60 }, derived: {} },
    ]);
    expect(report(i)).toEqual({
      sensors: {
        temperature: { value: 25.5, unit: '°C', timestamp: '2025-12-19T06:30:00.000Z' },
        humidity: { value: 60, unit: '%', timestamp: '2025-12-19T06:30:00.000Z' },
      },
      location: { latitude: 39.9042, longitude: 116.4074 },
      upload_timestamp: RECEIVED.toISOString(),
    });
    expect(update(i, 'status004')?.status).toEqual({ ip_address: '192.168.1.100', rssi: -50, battery: 95 });
  });

  it('FULL format of the mosquitto_pub test (top-level timestamp only, no location)', () => {
    const i = data(`{
      "sensors": [
        {"sensor_name": "temperature", "value": 25.5, "unit": "°C"},
        {"sensor_name": "humidity", "value": 60, "unit": "%"}
      ],
      "status": { "ip_address": "192.168.1.100", "rssi": -50 },
      "timestamp": "2025-12-19T14:30:00+08:00"
    }`);
    expect(i.rejected).toEqual([]);
    expect(i.readings.map((r) => new Date(r.measuredMs).toISOString())).toEqual(['2025-12-19T06:30:00.000Z']);
    expect(report(i)).not.toHaveProperty('location');
  });

  it('FULL format of the batching advice (no timestamps at all → received time, no unit)', () => {
    const i = data(`{"sensors": [
      {"sensor_name": "temperature", "value": 25.5},
      {"sensor_name": "humidity", "value": 60},
      {"sensor_name": "pressure", "value": 1013.25}
    ]}`);
    const at = RECEIVED.getTime();
    expect(i.rejected).toEqual([]);
    expect(i.readings).toEqual([
      {
        seq: at,
        measuredMs: at,
        values: { temperature: 25.5, humidity: 60, pressure: 1013.25 },
        derived: {},
      },
    ]);
    expect(report(i)?.sensors).toMatchObject({ temperature: { unit: '' } });
    expect(update(i, 'status004')).toBeUndefined();
  });

  it('SIMPLE format (ESP32): every key a sensor, measured when received', () => {
    const i = data('{"temperature": 25.5, "humidity": 60, "light": 850}');
    expect(i.rejected).toEqual([]);
    expect(i.readings).toEqual([
      {
        seq: 1767600000123,
        measuredMs: 1767600000123,
        values: { temperature: 25.5, humidity: 60, light: 850 },
        derived: {},
      },
    ]);
  });

  it('the invalid sensor name of the troubleshooting section (123abc) is skipped, the rest kept', () => {
    const i = data('{"123abc": 1, "temperature": 25.5}');
    expect(sensors(i)).toEqual(['temperature']);
    expect(i.rejected).toEqual([rejectedFor('bad_sensor_name', '123abc')]);
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
    const i = data(JSON.stringify(payload));
    expect(i.readings).toEqual([]);
    expect(i.registry).toEqual([]);
    expect(scoped(i)).toEqual(['message:schema']);
  });

  it('a `sensors` key that is not an array is a broken FULL message (schema)', () => {
    const i = data({ sensors: { temperature: { value: 25.5 } } });
    expect(i.readings).toEqual([]);
    expect(scoped(i)).toEqual(['reading:schema']);
  });
});

describe('rejection reasons', () => {
  it('malformed_json: the payload is not JSON', () => {
    expect(scoped(data('{"temperature": 25.5,'))).toEqual(['message:malformed_json']);
    expect(data('').rejected[0]?.detail).toMatch(/empty/);
  });

  it('schema: a sensors entry that is not an object, lacks a value or has a bad unit', () => {
    const i = data({
      sensors: [
        'temperature',
        null,
        { value: 1 },
        { sensor_name: 'humidity' },
        { sensor_name: 'light', value: 850, unit: 5 },
        { sensor_name: 'sound', value: 40, unit: 'x'.repeat(33) },
        { sensor_name: 'pressure', value: 1013.25, unit: 'hPa' },
      ],
    });
    expect(scoped(i)).toEqual(Array(6).fill('reading:schema'));
    expect(sensors(i)).toEqual(['pressure']);
  });

  it('schema: a status that is not an object is dropped, the samples are kept', () => {
    const i = data({ sensors: [{ sensor_name: 'a', value: 1 }], status: 'ok' });
    expect(scoped(i)).toEqual(['field:schema']);
    expect(update(i, 'status004')).toBeUndefined();
    expect(sensors(i)).toEqual(['a']);
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
    const full = data({ sensors: [{ sensor_name: name, value: 1 }] });
    expect(full.rejected).toEqual([rejectedFor('bad_sensor_name', JSON.stringify(name))]);
    const simple = data(JSON.stringify({ [name]: 1 }));
    expect(scoped(simple)).toEqual(['reading:bad_sensor_name']);
  });

  it('a sensor_name that is not a string is a bad name; 50 characters and digits/underscores are fine', () => {
    const i = data({
      sensors: [
        { sensor_name: 42, value: 1 },
        { sensor_name: 'a'.repeat(50), value: 1 },
        { sensor_name: 'sensor_1', value: 2 },
      ],
    });
    expect(reasons(i)).toEqual(['bad_sensor_name']);
    expect(sensors(i)).toEqual(['a'.repeat(50), 'sensor_1']);
  });

  it.each([
    ['a numeric string', '25.5'],
    ['a boolean', true],
    ['null', null],
    ['an object', { value: 25.5 }],
    ['an array', [25.5]],
  ])('non_numeric_value: %s (004 requires int or float)', (_label, value) => {
    const full = data({ sensors: [{ sensor_name: 'temperature', value }] });
    expect(full.rejected).toEqual([rejectedFor('non_numeric_value', 'temperature')]);
    expect(scoped(data({ temperature: value }))).toEqual(['reading:non_numeric_value']);
  });

  it('non_finite_value: a number that overflows to Infinity in JSON (1e999), and NaN', () => {
    const simple = data('{"temperature": 1e999, "humidity": -1e999, "light": 850}');
    expect(reasons(simple)).toEqual(['non_finite_value', 'non_finite_value']);
    expect(sensors(simple)).toEqual(['light']);
    const full = data('{"sensors": [{"sensor_name": "temperature", "value": 1e999}]}');
    expect(reasons(full)).toEqual(['non_finite_value']);
    // Bare NaN / Infinity (Python's json.dumps) reject the sample, not the message: the lenient parser.
    const nan = data('{"temperature": NaN, "humidity": Infinity, "light": 3}');
    expect(scoped(nan)).toEqual(['reading:non_finite_value', 'reading:non_finite_value']);
    expect(sensors(nan)).toEqual(['light']);
  });

  it.each([
    ['no UTC offset (ambiguous local time)', '2025-12-19T14:30:00'],
    ['not a date', 'yesterday'],
    ['an impossible date', '2025-02-30T10:00:00Z'],
    ['an impossible hour', '2025-12-19T24:00:00Z'],
    ['an impossible offset', '2025-12-19T14:30:00+08:60'],
    ['before 1970', '1969-12-31T23:59:59Z'],
    ['before 2000 (a device clock never set)', '1999-12-31T23:59:59Z'],
    ['more than READING_MAX_FUTURE ahead', '2026-01-07T08:00:00Z'],
    ['date only', '2025-12-19'],
    ['a number', 1766125800],
  ])('bad_timestamp: %s rejects that sample only', (_label, timestamp) => {
    const i = data({
      sensors: [
        { sensor_name: 'temperature', value: 25.5, timestamp },
        { sensor_name: 'humidity', value: 60 },
      ],
    });
    expect(i.rejected).toEqual([rejectedFor('bad_timestamp', 'temperature')]);
    expect(samples(i)).toEqual([{ sensor: 'humidity', value: 60, seq: RECEIVED.getTime() }]);
  });

  it('bad_timestamp: a bad top-level timestamp rejects the samples that fall back on it', () => {
    const i = data({
      sensors: [
        { sensor_name: 'temperature', value: 25.5, timestamp: '2025-12-19T06:30:00Z' },
        { sensor_name: 'humidity', value: 60 },
      ],
      timestamp: '19.12.2025 14:30',
    });
    expect(i.rejected).toEqual([rejectedFor('bad_timestamp', 'sensors[1]')]);
    expect(sensors(i)).toEqual(['temperature']);
  });

  it('bad_timestamp: a bad top-level timestamp nobody uses is a dropped field, nothing rejected', () => {
    const i = data({
      sensors: [{ sensor_name: 'a', value: 1, timestamp: '2025-12-19T06:30:00Z' }],
      timestamp: 'x',
    });
    expect(scoped(i)).toEqual(['field:bad_timestamp']);
    expect(sensors(i)).toEqual(['a']);
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
    const i = data({ sensors: [{ sensor_name: 'a', value: 1 }], location });
    expect(scoped(i)).toEqual(['field:bad_location']);
    expect(report(i)).not.toHaveProperty('location');
    expect(sensors(i)).toEqual(['a']);
  });

  it('empty: a message without sensor values is rejected as a whole (status and location unused)', () => {
    const full = data({ sensors: [], status: { battery: 95 }, location: { latitude: 1, longitude: 2 } });
    expect(scoped(full)).toEqual(['message:empty']);
    expect(full.registry).toEqual([]);
    expect(scoped(data('{}'))).toEqual(['message:empty']);
  });

  it('duplicate: the same sensor twice at the same instant in one message keeps the first', () => {
    const i = data({
      sensors: [
        { sensor_name: 'temperature', value: 25.5, timestamp: '2025-12-19T14:30:00+08:00' },
        { sensor_name: 'temperature', value: 26, timestamp: '2025-12-19T06:30:00Z' },
        { sensor_name: 'temperature', value: 27, timestamp: '2025-12-19T06:31:00Z' },
      ],
    });
    expect(scoped(i)).toEqual(['reading:duplicate']);
    expect(samples(i).map((s) => s.value)).toEqual([25.5, 27]);
  });

  it('out_of_range: the plausible ranges of native telemetry apply to 004 samples too', () => {
    const i = data({ temperature: 25.5, humidity: 101, pressure: 10 });
    expect(scoped(i)).toEqual(['reading:out_of_range', 'reading:out_of_range']);
    expect(sensors(i)).toEqual(['temperature']);
  });
});

describe('partial data errors do not affect the whole', () => {
  it('keeps every valid sample of a mixed FULL message and says why each other one was rejected', () => {
    const i = data(`{
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
    expect(sensors(i)).toEqual(['temperature', 'humidity']);
    expect(i.rejected).toEqual([
      expect.objectContaining({ scope: 'field', reason: 'bad_location' }),
      rejectedFor('bad_sensor_name', 'Humidity'),
      rejectedFor('non_numeric_value', 'pressure'),
      rejectedFor('non_finite_value', 'light'),
      rejectedFor('bad_timestamp', 'sensors[4]'),
    ]);
    expect(update(i, 'status004')?.status).toEqual({ battery: 80 });
  });

  it('keeps every valid key of a mixed SIMPLE message', () => {
    const i = data('{"temperature": 25.5, "humidity": "60", "Light": 850, "pressure": 1013.25}');
    expect(sensors(i)).toEqual(['temperature', 'pressure']);
    expect(reasons(i)).toEqual(['non_numeric_value', 'bad_sensor_name']);
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
    const i = data({ sensors: [{ sensor_name: 'a', value: 1 }], location: { latitude, longitude } });
    expect(i.rejected).toEqual([]);
    expect(report(i)?.location).toEqual({ latitude, longitude });
  });

  it('a location alone (no valid sample) is still reported', () => {
    const i = data({ sensors: [{ sensor_name: 'a', value: 'x' }], location: { latitude: 1, longitude: 2 } });
    expect(report(i)).toEqual({
      location: { latitude: 1, longitude: 2 },
      upload_timestamp: RECEIVED.toISOString(),
    });
  });
});

describe('timestamps', () => {
  it('converts +08:00 to the right UTC instant', () => {
    const i = data({
      sensors: [{ sensor_name: 'temperature', value: 25.5, timestamp: '2025-12-19T14:30:00+08:00' }],
    });
    expect(i.readings[0]?.measuredMs).toBe(Date.UTC(2025, 11, 19, 6, 30, 0));
    expect(i.readings[0]?.seq).toBe(Date.UTC(2025, 11, 19, 6, 30, 0));
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
    const first = data(msg, new Date('2025-12-19T06:30:01Z'));
    const replay = data(msg, new Date('2025-12-19T09:00:00Z'));
    expect(replay.readings).toEqual(first.readings);
    expect(first.readings[0]?.seq).toBe(Date.parse('2025-12-19T06:30:00Z'));
  });

  it('a SIMPLE message is keyed by its arrival time, so a later replay gets new keys', () => {
    const msg = '{"temperature":25.5}';
    const first = data(msg, new Date('2025-12-19T06:30:01.000Z'));
    const replay = data(msg, new Date('2025-12-19T06:30:02.000Z'));
    expect(replay.readings[0]?.seq).not.toBe(first.readings[0]?.seq);
    expect(first.readings[0]?.seq).toBe(Date.parse('2025-12-19T06:30:01.000Z'));
  });

  it('seqs are non-negative integers (ms)', () => {
    const i = data(
      '{"sensors":[{"sensor_name":"a","value":1,"timestamp":"2025-12-19T14:30:00.9999+08:00"}]}',
    );
    expect(Number.isInteger(i.readings[0]?.seq)).toBe(true);
    expect(i.readings[0]?.seq).toBe(Date.parse('2025-12-19T06:30:00.999Z'));
  });

  it('samples of different times become different readings, samples of one time one reading', () => {
    const i = data({
      sensors: [
        { sensor_name: 'temperature', value: 20, timestamp: '2025-12-19T06:30:00Z' },
        { sensor_name: 'temperature', value: 21, timestamp: '2025-12-19T06:31:00Z' },
        { sensor_name: 'humidity', value: 50, timestamp: '2025-12-19T06:30:00Z' },
      ],
    });
    expect(i.readings.map((r) => r.values)).toEqual([{ temperature: 20, humidity: 50 }, { temperature: 21 }]);
  });
});

describe('payload text', () => {
  it('tolerates a byte-order mark and whitespace', () => {
    expect(sensors(data('\uFEFF {"a":1}\n'))).toEqual(['a']);
    expect(sensors(data(Buffer.from([0xef, 0xbb, 0xbf, ...Buffer.from('{"b":2}')])))).toEqual(['b']);
    expect(scoped(data('1e999'))).toEqual(['message:schema']);
  });

  it.each([
    ['truncated', '{"temperature": 25.5'],
    ['single quotes', "{'temperature': 25.5}"],
    ['trailing comma', '{"temperature": 25.5,}'],
    ['plain text', 'hello'],
    ['empty', ''],
    ['whitespace only', '  \n'],
  ])('rejects %s as malformed_json', (_label, text) => {
    const i = data(text);
    expect(scoped(i)).toEqual(['message:malformed_json']);
    expect(i.rejected[0]?.detail.length).toBeGreaterThan(0);
  });

  it('oversized: larger than MESSAGE_MAX_BYTES, not even parsed', () => {
    const small = new MessageIntake({
      maxBytes: 1024,
      maxFutureMs: 0,
      derivedValues: false,
      messageLog: 'off',
      logPayloadBytes: 0,
    });
    for (const topic of ['data', 'status', 'heartbeat']) {
      const i = small.take(`devices/${DEVICE}/${topic}`, Buffer.alloc(1025, 0x20), false, RECEIVED.getTime());
      expect(i?.rejected.map((x) => `${x.scope}:${x.reason}`)).toEqual(['message:oversized']);
    }
  });

  it('reports invalid UTF-8 and never throws on random bytes', () => {
    expect(data(Buffer.from([0x7b, 0xff, 0xfe, 0x7d])).rejected).toEqual([
      { scope: 'message', reason: 'malformed_json', detail: 'payload is not valid UTF-8' },
    ]);
    let state = 12345;
    for (let i = 0; i < 200; i++) {
      const bytes = Buffer.alloc(1 + (i % 40));
      for (let j = 0; j < bytes.length; j++) {
        state = (state * 1103515245 + 12345) % 2 ** 31;
        bytes[j] = state & 0xff;
      }
      for (const topic of ['data', 'status', 'heartbeat'] as const)
        expect(() => take(topic, bytes)).not.toThrow();
    }
  });
});

describe('status and heartbeat', () => {
  it('status: the seed example is merged and sets the device status', () => {
    expect(take('status', '{"status": "online", "battery": 95, "signal": "good"}').registry).toEqual([
      { kind: 'online', online: true },
      {
        kind: 'status004',
        status: { status: 'online', battery: 95, signal: 'good' },
        deviceStatus: 'online',
      },
    ]);
  });

  it('status: without a usable `status` string only the merge happens', () => {
    expect(update(take('status', '{"battery": 95}'), 'status004')).toEqual({
      kind: 'status004',
      status: { battery: 95 },
    });
    expect(update(take('status', '{"status": 1}'), 'status004')).toEqual({
      kind: 'status004',
      status: { status: 1 },
    });
    expect(update(take('status', { status: 'x'.repeat(51) }), 'status004')).not.toHaveProperty(
      'deviceStatus',
    );
  });

  it('status: "offline" (any case) clears online', () => {
    expect(update(take('status', { status: 'OFFLINE' }), 'online')).toEqual({
      kind: 'online',
      online: false,
    });
  });

  it('status: not an object or not JSON is rejected', () => {
    expect(scoped(take('status', '"online"'))).toEqual(['message:schema']);
    expect(scoped(take('status', '[1]'))).toEqual(['message:schema']);
    expect(scoped(take('status', 'online'))).toEqual(['message:malformed_json']);
    expect(scoped(take('status', ''))).toEqual(['message:malformed_json']);
    expect(take('status', '[1]').registry).toEqual([]);
  });

  it('heartbeat: the seed example, an empty payload and any object are accepted', () => {
    const accepted = [{ kind: 'heartbeat' }, { kind: 'online', online: true }];
    for (const payload of [
      '{"timestamp": "2025-12-19T14:30:00+08:00"}',
      Buffer.alloc(0),
      ' ',
      '\uFEFF',
      '{"uptime": 12, "timestamp": "garbage"}',
    ]) {
      const i = take('heartbeat', payload);
      expect(i.rejected).toEqual([]);
      expect(i.registry).toEqual(accepted);
    }
  });

  it('heartbeat: non-object JSON and garbage are rejected', () => {
    expect(scoped(take('heartbeat', '42'))).toEqual(['message:schema']);
    expect(scoped(take('heartbeat', '{oops'))).toEqual(['message:malformed_json']);
  });
});
