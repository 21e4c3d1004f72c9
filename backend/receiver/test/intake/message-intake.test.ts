import { describe, expect, it } from 'vitest';
import { derivedOf, MessageIntake, type IntakeOptions } from '../../src/intake/message-intake.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const opts: IntakeOptions = {
  maxBytes: 2048,
  maxFutureMs: 86_400_000,
  derivedValues: true,
  messageLog: 'all',
  logPayloadBytes: 16,
};
const intake = new MessageIntake(opts);
const take = (topic: string, payload: string | object, retained = false) =>
  intake.take(
    topic,
    Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)),
    retained,
    NOW,
  );
const reasons = (i: ReturnType<typeof take>) => i?.rejected.map((r) => `${r.scope}:${r.reason}`);

describe('MessageIntake: native topics', () => {
  it('telemetry: readings with derived values, ack wanted, payload cut for the log', () => {
    const i = take('devices/d1/telemetry', {
      v: 1,
      readings: [
        { seq: 1, ts: '2026-11-23T11:59:00.000Z', values: { temperature: 30, humidity: 70, pressure: 1000 } },
      ],
    });
    expect(i).toMatchObject({ deviceId: 'd1', kind: 'telemetry', acks: true, retained: false });
    expect(i?.readings[0]?.derived).toEqual({ heat_index: 35.04, dew_point: 23.93 });
    expect(i?.logPayload.length).toBe(16);
    expect(i?.bytes).toBeGreaterThan(16);
  });

  it('telemetry: a probe of its own is an item with nothing to store and the stubs to answer', () => {
    const i = take('devices/d1/telemetry', {
      v: 1,
      readings: [],
      probe: [{ seq: 4, ts: '2026-11-23T11:59:00.000Z' }],
    });
    expect(i).toMatchObject({ kind: 'telemetry', acks: true, readings: [], rejected: [] });
    expect(i?.probe).toEqual([{ seq: 4, measuredMs: Date.parse('2026-11-23T11:59:00.000Z') }]);
    expect(reasons(take('devices/d1/telemetry', { v: 1, readings: [] }))).toEqual(['message:schema']);
  });

  it('derived values can be turned off, and never replace a value the device sent', () => {
    const off = new MessageIntake({ ...opts, derivedValues: false });
    const payload = Buffer.from(
      JSON.stringify({
        v: 1,
        readings: [{ seq: 1, ts: '2026-11-23T11:59:00.000Z', values: { temperature: 30, humidity: 70 } }],
      }),
    );
    expect(off.take('devices/d1/telemetry', payload, false, NOW)?.readings[0]?.derived).toEqual({});
    expect(derivedOf({ temperature: 30, humidity: 70, dew_point: 1 })).toEqual({ heat_index: 35.04 });
  });

  it('online: true/false, anything else rejected; the retained flag is kept', () => {
    expect(take('devices/d1/online', 'true', true)).toMatchObject({
      kind: 'online',
      retained: true,
      registry: [{ kind: 'online', online: true }],
    });
    expect(take('devices/d1/online', ' false\n')?.registry).toEqual([{ kind: 'online', online: false }]);
    expect(reasons(take('devices/d1/online', 'yes'))).toEqual(['message:schema']);
  });

  it('state: a valid ReportedState, dated by its own ts; unknown versions and bad shapes rejected', () => {
    const state = {
      v: 1,
      running: true,
      intervalMs: 1000,
      backlog: 0,
      oldestUnackedTs: null,
      lastSeq: 5,
      dropped: 0,
      version: '1.0',
      uptimeS: 3,
      ts: '2026-11-23T11:00:00.000Z',
    };
    expect(take('devices/d1/state', state)?.registry).toEqual([
      { kind: 'state', state, at: Date.parse(state.ts) },
    ]);
    expect(reasons(take('devices/d1/state', { ...state, v: 2 }))).toEqual(['message:unknown_version']);
    expect(reasons(take('devices/d1/state', { ...state, running: 'yes' }))).toEqual(['message:schema']);
    expect(reasons(take('devices/d1/state', '{'))).toEqual(['message:malformed_json']);
    // The revision (optional) travels with the update; it must be a positive integer.
    expect(take('devices/d1/state', { ...state, rev: 1_764_000_000_123 })?.registry).toEqual([
      {
        kind: 'state',
        state: { ...state, rev: 1_764_000_000_123 },
        at: Date.parse(state.ts),
        rev: 1_764_000_000_123,
      },
    ]);
    expect(reasons(take('devices/d1/state', { ...state, rev: 1.5 }))).toEqual(['message:schema']);
    expect(reasons(take('devices/d1/state', { ...state, rev: '7' }))).toEqual(['message:schema']);
  });

  it('ignores topics that are not ours', () => {
    expect(take('devices/d1/ack', {})).toBeUndefined();
    expect(take('devices/bad id/telemetry', {})).toBeUndefined();
    expect(take('other/d1/telemetry', {})).toBeUndefined();
  });

  it('oversized payloads are rejected on every topic', () => {
    const big = 'x'.repeat(3000);
    for (const t of ['telemetry', 'state', 'data', 'status', 'heartbeat']) {
      expect(reasons(take(`devices/d1/${t}`, big))).toEqual(['message:oversized']);
    }
  });
});

