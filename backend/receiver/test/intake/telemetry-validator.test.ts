import { describe, expect, it } from 'vitest';
import { createTelemetryValidator, type ValidatedTelemetry } from '../../src/intake/telemetry-validator.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const validate = createTelemetryValidator({ maxBytes: 4096, maxFutureMs: 60_000 });
const ts = (s = 0) => new Date(NOW - 60_000 + s * 1000).toISOString();
const run = (payload: unknown): ValidatedTelemetry =>
  validate(Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)), NOW);
const one = (r: Record<string, unknown>) => run({ v: 1, readings: [r] });
const reasonOf = (v: ValidatedTelemetry) => (v.ok ? v.rejected.map((r) => r.reason) : v.rejection.reason);

describe('telemetry validation: the message as a whole', () => {
  it('accepts a valid batch and keeps its readings in order', () => {
    const v = run({
      v: 1,
      readings: [1, 2].map((seq) => ({ seq, ts: ts(seq), values: { temperature: 21.5 } })),
    });
    expect(v).toEqual({
      ok: true,
      rejected: [],
      readings: [
        { seq: 1, measuredMs: Date.parse(ts(1)), values: { temperature: 21.5 }, derived: {} },
        { seq: 2, measuredMs: Date.parse(ts(2)), values: { temperature: 21.5 }, derived: {} },
      ],
    });
  });

  it('oversized: a payload over MESSAGE_MAX_BYTES is rejected unread', () => {
    expect(reasonOf(run('x'.repeat(4097)))).toBe('oversized');
  });

  it('malformed_json: not JSON at all', () => {
    expect(reasonOf(run('{"v":1,'))).toBe('malformed_json');
  });

  it('unknown_version: v missing or not 1', () => {
    expect(reasonOf(run({ v: 2, readings: [] }))).toBe('unknown_version');
    expect(reasonOf(run({ readings: [] }))).toBe('unknown_version');
  });

  it('schema: not an object, or readings not a non-empty array of at most 1000 (empty only with a probe)', () => {
    expect(reasonOf(run('[1,2]'))).toBe('schema');
    expect(reasonOf(run({ v: 1, readings: [] }))).toBe('schema');
    expect(reasonOf(run({ v: 1, readings: [], probe: [] }))).toBe('schema');
    expect(reasonOf(run({ v: 1, probe: [{ seq: 3, ts: ts(3) }] }))).toBe('schema');
    expect(reasonOf(run({ v: 1, readings: {} }))).toBe('schema');
    const big = createTelemetryValidator({ maxBytes: 1e9, maxFutureMs: 0 });
    const readings = Array.from({ length: 1001 }, (_, i) => ({ seq: i + 1, ts: ts(), values: { a: 1 } }));
    const v = big(Buffer.from(JSON.stringify({ v: 1, readings })), NOW);
    expect(v.ok ? 'ok' : v.rejection.reason).toBe('schema');
  });
});

