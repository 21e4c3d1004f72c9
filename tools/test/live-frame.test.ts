import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLiveFrame, readingHead } from '../src/bench/live-frame.js';

/** A reading frame as the web admin's live hub writes it. */
const hubFrame = (deviceId: string, seq: number, ts: string, values: Record<string, number>) =>
  JSON.stringify({ type: 'reading', deviceId, seq, ts, values });

/** What the web clients read from a frame by parsing it whole (their way before the fast path). */
function parsedWhole(text: string) {
  const m = JSON.parse(text) as { type?: unknown; deviceId?: unknown; ts?: unknown };
  if (m.type === 'dropped') return { type: 'dropped' };
  if (m.type === 'reading' && typeof m.ts === 'string' && typeof m.deviceId === 'string')
    return { type: 'reading', deviceId: m.deviceId, ts: m.ts };
  return { type: 'other' };
}

describe('parseLiveFrame', () => {
  it('reads the hub’s reading frames without parsing them whole', () => {
    const frame = hubFrame('fleet-0001', 42, '2026-12-04T18:00:00.123Z', { temperature: 21.5, humidity: 40 });
    expect(readingHead(frame)).toEqual({
      type: 'reading',
      deviceId: 'fleet-0001',
      ts: '2026-12-04T18:00:00.123Z',
    });
  });

  it('reads every frame as a whole JSON.parse does, whatever the ids and timestamps hold', () => {
    const values = fc.dictionary(fc.string(), fc.double({ noNaN: true, noDefaultInfinity: true }));
    fc.assert(
      fc.property(fc.string(), fc.integer(), fc.string(), values, (deviceId, seq, ts, v) => {
        const frame = hubFrame(deviceId, seq, ts, v);
        expect(parseLiveFrame(frame)).toEqual(parsedWhole(frame));
      }),
    );
  });

  it('falls back to JSON.parse for other frames and other field orders', () => {
    const frames = [
      JSON.stringify({ type: 'dropped', count: 3, message: 'refetch' }),
      JSON.stringify({ type: 'device', deviceId: 'd1', lastSeenAt: 'x' }),
      JSON.stringify({ deviceId: 'd1', type: 'reading', ts: '2026-12-04T18:00:00.000Z', seq: 1 }),
      JSON.stringify({ type: 'reading', deviceId: 'a"b\\c', seq: 1, ts: '2026-12-04T18:00:00.000Z' }),
      JSON.stringify({ type: 'reading', deviceId: 'd1', seq: 1 }),
    ];
    for (const f of frames) expect(parseLiveFrame(f)).toEqual(parsedWhole(f));
    expect(parseLiveFrame('not json')).toBeUndefined();
  });
});