describe('MessageIntake: source 004 topics', () => {
  it('data, FULL format: samples grouped by time into readings with derived values, report and status', () => {
    const i = take('devices/e1/data', {
      sensors: [
        { sensor_name: 'temperature', value: 25.5, unit: '°C', timestamp: '2025-12-19T14:30:00+08:00' },
        { sensor_name: 'humidity', value: 60, unit: '%' },
      ],
      status: { rssi: -50 },
      location: { latitude: 39.9, longitude: 116.4 },
      timestamp: '2025-12-19T14:30:00+08:00',
    });
    const ms = Date.UTC(2025, 11, 19, 6, 30);
    expect(i).toMatchObject({ kind: 'data', acks: false, rejected: [] });
    expect(i?.readings).toEqual([
      {
        seq: ms,
        measuredMs: ms,
        values: { temperature: 25.5, humidity: 60 },
        derived: { heat_index: 25.59, dew_point: 17.16 },
      },
    ]);
    expect(i?.registry).toEqual([
      { kind: 'online', online: true },
      {
        kind: 'report004',
        report: {
          sensors: {
            temperature: { value: 25.5, unit: '°C', timestamp: '2025-12-19T06:30:00.000Z' },
            humidity: { value: 60, unit: '%', timestamp: '2025-12-19T06:30:00.000Z' },
          },
          location: { latitude: 39.9, longitude: 116.4 },
          upload_timestamp: new Date(NOW).toISOString(),
        },
      },
      { kind: 'status004', status: { rssi: -50 } },
    ]);
  });

  it('data, SIMPLE format: measured when received', () => {
    const i = take('devices/e1/data', { temperature: 25.5, humidity: 60, light: 850 });
    expect(i?.readings).toEqual([
      {
        seq: NOW,
        measuredMs: NOW,
        values: { temperature: 25.5, humidity: 60, light: 850 },
        derived: { heat_index: 25.59, dew_point: 17.16 },
      },
    ]);
  });

  it('data: validation rules of 004 plus plausibility; the valid samples are kept', () => {
    const i = take(
      'devices/e1/data',
      '{"temperature": 25.5, "Humidity": 60, "pressure": "1000", "light": -5, "co2": NaN, "humidity": 101}',
    );
    expect(i?.readings[0]?.values).toEqual({ temperature: 25.5 });
    expect(reasons(i)).toEqual([
      'reading:bad_sensor_name',
      'reading:non_numeric_value',
      'reading:non_finite_value',
      'reading:out_of_range',
      'reading:out_of_range',
    ]);
  });

  it('data rejected as a whole: not JSON, not an object, nothing in it', () => {
    expect(reasons(take('devices/e1/data', 'hello'))).toEqual(['message:malformed_json']);
    expect(reasons(take('devices/e1/data', [1]))).toEqual(['message:schema']);
    expect(reasons(take('devices/e1/data', {}))).toEqual(['message:empty']);
    expect(take('devices/e1/data', {})?.registry).toEqual([]);
  });

  it('data: a bad location is dropped as a field, the samples stay', () => {
    const i = take('devices/e1/data', {
      sensors: [{ sensor_name: 'light', value: 3 }],
      location: { latitude: 91, longitude: 0 },
    });
    expect(reasons(i)).toEqual(['field:bad_location']);
    expect(i?.readings).toHaveLength(1);
  });

  it('status: merged into the report, its status string becomes the device status; offline clears online', () => {
    expect(take('devices/e1/status', { status: 'online', battery: 95 })?.registry).toEqual([
      { kind: 'online', online: true },
      { kind: 'status004', status: { status: 'online', battery: 95 }, deviceStatus: 'online' },
    ]);
    expect(take('devices/e1/status', { status: 'offline' })?.registry[0]).toEqual({
      kind: 'online',
      online: false,
    });
    expect(reasons(take('devices/e1/status', '[]'))).toEqual(['message:schema']);
  });

  it('heartbeat: any object or an empty payload', () => {
    expect(take('devices/e1/heartbeat', '')?.registry).toEqual([
      { kind: 'heartbeat' },
      { kind: 'online', online: true },
    ]);
    expect(take('devices/e1/heartbeat', { timestamp: 'whenever' })?.rejected).toEqual([]);
    expect(reasons(take('devices/e1/heartbeat', '42'))).toEqual(['message:schema']);
  });
});

describe('MessageIntake: one vocabulary for native and 004 readings', () => {
  it.each([
    ['bad_sensor_name', 'Temperature', 1],
    ['non_numeric_value', 'temperature', '21'],
    ['out_of_range', 'humidity', 120],
  ])('%s is the same rule on telemetry and on 004 data', (reason, name, value) => {
    const native = take('devices/d1/telemetry', {
      v: 1,
      readings: [{ seq: 1, ts: '2026-11-23T11:59:00.000Z', values: { [name]: value } }],
    });
    const compat = take('devices/e1/data', { [name]: value });
    expect(native?.rejected.map((r) => `${r.scope}:${r.reason}`)).toEqual([`reading:${reason}`]);
    expect(compat?.rejected.map((r) => `${r.scope}:${r.reason}`)).toEqual([`reading:${reason}`]);
  });

  it('a reading measured before 2000 is a device clock never set, on either topic', () => {
    const native = take('devices/d1/telemetry', {
      v: 1,
      readings: [{ seq: 1, ts: '1999-12-31T00:00:00.000Z', values: { temperature: 20 } }],
    });
    const compat = take('devices/e1/data', {
      sensors: [{ sensor_name: 'temperature', value: 20, timestamp: '1999-12-31T00:00:00Z' }],
    });
    for (const i of [native, compat]) {
      expect(i?.rejected).toEqual([
        expect.objectContaining({ reason: 'bad_timestamp', detail: expect.stringMatching(/before 2000/) }),
      ]);
    }
  });
});