describe('telemetry validation: one reading at a time', () => {
  it.each([
    ['bad_seq', { seq: 0, ts: ts(), values: { a: 1 } }],
    ['bad_seq', { seq: 1.5, ts: ts(), values: { a: 1 } }],
    ['bad_seq', { ts: ts(), values: { a: 1 } }],
    ['bad_timestamp', { seq: 1, ts: '2026-11-23 10:00:00', values: { a: 1 } }],
    ['bad_timestamp', { seq: 1, ts: '2026-02-30T10:00:00.000Z', values: { a: 1 } }],
    ['bad_timestamp', { seq: 1, ts: '2025-04-31T10:00:00.000Z', values: { a: 1 } }],
    ['bad_timestamp', { seq: 1, ts: '2025-02-29T10:00:00.000Z', values: { a: 1 } }],
    ['bad_timestamp', { seq: 1, ts: '2026-01-01T24:00:00.000Z', values: { a: 1 } }],
    ['bad_timestamp', { seq: 1, ts: '2026-01-01T10:60:00.000Z', values: { a: 1 } }],
    ['bad_timestamp', { seq: 1, ts: '2026-13-01T10:00:00.000Z', values: { a: 1 } }],
    ['bad_timestamp', { seq: 1, ts: '1970-01-01T00:00:10.000Z', values: { a: 1 } }],
    ['bad_timestamp', { seq: 1, ts: new Date(NOW + 120_000).toISOString(), values: { a: 1 } }],
    ['schema', { seq: 1, ts: ts(), values: {} }],
    ['schema', { seq: 1, ts: ts(), values: [1] }],
    ['schema', { seq: 1, ts: ts(), values: { a: 1 }, extra: true }],
    ['bad_sensor_name', { seq: 1, ts: ts(), values: { Temperature: 1 } }],
    ['bad_sensor_name', { seq: 1, ts: ts(), values: { '1st': 1 } }],
    ['bad_sensor_name', { seq: 1, ts: ts(), values: { ['a'.repeat(51)]: 1 } }],
    ['non_numeric_value', { seq: 1, ts: ts(), values: { temperature: '21.5' } }],
    ['non_numeric_value', { seq: 1, ts: ts(), values: { temperature: null } }],
    ['non_numeric_value', { seq: 1, ts: ts(), values: { temperature: true } }],
    ['out_of_range', { seq: 1, ts: ts(), values: { temperature: 90.01 } }],
    ['out_of_range', { seq: 1, ts: ts(), values: { temperature: -91 } }],
    ['out_of_range', { seq: 1, ts: ts(), values: { humidity: 100.5 } }],
    ['out_of_range', { seq: 1, ts: ts(), values: { humidity: -0.1 } }],
    ['out_of_range', { seq: 1, ts: ts(), values: { pressure: 101325 } }],
    ['out_of_range', { seq: 1, ts: ts(), values: { pressure: 299 } }],
  ])('%s: %j', (reason, r) => {
    const v = one(r);
    expect(v.ok && v.readings).toEqual([]);
    expect(reasonOf(v)).toEqual([reason]);
  });

  it('names the seq of a rejected reading so the ack can reject it, and keeps the others', () => {
    const v = run({
      v: 1,
      readings: [
        { seq: 1, ts: ts(1), values: { temperature: 21 } },
        { seq: 2, ts: ts(2), values: { temperature: 150 } },
        { seq: 3, ts: ts(3), values: { temperature: 22 } },
      ],
    });
    expect(v.ok && v.readings.map((r) => r.seq)).toEqual([1, 3]);
    expect(v.ok && v.rejected).toEqual([
      expect.objectContaining({
        scope: 'reading',
        seq: 2,
        reason: 'out_of_range',
        detail: expect.stringMatching(/temperature 150/),
      }),
    ]);
  });

  it('non_finite_value: NaN, Infinity and -Infinity tokens (Python json.dumps) and 1e999', () => {
    const text =
      `{"v":1,"readings":[{"seq":1,"ts":"${ts(1)}","values":{"temperature":NaN}},` +
      `{"seq":2,"ts":"${ts(2)}","values":{"temperature":Infinity}},` +
      `{"seq":3,"ts":"${ts(3)}","values":{"temperature":-Infinity}},` +
      `{"seq":4,"ts":"${ts(4)}","values":{"temperature":1e999}},` +
      `{"seq":5,"ts":"${ts(5)}","values":{"temperature":20,"note_nan":1}}]}`;
    const v = run(text);
    expect(reasonOf(v)).toEqual([
      'non_finite_value',
      'non_finite_value',
      'non_finite_value',
      'non_finite_value',
    ]);
    expect(v.ok && v.readings.map((r) => r.seq)).toEqual([5]);
  });

  it('accepts any finite number for sensor names without a plausibility range', () => {
    const v = one({ seq: 1, ts: ts(), values: { counter: 1e12, sine: -1e-9 } });
    expect(v.ok && v.readings).toHaveLength(1);
  });

  it('accepts the range limits themselves', () => {
    const v = one({ seq: 1, ts: ts(), values: { temperature: -90, humidity: 100, pressure: 1100 } });
    expect(v.ok && v.readings).toHaveLength(1);
  });

  it('collapses an identical repeat of a seq and rejects a different one as duplicate_seq', () => {
    const r = { seq: 7, ts: ts(7), values: { temperature: 21 } };
    const v = run({ v: 1, readings: [r, r, { ...r, values: { temperature: 22 } }] });
    expect(v.ok && v.readings).toHaveLength(1);
    expect(reasonOf(v)).toEqual(['duplicate_seq']);
  });

  it('a reading without a usable seq is rejected without one; the rest is still stored', () => {
    const v = run({ v: 1, readings: ['garbage', { seq: 2, ts: ts(2), values: { a: 1 } }] });
    expect(v.ok && v.rejected).toEqual([expect.objectContaining({ reason: 'schema' })]);
    expect(v.ok && v.rejected[0]?.seq).toBeUndefined();
    expect(v.ok && v.readings.map((r) => r.seq)).toEqual([2]);
  });
});

