import { beforeEach, expect, it } from 'vitest';
import type { ForwarderStore } from '../src/forwarder.js';
import type { SentReading } from '../src/replay-scheduler.js';

/**
 * What the Forwarder relies on from its store, as tests that run against every implementation: the
 * in-memory one the forwarder tests drive (memory-store.test.ts) and the Redis scripts the device runs
 * (redis-forwarder-store.int.test.ts). A difference between the two fails one of them, so the forwarder
 * tests cannot pass on behaviour the device does not have.
 */
export interface ForwarderStoreFixture {
  store: ForwarderStore;
  /** Appends a reading the way the sensor does (the next seq) and returns its seq. */
  append(ts: string, value: number): Promise<number>;
  /** What a Redis that lost its last writes comes back with: readings above `seq` gone, counter at `seq`. */
  rollBackTo(seq: number): Promise<void>;
  /** Readings counted as rejected so far. */
  rejected(): Promise<number>;
  /**
   * What the outbox bound does to the oldest reading: removed, and counted as dropped when it was never
   * read for sending, else kept as an unconfirmed drop.
   */
  drop(seq: number): Promise<void>;
  /** The drop count. */
  dropped(): Promise<number>;
}

const ts = (i: number) => new Date(Date.UTC(2026, 10, 23, 10, 0, 0, i)).toISOString();
/** When a drop counted in these tests is due for its re-check (wall-clock ms), and the settle delay. */
const DUE = Date.UTC(2026, 10, 23, 12);
const SETTLE = 30_000;

