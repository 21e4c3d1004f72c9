import { describe, expect, it } from 'vitest';
import {
  Ack,
  CommandArgs,
  CommandEnvelope,
  CommandResult,
  OnlineFlag,
  Reading,
  ReportedState,
  TelemetryBatch,
  TelemetryEnvelope,
  createDecoder,
} from '../src/index.js';

const reading = { seq: 42, ts: '2026-11-23T10:00:00.000Z', values: { temperature: 21.53, humidity: 45.2 } };

describe('Reading', () => {
  const d = createDecoder(Reading);
  it('accepts the example of docs/design.md', () => {
    expect(d.check({ ...reading, values: { ...reading.values, pressure: 1013.25 } }).ok).toBe(true);
  });
  it.each([
    ['seq 0', { ...reading, seq: 0 }],
    ['fractional seq', { ...reading, seq: 1.5 }],
    ['seq as string', { ...reading, seq: '42' }],
    ['local time without Z', { ...reading, ts: '2026-11-23T10:00:00.000' }],
    ['not a date', { ...reading, ts: 'yesterday' }],
    ['no values', { ...reading, values: {} }],
    ['value as string', { ...reading, values: { temperature: '21.5' } }],
    ['Infinity', { ...reading, values: { temperature: Infinity } }],
    ['NaN', { ...reading, values: { temperature: NaN } }],
    ['upper-case sensor', { ...reading, values: { Temperature: 1 } }],
    ['sensor starting with digit', { ...reading, values: { '1temp': 1 } }],
    ['sensor name of 51 chars', { ...reading, values: { ['a'.repeat(51)]: 1 } }],
    ['unknown field', { ...reading, extra: 1 }],
  ])('rejects %s', (_name, value) => {
    const r = d.check(value);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe('schema');
  });
  it('accepts edge values: 50-char sensor name, negative and huge finite numbers, max safe seq', () => {
    const r = d.check({
      seq: Number.MAX_SAFE_INTEGER,
      ts: '2026-01-01T00:00:00Z',
      values: { ['a'.repeat(50)]: -1.7976931348623157e308, b_2: 0 },
    });
    expect(r.ok).toBe(true);
  });
});

describe('TelemetryBatch', () => {
  const d = createDecoder(TelemetryBatch, { maxBytes: 1000 });
  it('decodes a JSON batch', () => {
    const r = d.decode(Buffer.from(JSON.stringify({ v: 1, readings: [reading] })));
    expect(r).toEqual({ ok: true, value: { v: 1, readings: [reading] } });
  });
  it('names the reason: malformed JSON, oversized, unknown version, empty', () => {
    expect(d.decode('{"v":1,')).toMatchObject({ ok: false, reason: 'malformed_json' });
    expect(d.decode('x'.repeat(1001))).toMatchObject({ ok: false, reason: 'oversized' });
    expect(d.decode(JSON.stringify({ v: 2, readings: [reading] }))).toMatchObject({
      ok: false,
      reason: 'schema',
    });
    expect(d.decode(JSON.stringify({ v: 1, readings: [] }))).toMatchObject({ ok: false, reason: 'schema' });
    expect(d.decode(JSON.stringify({ v: 1, readings: [], probe: [] }))).toMatchObject({ ok: false });
  });
  it('decodes a probe of its own: no readings, at least one stub', () => {
    const probe = [{ seq: 3, ts: reading.ts }];
    expect(d.decode(JSON.stringify({ v: 1, readings: [], probe }))).toEqual({
      ok: true,
      value: { v: 1, readings: [], probe },
    });
    const env = createDecoder(TelemetryEnvelope);
    expect(env.check({ v: 1, readings: [], probe }).ok).toBe(true);
    expect(env.check({ v: 1, readings: [] }).ok).toBe(false);
  });
  it('error text points at the bad field', () => {
    const r = d.check({ v: 1, readings: [{ ...reading, seq: -1 }] });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error).toContain('/readings/0/seq');
  });
  it('envelope check lets the receiver validate readings one by one', () => {
    const env = createDecoder(TelemetryEnvelope);
    expect(env.check({ v: 1, readings: [reading, { seq: 'bad' }] }).ok).toBe(true);
    expect(env.check({ v: 1, readings: 'nope' }).ok).toBe(false);
  });
});

describe('Ack', () => {
  const d = createDecoder(Ack);
  it('accepts ranges and rejected readings', () => {
    expect(d.check({ v: 1, ranges: [[1, 50]], rejected: [{ seq: 51, reason: 'schema' }] }).ok).toBe(true);
    expect(d.check({ v: 1, ranges: [] }).ok).toBe(true);
  });
  it('rejects malformed ranges', () => {
    expect(d.check({ v: 1, ranges: [[1]] }).ok).toBe(false);
    expect(d.check({ v: 1, ranges: [[0, 3]] }).ok).toBe(false);
    expect(d.check({ v: 1, ranges: [[1, 2, 3]] }).ok).toBe(false);
  });
});

describe('Commands', () => {
  const envelope = createDecoder(CommandEnvelope);
  const setInterval = createDecoder(CommandArgs.set_interval);
  it('accepts a command with expiry and its arguments', () => {
    const cmd = {
      id: 'c0ffee-1',
      command: 'set_interval',
      intervalMs: 5000,
      expiresAt: '2026-11-23T10:00:00.000Z',
    };
    expect(envelope.check(cmd).ok).toBe(true);
    expect(setInterval.check({ intervalMs: 5000 }).ok).toBe(true);
  });
  it('rejects a command without id, and interval outside 100 … 86 400 000 ms', () => {
    expect(envelope.check({ command: 'start' }).ok).toBe(false);
    expect(envelope.check({ id: 'a/b', command: 'start' }).ok).toBe(false);
    expect(setInterval.check({ intervalMs: 99 }).ok).toBe(false);
    expect(setInterval.check({ intervalMs: 86_400_001 }).ok).toBe(false);
    expect(setInterval.check({ intervalMs: 100 }).ok).toBe(true);
    expect(setInterval.check({ intervalMs: 86_400_000 }).ok).toBe(true);
    expect(setInterval.check({ intervalMs: '5000' }).ok).toBe(false);
  });
  it('results are ok with result, or not ok with error', () => {
    const d = createDecoder(CommandResult);
    expect(d.check({ id: 'x', ok: true, result: { pong: true } }).ok).toBe(true);
    expect(d.check({ id: 'x', ok: false, error: 'unknown command "fly"' }).ok).toBe(true);
    expect(d.check({ id: 'x', ok: false }).ok).toBe(false);
  });
});

describe('ReportedState and online flag', () => {
  it('accepts a device state', () => {
    const d = createDecoder(ReportedState);
    const state = {
      v: 1,
      running: true,
      intervalMs: 1000,
      backlog: 0,
      oldestUnackedTs: null,
      lastSeq: 10,
      dropped: 0,
      version: '0.1.0',
      uptimeS: 12.5,
      ts: '2026-11-23T10:00:00.000Z',
      sensor: { status: 'ok', driver: 'simulated' },
    };
    expect(d.check(state).ok).toBe(true);
    expect(d.check({ ...state, backlog: -1 }).ok).toBe(false);
  });
  it('online is a JSON boolean', () => {
    const d = createDecoder(OnlineFlag);
    expect(d.decode('true')).toEqual({ ok: true, value: true });
    expect(d.decode('false')).toEqual({ ok: true, value: false });
    expect(d.decode('"yes"').ok).toBe(false);
  });
});
