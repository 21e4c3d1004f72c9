import { createLogger } from '@sensorfleet/shared';
import { describe, expect, it, vi } from 'vitest';
import { LiveHub } from '../src/live/live-hub.js';

/** A socket whose unsent bytes the test sets, as a browser that stops reading makes them grow. */
class FakeSocket {
  readyState = 1;
  bufferedAmount = 0;
  readonly frames: Record<string, unknown>[] = [];
  send(text: string): void {
    this.frames.push(JSON.parse(text) as Record<string, unknown>);
  }
  close(): void {
    this.readyState = 3;
  }
}

const log = createLogger('test', 'silent', { pretty: false });
const batch = (from: number, to: number) =>
  Buffer.from(
    JSON.stringify({
      v: 1,
      readings: Array.from({ length: to - from + 1 }, (_, i) => ({
        seq: from + i,
        ts: new Date(1_800_000_000_000 + (from + i) * 1000).toISOString(),
        values: { temperature: from + i },
      })),
    }),
  );

const TICK = 100;

/** A hub on a clock of the test's own; `nextTick()` moves it past the tick and flushes. */
function hub(maxBufferBytes = 1000) {
  let dropped = 0;
  let clock = 0;
  const h = new LiveHub({
    tickMs: TICK,
    maxBufferBytes,
    log,
    onDropped: (n) => (dropped += n),
    now: () => clock,
  });
  const nextTick = () => {
    clock += TICK;
    h.flush();
  };
  return { h, dropped: () => dropped, nextTick };
}

describe('live hub', () => {
  it('sends the newest reading per device once per tick, however big the replayed backlog', () => {
    const { h } = hub();
    const s = new FakeSocket();
    h.subscribe(h.add(s), '*');
    h.telemetry('d1', batch(1, 1000));
    h.telemetry('d1', batch(1001, 1500));
    h.telemetry('d2', batch(7, 7));
    h.flush();
    const readings = s.frames.filter((f) => f.type === 'reading');
    expect(readings.map((r) => [r.deviceId, r.seq])).toEqual([
      ['d1', 1500],
      ['d2', 7],
    ]);
    // An older batch arriving later (a replay) is not sent back in time.
    h.telemetry('d1', batch(10, 20));
    h.flush();
    expect(s.frames.filter((f) => f.type === 'reading')).toHaveLength(2);
  });

  it("holds a device's next reading until a tick after its last one, keeping only the newest", () => {
    const { h, nextTick } = hub();
    const s = new FakeSocket();
    h.subscribe(h.add(s), '*');
    h.telemetry('d1', batch(1, 1));
    h.flush();
    h.telemetry('d1', batch(2, 2));
    h.telemetry('d1', batch(3, 3));
    h.telemetry('d2', batch(1, 1));
    h.flush(); // d1 sent less than a tick ago: only d2 goes now
    const seqs = () => s.frames.filter((f) => f.type === 'reading').map((f) => [f.deviceId, f.seq]);
    expect(seqs()).toEqual([
      ['d1', 1],
      ['d2', 1],
    ]);
    nextTick();
    expect(seqs().at(-1)).toEqual(['d1', 3]);
    expect(seqs()).toHaveLength(3);
  });

  it('sends a reading the moment it arrives when its device sent none within the tick (no waiting for the tick)', async () => {
    vi.useFakeTimers();
    try {
      const h = new LiveHub({ tickMs: 1000, maxBufferBytes: 1e6, log, now: () => Date.now() });
      await h.start();
      const s = new FakeSocket();
      h.subscribe(h.add(s), '*');
      const seqs = () => s.frames.filter((f) => f.type === 'reading').map((f) => f.seq);
      h.telemetry('d1', batch(1, 1));
      await vi.advanceTimersByTimeAsync(0);
      expect(seqs()).toEqual([1]);
      h.telemetry('d1', batch(2, 2));
      await vi.advanceTimersByTimeAsync(900);
      expect(seqs()).toEqual([1]);
      await vi.advanceTimersByTimeAsync(100);
      expect(seqs()).toEqual([1, 2]);
      // A device's state change is not held back by its readings' pacing.
      h.state('d1', { running: false });
      await vi.advanceTimersByTimeAsync(10);
      expect(s.frames.at(-1)).toMatchObject({ type: 'device', deviceId: 'd1' });
      await h.stop();
    } finally {
      vi.useRealTimers();
    }
  });

  it('sends only the devices a client subscribed to', () => {
    const { h } = hub();
    const a = new FakeSocket();
    const b = new FakeSocket();
    h.subscribe(h.add(a), ['d1']);
    h.add(b); // not subscribed yet: nothing
    h.telemetry('d1', batch(1, 1));
    h.telemetry('d2', batch(1, 1));
    h.online('d2', false);
    h.flush();
    expect(a.frames.filter((f) => f.type !== 'subscribed').map((f) => f.deviceId)).toEqual(['d1']);
    expect(b.frames).toEqual([]);
  });

  it('drops and counts for a client that does not keep up, without holding anything for it, and tells it to refetch', () => {
    const { h, dropped, nextTick } = hub(1000);
    const slow = new FakeSocket();
    const fast = new FakeSocket();
    h.subscribe(h.add(slow), '*');
    h.subscribe(h.add(fast), '*');
    slow.bufferedAmount = 10_000;
    for (let t = 1; t <= 50; t++) {
      h.telemetry('d1', batch(t, t));
      nextTick();
    }
    expect(fast.frames.filter((f) => f.type === 'reading')).toHaveLength(50);
    expect(slow.frames.filter((f) => f.type === 'reading')).toHaveLength(0);
    expect(dropped()).toBe(50);
    slow.bufferedAmount = 0; // it caught up
    h.flush();
    expect(slow.frames.at(-1)).toMatchObject({ type: 'dropped', count: 50 });
  });
});

describe('live hub after a device starts its seqs over', () => {
  it('still shows its new readings (a later measurement time), but not an old replay', () => {
    const { h, nextTick } = hub();
    const s = new FakeSocket();
    h.subscribe(h.add(s), '*');
    h.telemetry('d1', batch(500, 500));
    h.flush();
    const fresh = Buffer.from(
      JSON.stringify({
        v: 1,
        readings: [{ seq: 1, ts: '2099-01-01T00:00:00.000Z', values: { temperature: 1 } }],
      }),
    );
    h.telemetry('d1', fresh);
    h.telemetry('d1', batch(3, 4));
    nextTick();
    expect(s.frames.filter((f) => f.type === 'reading').map((f) => f.seq)).toEqual([500, 1]);
  });

  it('tells every page with a subscription to refetch after a broker reconnect', () => {
    const { h } = hub();
    const watching = new FakeSocket();
    const idle = new FakeSocket();
    h.subscribe(h.add(watching), ['d1']);
    h.add(idle);
    h.resync();
    expect(watching.frames.at(-1)).toMatchObject({ type: 'dropped', count: 0 });
    expect(idle.frames).toEqual([]);
  });
});