/** Defines the contract's tests (inside the caller's describe); `fixture` gives an empty store each time. */
export function forwarderStoreContract(fixture: () => Promise<ForwarderStoreFixture>): void {
  let f: ForwarderStoreFixture;
  beforeEach(async () => {
    f = await fixture();
  });

  /** The unconfirmed drops a probe look finds (room for 10 stubs: more than any test here leaves). */
  async function unconfirmedDrops(): Promise<SentReading[]> {
    return (await f.store.probeCandidates(DUE - 1, SETTLE, 10)).unconfirmed;
  }

  async function rechecksDue(now: number, settleMs: number, max: number): Promise<SentReading[]> {
    return (await f.store.probeCandidates(now, settleMs, max)).rechecks;
  }

  async function appendN(n: number, at = ts): Promise<void> {
    for (let i = 1; i <= n; i++) await f.append(at(i), i);
  }
  const seqsOf = async () => (await f.store.readRange(0, '+', 10_000)).map((r) => r.seq);

  it('reads readings after a seq, up to a seq or to the end, oldest first, at most `count`', async () => {
    await appendN(6);
    expect((await f.store.readRange(2, 5, 10)).map((r) => r.seq)).toEqual([3, 4, 5]);
    expect((await f.store.readRange(2, '+', 2)).map((r) => r.seq)).toEqual([3, 4]);
    expect(await f.store.readRange(6, '+', 10)).toEqual([]);
    const [third] = await f.store.readRange(2, 3, 1);
    expect(third).toMatchObject({ seq: 3, ts: ts(3) });
  });

  it('reports the last assigned seq, which removing readings does not lower', async () => {
    expect(await f.store.lastSeq()).toBe(0);
    await appendN(3);
    expect(await f.store.lastSeq()).toBe(3);
    const all = await f.store.readRange(0, '+', 10);
    expect(await f.store.removeSent(all.map((r) => ({ seq: r.seq, ts: r.ts })))).toEqual({
      removed: 3,
      changed: 0,
      gone: 0,
    });
    expect(await f.store.lastSeq()).toBe(3);
    expect(await f.append(ts(4), 4)).toBe(4);
  });

  it('reads for sending together with the seq counter and whether a stub waits in the probe sets', async () => {
    await appendN(4);
    const read = await f.store.readForSend(1, 3, 10);
    expect(read.readings.map((r) => r.seq)).toEqual([2, 3]);
    expect(read).toMatchObject({ lastSeq: 4, dropsPending: false });
    // An empty range still answers (a live read that finds nothing new), also one ending before its start.
    const empty = { readings: [], lastSeq: 4, dropsPending: false };
    expect(await f.store.readForSend(4, '+', 10)).toEqual(empty);
    expect(await f.store.readForSend(3, 2, 10)).toEqual(empty);
    await f.drop(2); // read for sending above: an unconfirmed drop
    expect((await f.store.readForSend(4, '+', 10)).dropsPending).toBe(true);
    await f.store.resolveProbe([], [{ seq: 2, ts: ts(2) }], DUE); // counted, waiting for its re-check
    expect((await f.store.readForSend(4, '+', 10)).dropsPending).toBe(true);
    await f.store.resolveProbe([], [{ seq: 2, ts: ts(2) }], DUE); // re-checked: settled for good
    expect((await f.store.readForSend(4, '+', 10)).dropsPending).toBe(false);
    await f.rollBackTo(1);
    expect((await f.store.readForSend(0, '+', 10)).lastSeq).toBe(1);
  });

  it('removes a sent reading only while seq and ts match, and counts seqs that hold another reading now', async () => {
    await appendN(5);
    await f.rollBackTo(2); // seqs 3..5 lost …
    const later = (i: number) => ts(1000 + i);
    await f.append(later(3), 30); // … and 3, 4 reused by new readings
    await f.append(later(4), 40);
    const result = await f.store.removeSent([
      { seq: 1, ts: ts(1) },
      { seq: 3, ts: ts(3) }, // a late ack for the lost reading: must not delete the new one
      { seq: 4, ts: ts(4) },
      { seq: 5, ts: ts(5) }, // gone: neither removed nor changed
      { seq: 99, ts: ts(99) },
    ]);
    expect(result).toEqual({ removed: 1, changed: 2, gone: 2 });
    const left = await f.store.readRange(0, '+', 10);
    expect(left.map((r) => [r.seq, r.ts])).toEqual([
      [2, ts(2)],
      [3, later(3)],
      [4, later(4)],
    ]);
  });

  it('counts a dropped reading never read for sending at once, and keeps one that was read unconfirmed', async () => {
    await appendN(5);
    await f.store.readRange(0, 3, 10); // 1..3 sent
    await f.drop(1);
    await f.drop(4);
    expect(await f.dropped()).toBe(1);
    expect(await unconfirmedDrops()).toEqual([{ seq: 1, ts: ts(1) }]);
  });

  it('settles a dropped sent reading by its late ack, and takes a counted one off the count', async () => {
    await appendN(5);
    const sentNow = (await f.store.readRange(0, '+', 10)).map((r) => ({ seq: r.seq, ts: r.ts }));
    await f.drop(1);
    await f.drop(2);
    await f.drop(3);
    expect(await f.dropped()).toBe(0);
    // The backend is asked: it has 1, not 2 and 3 (2 is still on its way, 3 was lost).
    expect(await f.store.resolveProbe([sentNow[0]!], [sentNow[1]!, sentNow[2]!], DUE)).toEqual({
      confirmed: 1,
      counted: 2,
      corrected: 0,
      upheld: 0,
    });
    expect(await f.dropped()).toBe(2);
    expect(await unconfirmedDrops()).toEqual([]);
    // 2's ack comes after all: off the count. 1's second ack changes nothing (already settled).
    expect(await f.store.removeSent([sentNow[0]!, sentNow[1]!, sentNow[3]!])).toEqual({
      removed: 1,
      changed: 0,
      gone: 2,
    });
    expect(await f.dropped()).toBe(1);
    expect(await f.store.removeSent([sentNow[1]!])).toMatchObject({ gone: 1 });
    expect(await f.dropped()).toBe(1);
    expect(await seqsOf()).toEqual([5]);
  });

  it('an ack settles an unconfirmed drop without counting it; a probe answer for it later changes nothing', async () => {
    await appendN(2);
    const [first] = (await f.store.readRange(0, '+', 10)).map((r) => ({ seq: r.seq, ts: r.ts }));
    await f.drop(1);
    expect(await f.store.removeSent([first!])).toEqual({ removed: 0, changed: 0, gone: 1 });
    expect(await unconfirmedDrops()).toEqual([]);
    expect(await f.store.resolveProbe([], [first!], DUE)).toMatchObject({ confirmed: 0, counted: 0 });
    expect(await f.dropped()).toBe(0);
  });

  it('resolves only stubs whose ts matches what was dropped', async () => {
    await appendN(2);
    await f.store.readRange(0, '+', 10);
    await f.drop(1);
    expect(await f.store.resolveProbe([], [{ seq: 1, ts: 'another reading' }], DUE)).toMatchObject({
      confirmed: 0,
      counted: 0,
    });
    expect(await unconfirmedDrops()).toEqual([{ seq: 1, ts: ts(1) }]);
  });

  /** Seqs 1..n appended and sent, then dropped by the bound: n unconfirmed stubs. */
  async function droppedAfterSending(n: number) {
    await appendN(n + 1);
    const sent = (await f.store.readRange(0, '+', 100)).map((r) => ({ seq: r.seq, ts: r.ts }));
    for (let seq = 1; seq <= n; seq++) await f.drop(seq);
    return sent;
  }

  it('keeps a drop counted on `unknown` for one re-check when it is due, and takes it off when stored by then', async () => {
    const sent = await droppedAfterSending(3);
    await f.store.resolveProbe([], [sent[0]!, sent[1]!], DUE);
    await f.store.resolveProbe([], [sent[2]!], DUE + 5000);
    expect(await f.dropped()).toBe(2 + 1);
    expect(await rechecksDue(DUE - 1, SETTLE, 10)).toEqual([]);
    expect(await rechecksDue(DUE, SETTLE, 10)).toEqual([sent[0], sent[1]]);
    expect(await rechecksDue(DUE + 5000, SETTLE, 1)).toEqual([sent[0]]);
    // The re-check: 1 is there after all (an earlier copy was still on its way), 2 is not.
    expect(await f.store.resolveProbe([sent[0]!], [sent[1]!], DUE + 9e9)).toEqual({
      confirmed: 0,
      counted: 0,
      corrected: 1,
      upheld: 1,
    });
    expect(await f.dropped()).toBe(2);
    expect(await rechecksDue(DUE + 5000, SETTLE, 10)).toEqual([sent[2]]);
    // Settled for good: a second answer changes nothing, but a very late ack of 2 still takes it off.
    expect(await f.store.resolveProbe([sent[0]!, sent[1]!], [], DUE)).toEqual({
      confirmed: 0,
      counted: 0,
      corrected: 0,
      upheld: 0,
    });
    expect(await f.store.removeSent([sent[0]!, sent[1]!])).toMatchObject({ gone: 2 });
    expect(await f.dropped()).toBe(1);
  });

  it('a late ack of a drop waiting for its re-check takes it off the count and off the re-check', async () => {
    const sent = await droppedAfterSending(1);
    await f.store.resolveProbe([], [sent[0]!], DUE);
    expect(await f.store.removeSent([sent[0]!])).toMatchObject({ gone: 1 });
    expect(await f.dropped()).toBe(0);
    expect(await rechecksDue(DUE, SETTLE, 10)).toEqual([]);
    expect(await f.store.resolveProbe([sent[0]!], [], DUE)).toMatchObject({ corrected: 0 });
    expect(await f.dropped()).toBe(0);
  });

  it('counts a re-check due far ahead (the wall clock went back since) as due now', async () => {
    const sent = await droppedAfterSending(1);
    await f.store.resolveProbe([], [sent[0]!], DUE);
    expect(await rechecksDue(DUE - SETTLE, SETTLE, 10)).toEqual([]);
    expect(await rechecksDue(DUE - SETTLE - 1, SETTLE, 10)).toEqual([sent[0]]);
  });

  it('a probe look names due re-checks first, then unconfirmed drops oldest first, `max` in all', async () => {
    const sent = await droppedAfterSending(5);
    await f.store.resolveProbe([], [sent[3]!, sent[4]!], DUE);
    expect(await f.store.probeCandidates(DUE, SETTLE, 3)).toEqual({
      rechecks: [sent[3], sent[4]],
      unconfirmed: [sent[0]],
    });
    expect(await f.store.probeCandidates(DUE, SETTLE, 2)).toEqual({
      rechecks: [sent[3], sent[4]],
      unconfirmed: [],
    });
    expect(await f.store.probeCandidates(DUE - 1, SETTLE, 10)).toEqual({
      rechecks: [],
      unconfirmed: [sent[0], sent[1], sent[2]],
    });
  });

  it('removes thousands of sent readings in one call', async () => {
    await appendN(1200);
    const all = await f.store.readRange(0, '+', 2000);
    expect(await f.store.removeSent(all.map((r) => ({ seq: r.seq, ts: r.ts })))).toEqual({
      removed: 1200,
      changed: 0,
      gone: 0,
    });
    expect(await seqsOf()).toEqual([]);
  });

  it('adds up rejected readings', async () => {
    await f.store.addRejected(2);
    await f.store.addRejected(0);
    await f.store.addRejected(3);
    expect(await f.rejected()).toBe(5);
  });

  it('renumbers the named readings above the highest seq, unchanged, and later appends continue above', async () => {
    await appendN(6);
    const before = await f.store.readRange(0, '+', 10);
    const moved = await f.store.renumber(
      [
        { seq: 4, ts: ts(4) },
        { seq: 5, ts: ts(5) },
        { seq: 6, ts: 'not what is stored' },
      ],
      40,
    );
    expect(moved).toEqual([
      { from: 4, to: 41 },
      { from: 5, to: 42 },
    ]);
    const after = await f.store.readRange(0, '+', 10);
    expect(after).toEqual([
      before[0],
      before[1],
      before[2],
      before[5],
      { ...before[3], seq: 41 },
      { ...before[4], seq: 42 },
    ]);
    expect(await f.store.lastSeq()).toBe(42);
    expect(await f.append(ts(7), 7)).toBe(43);
  });

  it('raises the counter to the highest seq without moving anything, and never lowers it', async () => {
    await appendN(3);
    expect(await f.store.renumber([], 500)).toEqual([]);
    expect(await f.store.lastSeq()).toBe(500);
    expect(await f.store.renumber([], 100)).toEqual([]);
    expect(await f.store.lastSeq()).toBe(500);
    expect(await seqsOf()).toEqual([1, 2, 3]);
  });

  it('renumbers on an empty outbox (nothing left to move) without failing', async () => {
    expect(await f.store.renumber([{ seq: 1, ts: ts(1) }], 7)).toEqual([]);
    expect(await f.store.lastSeq()).toBe(7);
  });
}
