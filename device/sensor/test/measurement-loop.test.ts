import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger, type OutboxBounds } from '@sensorfleet/shared';
import { MeasurementLoop, type SensorReport } from '../src/measurement-loop.js';
import type { OutboxAppender } from '../src/pending-appends.js';
import { SensorReadError, type SensorSource, type SensorValues } from '../src/sources/sensor-source.js';

const T0 = Date.parse('2026-11-23T10:00:00.000Z');

/** The outbox as the append script behaves: seq from a counter, optional failures and lost replies. */
class MemoryOutbox implements OutboxAppender {
  readonly entries: { seq: number; ts: string; values: SensorValues }[] = [];
  counter = 0;
  dropped = 0;
  down = false;
  /** The next append runs but its reply is lost (the connection dropped). */
  loseNextReply = false;
  async append(ts: string, values: SensorValues, _bounds: OutboxBounds) {
    if (this.down) throw new Error('Connection is closed.');
    const seq = ++this.counter;
    this.entries.push({ seq, ts, values });
    if (this.loseNextReply) {
      this.loseNextReply = false;
      throw new Error('Connection is closed.');
    }
    return { seq, dropped: 0 };
  }
  async newestSeqIf(ts: string, values: SensorValues) {
    if (this.down) throw new Error('Connection is closed.');
    const e = this.entries.at(-1);
    return e && e.ts === ts && JSON.stringify(e.values) === JSON.stringify(values) ? e.seq : undefined;
  }
  async addDropped(n: number) {
    if (this.down) throw new Error('Connection is closed.');
    this.dropped += n;
  }
}

class CountingSource implements SensorSource {
  readonly kind = 'simulated';
  n = 0;
  fail = false;
  reads = 0;
  async open() {
    return { model: 'counting', channels: ['n'] };
  }
  async read(): Promise<SensorValues> {
    this.reads++;
    if (this.fail) throw new SensorReadError('I2C read failed: EIO, Input/output error', true);
    return { n: ++this.n };
  }
  async close() {}
}

let loop: MeasurementLoop | undefined;
beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
});
afterEach(async () => {
  await loop?.stop();
  loop = undefined;
  vi.useRealTimers();
});

function rig(opts: { intervalMs?: number; running?: boolean; maxPending?: number } = {}) {
  const outbox = new MemoryOutbox();
  const source = new CountingSource();
  const state = { running: opts.running ?? true, intervalMs: opts.intervalMs ?? 100, reads: 0, down: false };
  const statuses: SensorReport[] = [];
  const counts = { taken: 0, dropped: 0, sensorErrors: 0, redisErrors: 0, lost: 0, clockJumps: 0 };
  let wallOffset = 0;
  loop = new MeasurementLoop({
    source,
    outbox,
    state: {
      get: async () => {
        state.reads++;
        if (state.down) throw new Error('Connection is closed.');
        return { running: state.running, intervalMs: state.intervalMs };
      },
    },
    statusStore: {
      write: async (s) => void statuses.push(s),
      read: async () => statuses.at(-1),
    },
    bounds: { maxReadings: 0, maxAgeMs: 0 },
    clock: { now: () => Date.now() + wallOffset, monotonic: () => Date.now() - T0 },
    log: createLogger('test', 'silent', { pretty: false }),
    metrics: {
      readingsTaken: () => counts.taken++,
      readingsDropped: (n) => (counts.dropped += n),
      sensorErrors: () => counts.sensorErrors++,
      redisErrors: () => counts.redisErrors++,
      pendingAppends: () => {},
      redisLostAppends: (n) => (counts.lost += n),
      clockJumps: () => counts.clockJumps++,
    },
    maxPending: opts.maxPending,
  });
  const jumpWallClock = (ms: number) => (wallOffset += ms);
  return { loop, outbox, source, state, statuses, counts, jumpWallClock };
}

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

