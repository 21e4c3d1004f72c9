import { describe, expect, it } from 'vitest';
import { latestTsBound } from '../src/live/latest-ts-bound.js';

const ms = (iso: string) => Date.parse(iso);
const bound = (text: string) => latestTsBound(Buffer.from(text));

describe('latest measurement time of a telemetry payload, unparsed', () => {
  it('is the latest ts of its readings, in whatever order they come', () => {
    const body = JSON.stringify({
      v: 1,
      readings: [
        { seq: 1, ts: '2026-01-01T00:00:02.000Z', values: { t: 1 } },
        { seq: 2, ts: '2026-01-01T00:00:09.000Z', values: { t: 1 } },
        { seq: 3, ts: '2026-01-01T00:00:05.000Z', values: { t: 1 } },
      ],
    });
    expect(bound(body)).toBe(ms('2026-01-01T00:00:09.000Z'));
  });

  it('sees a ts written with spaces around the colon, and one in a probe (an upper bound may be higher)', () => {
    expect(bound('{"v":1,"readings":[{"seq":1, "ts" :\n "2026-01-01T00:00:03Z","values":{"t":1}}]}')).toBe(
      ms('2026-01-01T00:00:03Z'),
    );
    expect(
      bound(
        '{"v":1,"readings":[{"seq":1,"ts":"2026-01-01T00:00:03Z","values":{"t":1}}],' +
          '"probe":[{"seq":9,"ts":"2027-01-01T00:00:00Z"}]}',
      ),
    ).toBe(ms('2027-01-01T00:00:00Z'));
  });

  it('is -Infinity without any time, and leaves out a ts that is not a string or not a time', () => {
    expect(bound('{"v":1,"readings":[]}')).toBe(Number.NEGATIVE_INFINITY);
    expect(bound('{"v":1,"readings":[{"seq":1,"ts":5},{"seq":2,"ts":"soon"}],"x":["ts"]}')).toBe(
      Number.NEGATIVE_INFINITY,
    );
  });

  it('gives up on escapes (a key or a time could be spelled differently) and on an unterminated string', () => {
    // "\u0074s" is the key ts; a scan for the bytes "ts" would miss this reading.
    expect(bound('{"v":1,"readings":[{"seq":1,"\\u0074s":"2099-01-01T00:00:00Z","values":{"t":1}}]}')).toBe(
      undefined,
    );
    expect(bound('{"v":1,"readings":[{"seq":1,"ts":"2099-01-01T00:00:00Z')).toBe(undefined);
  });

  it('is never below the time of the reading the hub would pick, for valid and odd payloads alike', () => {
    const payloads = [
      '{"v":1,"readings":[{"seq":1,"ts":"2026-01-01T00:00:00Z","values":{"ts":"2099-01-01T00:00:00Z"}}]}',
      '{"v":1,"readings":[{"seq":5,"ts":"2026-01-01T00:00:00Z","ts":"2025-01-01T00:00:00Z","values":{"t":1}}]}',
      '{"v":1,"readings":[{"seq":2,"ts":"2026-06-01T00:00:00+02:00","values":{"t":1}},{"seq":1,"ts":"2026-06-01T00:00:00Z","values":{"t":1}}]}',
      '{"v":1,"readings":[{"ts":"2026-01-01T00:00:00Z","seq":1,"values":{}}],"ts":"x"}',
    ];
    for (const p of payloads) {
      const body = JSON.parse(p) as { readings: { ts: string }[] };
      const latest = Math.max(...body.readings.map((r) => ms(r.ts)));
      expect(bound(p)).toBeGreaterThanOrEqual(latest);
    }
  });
});