describe('telemetry validation: the probe of dropped readings', () => {
  const r1 = { seq: 9, ts: ts(9), values: { temperature: 21.5 } };
  it('takes a probe of {seq, ts} stubs along with the readings', () => {
    const v = run({ v: 1, readings: [r1], probe: [{ seq: 3, ts: ts(3) }] });
    expect(v).toMatchObject({ ok: true, rejected: [], probe: [{ seq: 3, measuredMs: Date.parse(ts(3)) }] });
    if (v.ok) expect(v.readings.map((r) => r.seq)).toEqual([9]);
  });

  it('takes a probe of its own: no readings, the stubs to answer', () => {
    const v = run({ v: 1, readings: [], probe: [{ seq: 3, ts: ts(3) }] });
    expect(v).toEqual({
      ok: true,
      readings: [],
      rejected: [],
      probe: [{ seq: 3, measuredMs: Date.parse(ts(3)) }],
    });
  });

  it('a probe of its own that is bad: bad_probe, nothing to store or answer', () => {
    const v = run({ v: 1, readings: [], probe: [{ seq: 0, ts: ts(3) }] });
    expect(v).toMatchObject({ ok: true, readings: [], rejected: [{ scope: 'field', reason: 'bad_probe' }] });
    expect(v.ok && v.probe).toBeUndefined();
  });

  it.each([
    ['not an array', { seq: 3, ts: ts(3) }, '/probe must be an array'],
    ['too many stubs', Array.from({ length: 1001 }, (_, i) => ({ seq: i + 1, ts: ts(0) })), 'at most 1000'],
    ['a bad seq', [{ seq: 0, ts: ts(3) }], '/probe/0/seq must be an integer ≥ 1'],
    ['a bad ts', [{ seq: 3, ts: 'yesterday' }], '/probe/0/ts must be ISO-8601 UTC'],
    ['values in a stub', [{ seq: 3, ts: ts(3), values: { temperature: 1 } }], '/probe/0 must be {seq, ts}'],
  ])(
    'bad_probe: %s is rejected with its reason, not answered, and the readings are still taken',
    (_, probe, detail) => {
      const big = createTelemetryValidator({ maxBytes: 1_000_000, maxFutureMs: 60_000 });
      const v = big(Buffer.from(JSON.stringify({ v: 1, readings: [r1], probe })), NOW);
      expect(v.ok).toBe(true);
      if (!v.ok) return;
      expect(v.probe).toBeUndefined();
      expect(v.readings.map((r) => r.seq)).toEqual([9]);
      expect(v.rejected).toHaveLength(1);
      expect(v.rejected[0]).toMatchObject({ scope: 'field', reason: 'bad_probe' });
      expect(v.rejected[0]!.detail).toContain(detail);
    },
  );
});
