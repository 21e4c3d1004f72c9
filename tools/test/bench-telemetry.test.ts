import { describe, expect, it } from 'vitest';
import { fastTelemetryPayload, telemetryPayload } from '../src/bench/telemetry.js';

describe('fastTelemetryPayload', () => {
  // Bases with and without milliseconds, just before a minute / day / year ends, and far from "now".
  const bases = [
    Date.UTC(2026, 10, 23, 10, 0, 0, 0),
    Date.UTC(2026, 10, 23, 10, 0, 0, 123),
    Date.UTC(2026, 10, 23, 10, 59, 58, 7),
    Date.UTC(2026, 11, 31, 23, 59, 30, 999),
    Date.UTC(1999, 1, 28, 23, 58, 0, 450),
    Date.UTC(2024, 1, 28, 23, 59, 59, 1), // leap day follows
    0,
  ];

  it('is byte-identical to telemetryPayload for every seq of a device, 1 reading per message', () => {
    for (const base of bases) {
      for (let seq = 1; seq <= 4200; seq++) {
        const fast = fastTelemetryPayload(base, seq, 1);
        if (fast !== telemetryPayload(base, seq, 1)) expect(fast, `base ${base} seq ${seq}`).toBe('');
      }
    }
  });

  it('is byte-identical for messages of many sizes, crossing minutes, hours and days', () => {
    for (const base of bases) {
      for (const count of [2, 3, 7, 50, 61, 100, 500]) {
        for (let from = 1; from <= 9000; from += 997) {
          expect(fastTelemetryPayload(base, from, count), `base ${base} from ${from} count ${count}`).toBe(
            telemetryPayload(base, from, count),
          );
        }
      }
    }
  });

  it('stays right when calls alternate between bases (its minute cache)', () => {
    for (let seq = 1; seq <= 500; seq++) {
      for (const base of bases)
        expect(fastTelemetryPayload(base, seq, 2)).toBe(telemetryPayload(base, seq, 2));
    }
  });

  it('is valid JSON of the expected shape', () => {
    const parsed = JSON.parse(fastTelemetryPayload(bases[1]!, 1001, 2)) as unknown;
    expect(parsed).toEqual({
      v: 1,
      readings: [
        {
          seq: 1001,
          ts: '2026-11-23T10:16:41.123Z',
          values: { temperature: 20.01, humidity: 40.1, pressure: 1020.1 },
        },
        {
          seq: 1002,
          ts: '2026-11-23T10:16:42.123Z',
          values: { temperature: 20.02, humidity: 40.2, pressure: 1020.2 },
        },
      ],
    });
  });
});