describe('MeasurementLoop', () => {
  it('measures once per interval on a fixed cadence and appends in order', async () => {
    const { loop, outbox } = rig({ intervalMs: 100 });
    await loop.start();
    await advance(1000);
    expect(outbox.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(outbox.entries.map((e) => Date.parse(e.ts) - T0)).toEqual([
      0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000,
    ]);
  });

  it('keeps measuring when the wall clock jumps back; timestamps follow the clock, seqs keep rising', async () => {
    const { loop, outbox, jumpWallClock } = rig({ intervalMs: 100 });
    await loop.start();
    await advance(250);
    jumpWallClock(-3_600_000);
    await advance(300);
    const ts = outbox.entries.map((e) => Date.parse(e.ts) - T0);
    expect(ts).toEqual([0, 100, 200, 300 - 3_600_000, 400 - 3_600_000, 500 - 3_600_000]);
    expect(outbox.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('counts a wall-clock jump and reports it in the status (size, time), kept across restarts', async () => {
    const r = rig({ intervalMs: 100 });
    await r.loop.start();
    await advance(250);
    expect(r.loop.sensorStatus.clockJumps).toBeUndefined();
    r.jumpWallClock(-3_600_000);
    await advance(300);
    const jumped = { at: new Date(T0 + 300 - 3_600_000).toISOString(), byMs: -3_600_000 };
    expect(r.loop.sensorStatus).toMatchObject({ status: 'ok', clockJumps: 1, lastClockJump: jumped });
    expect(r.counts.clockJumps).toBe(1);
    r.jumpWallClock(3_600_000);
    await advance(200);
    expect(r.loop.sensorStatus.clockJumps).toBe(2);
    expect(r.loop.sensorStatus.lastClockJump?.byMs).toBe(3_600_000);
    expect(r.statuses.at(-1)).toMatchObject({ clockJumps: 2 });
    await r.loop.stop();

    const next = rig({ intervalMs: 100 });
    next.statuses.push({ status: 'ok', driver: 'counting', clockJumps: 2, lastClockJump: jumped });
    await next.loop.start();
    await advance(300);
    expect(next.loop.sensorStatus).toMatchObject({ clockJumps: 2, lastClockJump: jumped });
  });

  it('reads the measuring state at most once a second at 100 Hz, and at once when woken', async () => {
    const { loop, state, outbox } = rig({ intervalMs: 10 });
    await loop.start();
    await advance(2000);
    expect(outbox.entries.length).toBeGreaterThanOrEqual(200);
    expect(state.reads).toBeLessThanOrEqual(3);
    state.running = false;
    loop.wake();
    await advance(1);
    const stoppedAt = outbox.entries.length;
    await advance(500);
    expect(outbox.entries.length).toBe(stoppedAt);
  });

  it('applies start and a new interval from a wake at once, and never measures twice for one wake', async () => {
    const { loop, state, outbox, source } = rig({ running: false, intervalMs: 60_000 });
    await loop.start();
    await advance(5000);
    expect(outbox.entries).toHaveLength(0);
    state.running = true;
    state.intervalMs = 1000;
    loop.wake();
    loop.wake();
    loop.wake();
    await advance(1);
    expect(outbox.entries).toHaveLength(1);
    await advance(999);
    expect(outbox.entries).toHaveLength(2);
    expect(source.reads).toBe(2);
  });

  it('queues readings in memory while Redis is down and appends them in order when it is back', async () => {
    const { loop, outbox, state, counts } = rig({ intervalMs: 100 });
    await loop.start();
    await advance(150);
    outbox.down = true;
    state.down = true;
    await advance(1000); // the last known state holds: measuring goes on
    expect(loop.pendingAppends).toBe(10);
    outbox.down = false;
    state.down = false;
    await advance(100);
    expect(loop.pendingAppends).toBe(0);
    expect(outbox.entries.map((e) => e.values.n)).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(counts.redisErrors).toBeGreaterThan(0);
  });

  it('appends a queued reading soon after Redis is back, without waiting for the next one', async () => {
    const { loop, outbox } = rig({ intervalMs: 60_000 });
    outbox.down = true;
    await loop.start();
    await advance(10);
    expect(loop.pendingAppends).toBe(1);
    outbox.down = false;
    await advance(600);
    expect(loop.pendingAppends).toBe(0);
    expect(outbox.entries).toHaveLength(1);
  });

  it('drops the oldest queued readings beyond the memory bound, counts them and reports them to Redis', async () => {
    const { loop, outbox, counts } = rig({ intervalMs: 100, maxPending: 5 });
    await loop.start();
    await advance(50);
    outbox.down = true;
    await advance(1000);
    expect(loop.pendingAppends).toBe(5);
    expect(counts.dropped).toBe(5);
    outbox.down = false;
    await advance(100);
    expect(outbox.dropped).toBe(5);
    // readings 2..6 were dropped, the newest ones kept
    expect(outbox.entries.map((e) => e.values.n)).toEqual([1, 7, 8, 9, 10, 11, 12]);
  });

  it('does not append a reading twice when the reply to its append was lost', async () => {
    const { loop, outbox } = rig({ intervalMs: 100 });
    await loop.start();
    await advance(50);
    outbox.loseNextReply = true;
    await advance(300);
    expect(outbox.entries.map((e) => e.values.n)).toEqual([1, 2, 3, 4]);
    expect(outbox.entries.map((e) => e.seq)).toEqual([1, 2, 3, 4]);
  });

  it('counts the appends Redis lost when its seq counter went back, and reports them as sensor status', async () => {
    const { loop, outbox, statuses, counts } = rig({ intervalMs: 100 });
    await loop.start();
    await advance(450); // seqs 1..5
    outbox.counter = 2; // Redis restarted with only seqs 1, 2 on disk
    await advance(100);
    expect(counts.lost).toBe(3);
    expect(statuses.at(-1)).toMatchObject({ status: 'ok', redisLostAppends: 3 });
  });

  it('reports a failing sensor as status error with no values written, and recovers', async () => {
    const { loop, outbox, source, statuses, counts } = rig({ intervalMs: 100 });
    await loop.start();
    await advance(50);
    source.fail = true;
    await advance(300);
    expect(outbox.entries).toHaveLength(1);
    expect(counts.sensorErrors).toBe(3);
    expect(statuses.at(-1)).toMatchObject({
      status: 'error',
      errors: 3,
      lastError: 'I2C read failed: EIO, Input/output error',
    });
    source.fail = false;
    await advance(100);
    expect(outbox.entries).toHaveLength(2);
    expect(statuses.at(-1)).toMatchObject({ status: 'ok' });
  });

  it('carries the lost-appends count of the previous run over', async () => {
    const first = rig();
    first.statuses.push({ status: 'ok', driver: 'simulated', redisLostAppends: 7 });
    await first.loop.start();
    expect(first.loop.sensorStatus.redisLostAppends).toBe(7);
  });
});
