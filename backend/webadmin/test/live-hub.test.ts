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

describe('live hub on the wire', () => {
  /** Records how frames are handed to the socket and how the stream under it is corked. */
  class WireSocket extends FakeSocket {
    readonly kinds: string[] = [];
    readonly stream = {
      events: [] as string[],
      cork: () => this.stream.events.push('cork'),
      uncork: () => this.stream.events.push('uncork'),
    };
    override send(data: string | Buffer, options?: { binary: boolean }): void {
      this.kinds.push(`${Buffer.isBuffer(data) ? 'bytes' : 'string'} binary=${options?.binary}`);
      this.stream.events.push('send');
      super.send(String(data));
    }
  }

  it("encodes each message once, sends it as a text frame, and writes a flush's frames in one go per client", () => {
    let sentCount = 0;
    const sentCalls: number[] = [];
    const h = new LiveHub({
      tickMs: TICK,
      maxBufferBytes: 1000,
      log,
      now: () => 0,
      onSent: (n) => {
        sentCalls.push(n);
        sentCount += n;
      },
    });
    const a = new WireSocket();
    const b = new WireSocket();
    h.subscribe(h.add(a, a.stream), '*');
    h.subscribe(h.add(b, b.stream), '*');
    for (const s of [a, b]) s.stream.events.length = 0;
    h.telemetry('d1', batch(1, 1));
    h.telemetry('d2', batch(1, 1));
    h.online('d3', true);
    h.flush();
    for (const s of [a, b]) {
      expect(s.stream.events).toEqual(['cork', 'send', 'send', 'send', 'uncork']);
      expect(new Set(s.kinds)).toEqual(new Set(['bytes binary=false']));
    }
    expect(a.frames.slice(1)).toEqual(b.frames.slice(1));
    // The metric is told once per flush, not once per frame.
    expect(sentCalls.at(-1)).toBe(6);
    expect(sentCount).toBe(8);
  });

  it('sends a whole flush to a client that kept up, though its frames queue up while the stream is corked', () => {
    const { h, dropped } = hub(1000);
    const s = new WireSocket();
    h.subscribe(h.add(s, s.stream), '*');
    const send = s.send.bind(s);
    s.send = (data, options) => {
      s.bufferedAmount += 600; // corked: nothing leaves before the flush ends
      send(data, options);
    };
    for (let d = 1; d <= 5; d++) h.telemetry(`d${d}`, batch(1, 1));
    h.flush();
    expect(s.frames.filter((f) => f.type === 'reading')).toHaveLength(5);
    expect(dropped()).toBe(0);
  });

  it('drops a whole flush for a client that was behind when it began, counting each of its messages', () => {
    const { h, dropped } = hub(1000);
    const slow = new WireSocket();
    h.subscribe(h.add(slow, slow.stream), '*');
    slow.bufferedAmount = 5000;
    h.telemetry('d1', batch(1, 1));
    h.telemetry('d2', batch(1, 1));
    h.flush();
    expect(slow.frames.filter((f) => f.type === 'reading')).toEqual([]);
    expect(dropped()).toBe(2);
    slow.bufferedAmount = 0;
    h.flush();
    expect(slow.frames.at(-1)).toMatchObject({ type: 'dropped', count: 2 });
  });
});

describe('live hub and batches that cannot change the view', () => {
  const one = (seq: number, ts: string) =>
    Buffer.from(JSON.stringify({ v: 1, readings: [{ seq, ts, values: { temperature: seq } }] }));
  const T = '2026-05-01T12:00:00.000Z';
  const later = (s: number) => new Date(Date.parse(T) + s * 1000).toISOString();

  it('does not parse a replayed batch measured before the reading already shown (or pending)', () => {
    const { h } = hub();
    h.subscribe(h.add(new FakeSocket()), '*');
    const backlog = Buffer.from(
      JSON.stringify({
        v: 1,
        readings: Array.from({ length: 500 }, (_, i) => ({
          seq: i + 1,
          ts: later(-3600 + i),
          values: { temperature: i },
        })),
      }),
    );
    h.telemetry('d1', one(5000, T));
    h.flush();
    h.telemetry('d1', one(5001, later(1))); // pending: d1 sent one less than a tick ago
    const parse = vi.spyOn(JSON, 'parse');
    try {
      h.telemetry('d1', backlog);
      expect(parse).not.toHaveBeenCalled();
      h.telemetry('d1', one(5002, later(2)));
      expect(parse).toHaveBeenCalledTimes(1);
    } finally {
      parse.mockRestore();
    }
  });

  it('still shows the same time with a higher seq, and handles a clock step back and malformed batches as before', () => {
    const { h, nextTick } = hub();
    const s = new FakeSocket();
    h.subscribe(h.add(s), '*');
    const shown = () => s.frames.filter((f) => f.type === 'reading').map((f) => f.seq);
    h.telemetry('d1', one(10, T));
    h.flush();
    h.telemetry('d1', one(11, T)); // same measured time, higher seq: newer
    nextTick();
    expect(shown()).toEqual([10, 11]);
    h.telemetry('d1', one(12, later(-60))); // the device's clock stepped back: not newer
    nextTick();
    h.telemetry('d1', Buffer.from(`{"v":1,"readings":[{"seq":13,"ts":"${later(5)}","values":{"t":1}}]`));
    nextTick(); // malformed: nothing, though its time is later
    expect(shown()).toEqual([10, 11]);
    h.telemetry('d1', one(14, later(1)));
    nextTick();
    expect(shown()).toEqual([10, 11, 14]);
  });

  it('parses what a scan of the bytes cannot judge: an escaped key still shows a newer reading', () => {
    const { h, nextTick } = hub();
    const s = new FakeSocket();
    h.subscribe(h.add(s), '*');
    h.telemetry('d1', one(1, T));
    h.flush();
    h.telemetry(
      'd1',
      Buffer.from(`{"v":1,"readings":[{"seq":2,"\\u0074s":"${later(1)}","values":{"t":2}}]}`),
    );
    nextTick();
    expect(s.frames.filter((f) => f.type === 'reading').map((f) => f.seq)).toEqual([1, 2]);
  });

  it('keeps a pending reading when an older batch arrives before its tick, and takes a newer one', () => {
    const { h, nextTick } = hub();
    const s = new FakeSocket();
    h.subscribe(h.add(s), '*');
    h.telemetry('d1', one(1, T));
    h.flush();
    h.telemetry('d1', one(3, later(3))); // pending until the tick
    h.telemetry('d1', one(2, later(2))); // older than the pending one
    nextTick();
    h.telemetry('d1', one(4, later(4)));
    h.telemetry('d1', one(5, later(5)));
    nextTick();
    expect(s.frames.filter((f) => f.type === 'reading').map((f) => f.seq)).toEqual([1, 3, 5]);
  });
});
