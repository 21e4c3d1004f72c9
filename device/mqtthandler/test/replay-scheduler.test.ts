import { describe, expect, it } from 'vitest';
import {
  HINTED_IDLE_POLL_MS,
  ReplayScheduler,
  type ReadRequest,
  type SentReading,
} from '../src/replay-scheduler.js';

const OPTS = { batchMax: 10, batchMaxWaitMs: 200, inflightMax: 40, ackTimeoutMs: 5000 };

/** Readings with consecutive seqs from `from` (ts derived from the seq). */
function readings(from: number, n: number): SentReading[] {
  return Array.from({ length: n }, (_, i) => ({ seq: from + i, ts: `ts-${from + i}` }));
}

/** What the outbox would return for a request, given seqs 1..last exist. */
function serve(req: ReadRequest, last: number): SentReading[] {
  const to = req.toSeq === '+' ? last : Math.min(req.toSeq, last);
  const first = req.afterSeq + 1;
  return first > to ? [] : readings(first, Math.min(req.count, to - first + 1));
}

describe('ReplayScheduler', () => {
  it('sends live readings first after a (re)connect, then the backlog in seq order', () => {
    const s = new ReplayScheduler(OPTS);
    s.reset(100); // seqs 1..100 are backlog
    const first = s.next(0);
    expect(first).toEqual({ kind: 'live', afterSeq: 100, toSeq: '+', count: 10 });
    s.sent(first!, readings(101, 3), 0);
    const second = s.next(0);
    expect(second).toEqual({ kind: 'backlog', afterSeq: 0, toSeq: 100, count: 10 });
    s.sent(second!, readings(1, 10), 0);
    // 13 in flight of a window that starts at two batches
    expect(s.next(0)).toEqual({ kind: 'backlog', afterSeq: 10, toSeq: 100, count: 7 });
  });

  it('drains the backlog between live batches and sends live again once the batch wait has passed', () => {
    const s = new ReplayScheduler({ ...OPTS, batchMax: 50, inflightMax: 10_000 });
    s.reset(1000);
    let last = 1000;
    const kinds: string[] = [];
    // Stepped like the forwarder's timer: every half batch wait.
    for (let now = 0; now <= 1000; now += 100) {
      last += 10; // 100 live readings per second arrive
      for (let round = 0; round < 3; round++) {
        const req = s.next(now);
        if (!req) break;
        kinds.push(req.kind);
        const got = serve(req, last);
        s.sent(req, got, now);
        s.acked(got.map((r) => r.seq)); // a backend that keeps up: the window is not what limits here
      }
    }
    // a live read every 200 ms (6 in 1 s incl. the first), the rest of the rounds went to the backlog
    expect(kinds.filter((k) => k === 'live')).toHaveLength(6);
    expect(kinds.filter((k) => k === 'backlog')).toHaveLength(20); // 1000 readings in batches of 50
    // the live cursor is never more than one batch wait behind the newest reading
    expect(s.highestSeen).toBeGreaterThanOrEqual(last - 20);
  });

  it('alternates one live and one backlog batch while live readings fill whole batches', () => {
    const s = new ReplayScheduler(OPTS);
    s.reset(50);
    const kinds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const req = s.next(0)!;
      kinds.push(req.kind);
      s.sent(req, serve(req, 10_000), 0); // live reads come back full
      s.acked(Array.from({ length: 10_000 }, (_, k) => k + 1));
    }
    expect(kinds).toEqual(['live', 'backlog', 'live', 'backlog', 'live', 'backlog']);
  });

  it('has nothing to do when the backlog is done and no live read is due', () => {
    const s = new ReplayScheduler(OPTS);
    s.reset(0);
    const live = s.next(0)!;
    s.sent(live, [], 0);
    expect(s.next(25)).toBeUndefined();
    // An empty read: the next poll after half the batch wait (a quarter early at the most).
    expect(s.liveDueAt()).toBe(100);
    expect(s.next(50)).toMatchObject({ kind: 'live' });
  });

  it('sends a reading after a quiet spell at the next poll, and batches for the batch wait after one', () => {
    const s = new ReplayScheduler(OPTS);
    s.reset(0);
    let last = 0;
    const sentAt = new Map<number, number>();
    // Polled every 100 ms (the forwarder's timer, half the batch wait), a reading arriving every 1 s at +30.
    for (let now = 0; now <= 3000; now += 100) {
      if (now % 1000 === 100) last++; // arrived at now - 70
      const req = s.next(now);
      if (!req) continue;
      const got = serve(req, last);
      s.sent(req, got, now);
      for (const r of got) sentAt.set(r.seq, now);
    }
    // Each waited for the next poll only (70 ms), not for a batch wait that batches nothing.
    expect([...sentAt.entries()]).toEqual([
      [1, 100],
      [2, 1100],
      [3, 2100],
    ]);
    // Right after a read that found readings, the next waits for the batch wait (less the slack).
    const req = s.next(5000)!;
    s.sent(req, serve(req, last + 2), 5000);
    expect(s.next(5100)).toBeUndefined();
    expect(s.next(5150)).toMatchObject({ kind: 'live' });
  });

  it('with append hints, reads a hinted reading at once after a quiet spell and polls only every second otherwise', () => {
    const s = new ReplayScheduler(OPTS);
    s.reset(0);
    s.setHints(true);
    s.sent(s.next(0)!, [], 0); // the first live read after connect: empty
    // Nothing hinted: no read until the idle poll, however often the forwarder asks.
    for (let now = 10; now < HINTED_IDLE_POLL_MS - OPTS.batchMaxWaitMs / 4; now += 10) {
      expect(s.next(now)).toBeUndefined();
    }
    expect(s.next(HINTED_IDLE_POLL_MS)).toMatchObject({ kind: 'live' });
    s.sent({ kind: 'live', afterSeq: 0, toSeq: '+', count: 10 }, [], HINTED_IDLE_POLL_MS);
    // A hint: due at once (the last read that sent anything is long ago).
    s.appended(1);
    expect(s.liveDueAt()).toBeLessThanOrEqual(HINTED_IDLE_POLL_MS + 10);
    const req = s.next(HINTED_IDLE_POLL_MS + 10)!;
    expect(req).toMatchObject({ kind: 'live', afterSeq: 0 });
    s.sent(req, readings(1, 1), HINTED_IDLE_POLL_MS + 10);
    // A hint right after a send waits out the batch wait (a fast sensor's readings are batched).
    s.appended(2);
    expect(s.liveDueAt()).toBe(HINTED_IDLE_POLL_MS + 10 + OPTS.batchMaxWaitMs);
    // A hint for a seq already read changes nothing.
    const t = HINTED_IDLE_POLL_MS + 10 + OPTS.batchMaxWaitMs;
    s.sent(s.next(t)!, readings(2, 1), t);
    s.appended(2);
    expect(s.liveDueAt()).toBe(t + HINTED_IDLE_POLL_MS);
  });

  it('polls as without hints once they are switched off, and forgets hints after a seq rollback', () => {
    const s = new ReplayScheduler(OPTS);
    s.reset(0);
    s.setHints(true);
    s.sent(s.next(0)!, [], 0);
    expect(s.next(OPTS.batchMaxWaitMs / 2)).toBeUndefined();
    s.setHints(false);
    expect(s.next(OPTS.batchMaxWaitMs / 2)).toMatchObject({ kind: 'live' });
    s.setHints(true);
    s.appended(500);
    s.reset(3, true); // Redis lost writes: seq 500 will be appended again, later
    s.sent(s.next(10)!, [], 10);
    expect(s.liveDueAt()).toBe(10 + HINTED_IDLE_POLL_MS);
  });

  it('ends the backlog when a backlog read comes back empty (entries deleted meanwhile)', () => {
    const s = new ReplayScheduler(OPTS);
    s.reset(30);
    s.sent(s.next(0)!, [], 0); // live: nothing new
    const backlog = s.next(0)!;
    expect(backlog.kind).toBe('backlog');
    s.sent(backlog, [], 0);
    expect(s.backlogRemaining).toBe(false);
  });

  it('bounds the readings in flight and frees room on ack', () => {
    const s = new ReplayScheduler(OPTS);
    s.reset(1000);
    const fill = () => {
      for (let req = s.next(0); req; req = s.next(0)) s.sent(req, serve(req, 2000), 0);
    };
    fill();
    expect(s.inflightCount).toBe(20); // two batches after a (re)connect
    expect(s.next(0)).toBeUndefined();
    s.acked([1, 2, 3]);
    // three acked: three free places, and the window three wider
    expect(s.windowSize).toBe(23);
    expect(s.next(0)).toMatchObject({ count: 6 });
  });

  it('widens the window by each acked reading up to inflightMax, and starts small again after a reset', () => {
    const s = new ReplayScheduler(OPTS); // batches of 10, inflightMax 40
    s.reset(1000);
    const sizes: number[] = [];
    // Round trips: everything in flight is acked at once (a backend that keeps up).
    for (let trip = 0; trip < 4; trip++) {
      const sent: number[] = [];
      for (let req = s.next(0); req; req = s.next(0)) {
        const got = serve(req, 2000);
        s.sent(req, got, 0);
        sent.push(...got.map((r) => r.seq));
      }
      sizes.push(sent.length);
      s.acked(sent);
    }
    expect(sizes).toEqual([20, 40, 40, 40]); // doubled in one round trip, then held at inflightMax
    // Late acks of readings sent before a reset do not widen the new window.
    const req = s.next(0)!;
    s.sent(req, serve(req, 2000), 0);
    s.reset(2000);
    expect(s.windowSize).toBe(20);
    s.acked([req.afterSeq + 1]);
    expect(s.windowSize).toBe(20);
  });

  it('remembers the ts of each reading in flight until it is acked', () => {
    const s = new ReplayScheduler(OPTS);
    s.reset(5);
    s.sent(s.next(0)!, [], 0);
    s.sent(s.next(0)!, readings(1, 5), 0);
    expect(s.inflightTs(3)).toBe('ts-3');
    s.acked([3]);
    expect(s.inflightTs(3)).toBeUndefined();
    expect(s.inflightTs(99)).toBeUndefined();
  });

  it('times out when the oldest reading waits longer than the ack timeout, and then resends everything', () => {
    const s = new ReplayScheduler(OPTS);
    s.reset(20);
    s.sent(s.next(0)!, readings(21, 2), 0);
    s.sent(s.next(1000)!, readings(1, 10), 1000);
    expect(s.timedOut(5000)).toBe(false);
    expect(s.timedOut(5001)).toBe(true);
    s.resendUnacked();
    expect(s.inflightCount).toBe(0);
    // everything up to the live cursor is backlog again, live still comes first
    expect(s.next(5001)).toEqual({ kind: 'live', afterSeq: 22, toSeq: '+', count: 10 });
    s.sent({ kind: 'live', afterSeq: 22, toSeq: '+', count: 10 }, [], 5001);
    expect(s.next(5001)).toEqual({ kind: 'backlog', afterSeq: 0, toSeq: 22, count: 10 });
  });

  it('never times out with nothing in flight', () => {
    const s = new ReplayScheduler(OPTS);
    s.reset(0);
    expect(s.timedOut(1e12)).toBe(false);
  });

  it('remembers what was in flight before a reset for a late ack, until Redis lost writes', () => {
    const s = new ReplayScheduler(OPTS);
    s.reset(0);
    const req = s.next(1000)!;
    s.sent(req, readings(1, 3), 1000);
    s.reset(3); // reconnect: nothing in flight, but an ack of seq 2 may still come
    expect(s.inflightCount).toBe(0);
    expect(s.inflightTs(2)).toBe('ts-2');
    s.acked([2]);
    expect(s.inflightTs(2)).toBeUndefined();
    expect(s.inflightTs(3)).toBe('ts-3');
    s.reset(3, true); // Redis restarted: old seqs may name other readings now
    expect(s.inflightTs(3)).toBeUndefined();
  });
});
