import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, SEQ_CONFLICT_REASON, type Ack, type Reading } from '@sensorfleet/shared';
import { Forwarder } from '../src/forwarder.js';
import { MemoryStore } from './support/memory-store.js';

class FakeLink {
  connected = true;
  readonly batches: Reading[][] = [];
  /** The `probe` of each batch that had one. */
  readonly probes: { seq: number; ts: string }[][] = [];
  async publishTelemetry(payload: string): Promise<void> {
    const msg = JSON.parse(payload) as { readings: Reading[]; probe?: { seq: number; ts: string }[] };
    this.batches.push(msg.readings);
    if (msg.probe) this.probes.push(msg.probe);
  }
  get seqs(): number[] {
    return this.batches.flat().map((r) => r.seq);
  }
}

const forwarders: Forwarder[] = [];
afterEach(async () => {
  await Promise.all(forwarders.splice(0).map((f) => f.stop()));
});

async function rig(
  opts: {
    readings?: number;
    batchMax?: number;
    batchMaxWaitMs?: number;
    inflightMax?: number;
    connect?: boolean;
    wallNow?: () => number;
    store?: MemoryStore;
  } = {},
) {
  const store = opts.store ?? new MemoryStore();
  for (let i = 1; i <= (opts.readings ?? 0); i++)
    store.append(`2026-11-23T10:00:${String(i % 60).padStart(2, '0')}.000Z`, i);
  const link = new FakeLink();
  const counts = {
    published: 0,
    stored: 0,
    rejected: 0,
    resends: 0,
    conflicts: 0,
    rollbacks: 0,
    probedStored: 0,
    probedUnknown: 0,
    corrected: 0,
    upheld: 0,
  };
  const forwarder = new Forwarder({
    store,
    link,
    log: createLogger('test', 'silent', { pretty: false }),
    metrics: {
      published: (n) => (counts.published += n),
      acked: (stored, rejected) => {
        counts.stored += stored;
        counts.rejected += rejected;
      },
      resends: () => counts.resends++,
      seqConflicts: (n) => (counts.conflicts += n),
      seqRollbacks: () => counts.rollbacks++,
      probeAnswered: (stored, unknown) => {
        counts.probedStored += stored;
        counts.probedUnknown += unknown;
      },
      probeRechecked: (corrected, upheld) => {
        counts.corrected += corrected;
        counts.upheld += upheld;
      },
    },
    batchMax: opts.batchMax ?? 10,
    batchMaxWaitMs: opts.batchMaxWaitMs ?? 20,
    inflightMax: opts.inflightMax ?? 1000,
    ackTimeoutMs: 60_000,
    ...(opts.wallNow ? { wallNow: opts.wallNow } : {}),
  });
  forwarders.push(forwarder);
  await forwarder.start();
  if (opts.connect ?? true) await forwarder.onConnected();
  await settle();
  const ack = async (a: Omit<Ack, 'v'>) => {
    await forwarder.onAck(Buffer.from(JSON.stringify({ v: 1, ...a })));
    await settle();
  };
  return { store, link, forwarder, counts, ack };
}

const settle = () => new Promise((r) => setTimeout(r, 60));

describe('Forwarder', () => {
  it('publishes the outbox in batches and deletes a reading only when an ack names it', async () => {
    const { store, link, ack, counts } = await rig({ readings: 25 });
    // The window starts at two batches after a connect; the ack widens it.
    expect(link.seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(store.entries.size).toBe(25);
    await ack({ ranges: [[1, 20]] });
    expect(link.seqs).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(link.batches.map((b) => b.length)).toEqual([10, 10, 5]);
    expect([...store.entries.keys()]).toEqual([21, 22, 23, 24, 25]);
    expect(counts.stored).toBe(20);
  });

  it('sends new readings live, in batches collected over the batch wait', async () => {
    const { store, link } = await rig();
    for (let i = 0; i < 5; i++) store.append(`2026-11-23T10:01:0${i}.000Z`, i);
    await settle();
    expect(link.batches).toHaveLength(1);
    expect(link.seqs).toEqual([1, 2, 3, 4, 5]);
  });

  it('sends a hinted live reading at once, where without the hint it waits for the poll', async () => {
    // A batch wait of 2 s: the poll comes every second (half of it), the hinted idle poll every second too.
    const { store, link, forwarder } = await rig({ batchMaxWaitMs: 2000 });
    forwarder.setAppendHints(true);
    await settle();
    const before = link.batches.length;
    store.append('2026-11-23T10:01:00.000Z', 1);
    await settle();
    expect(link.batches).toHaveLength(before); // no hint: still waiting for a poll
    forwarder.onAppended(store.counter);
    await settle();
    expect(link.seqs).toEqual([1]);
    // A hint naming a seq already sent starts nothing.
    forwarder.onAppended(store.counter);
    await settle();
    expect(link.batches).toHaveLength(before + 1);
  });

  it('sends a live reading after one store read: the seq counter check and the probe look come with it', async () => {
    class CountingStore extends MemoryStore {
      readonly calls = { readForSend: 0, lastSeq: 0, probeCandidates: 0 };
      override readForSend(...args: Parameters<MemoryStore['readForSend']>) {
        this.calls.readForSend++;
        return super.readForSend(...args);
      }
      override lastSeq() {
        this.calls.lastSeq++;
        return super.lastSeq();
      }
      override probeCandidates(...args: Parameters<MemoryStore['probeCandidates']>) {
        this.calls.probeCandidates++;
        return super.probeCandidates(...args);
      }
    }
    const store = new CountingStore();
    // A 1 Hz sensor's readings are further apart than the once-a-second counter check and probe look.
    const { link, forwarder, ack } = await rig({ store, batchMaxWaitMs: 200 });
    forwarder.setAppendHints(true);
    await settle();
    const before = { ...store.calls };
    for (let i = 1; i <= 3; i++) {
      await new Promise((r) => setTimeout(r, 1050));
      forwarder.onAppended(store.append(`2026-11-23T10:02:0${i}.000Z`, i));
      await settle();
      await ack({ ranges: [[i, i]] });
    }
    expect(link.seqs).toEqual([1, 2, 3]);
    expect(store.calls.lastSeq - before.lastSeq).toBe(0);
    expect(store.calls.probeCandidates - before.probeCandidates).toBe(0);
    expect(store.calls.readForSend - before.readForSend).toBeGreaterThanOrEqual(3);
  });

  it('ignores acks for seqs it did not send, or whose reading changed meanwhile', async () => {
    const { store, link, ack, forwarder } = await rig({ readings: 3 });
    expect(link.seqs).toEqual([1, 2, 3]);
    // seq 2 now holds another reading (Redis rollback): its old ack must not delete it
    store.entries.set(2, { seq: 2, ts: '2026-11-23T11:00:00.000Z', values: { v: 99 } });
    await ack({
      ranges: [
        [1, 3],
        [50, 60],
      ],
    });
    expect([...store.entries.keys()]).toEqual([2]);
    // …and the reading now under seq 2 is sent (the outbox is replayed)
    expect(link.batches.at(-1)).toEqual([{ seq: 2, ts: '2026-11-23T11:00:00.000Z', values: { v: 99 } }]);
    expect(forwarder.inflight).toBe(1);
  });

  it('removes and counts readings rejected as invalid', async () => {
    const { store, ack, counts } = await rig({ readings: 4 });
    await ack({ ranges: [[1, 2]], rejected: [{ seq: 3, reason: 'values/temperature: not a number' }] });
    expect([...store.entries.keys()]).toEqual([4]);
    expect(store.rejected).toBe(1);
    expect(counts).toMatchObject({ stored: 2, rejected: 1 });
  });

  it('renumbers seq conflicts above the backend’s highest seq and sends them again unchanged', async () => {
    const { store, link, ack, counts } = await rig({ readings: 6 });
    const before = [...store.entries.values()];
    await ack({
      ranges: [[1, 3]],
      rejected: [
        { seq: 4, reason: SEQ_CONFLICT_REASON },
        { seq: 5, reason: SEQ_CONFLICT_REASON },
      ],
      highestSeq: 40,
    });
    expect([...store.entries.keys()]).toEqual([6, 41, 42]);
    expect(store.entries.get(41)?.values).toEqual(before[3]?.values);
    expect(store.entries.get(41)?.ts).toBe(before[3]?.ts);
    expect(link.seqs.slice(-2)).toEqual([41, 42]);
    expect(counts.conflicts).toBe(2);
    // new readings continue above the backend's seqs
    expect(store.append('2026-11-23T10:02:00.000Z', 7)).toBe(43);
  });

  it('raises the seq counter when the backend holds higher seqs, before any conflict', async () => {
    const { store, ack } = await rig({ readings: 2 });
    await ack({ ranges: [[1, 2]], highestSeq: 500 });
    expect(store.counter).toBe(500);
  });

  it('replays from the outbox when its seq counter went back (Redis restarted without its last writes)', async () => {
    const { store, link, ack, counts } = await rig({ readings: 10 });
    await ack({ ranges: [[1, 10]] });
    // Redis comes back with seqs 9 and 10 lost: counter 8, and new readings reuse 9, 10, 11
    store.counter = 8;
    await new Promise((r) => setTimeout(r, 1000));
    for (let i = 0; i < 3; i++) store.append(`2026-11-23T10:05:0${i}.000Z`, 100 + i);
    await settle();
    await settle();
    expect(counts.rollbacks).toBe(1);
    expect(link.seqs.slice(-3)).toEqual([9, 10, 11]);
    expect(
      link.batches
        .flat()
        .slice(-3)
        .map((r) => r.values.v),
    ).toEqual([100, 101, 102]);
  });

  it('keeps at most inflightMax readings unacknowledged', async () => {
    const { link, ack } = await rig({ readings: 100, inflightMax: 30 });
    expect(link.seqs).toHaveLength(20); // two batches after the connect
    await ack({ ranges: [[1, 15]] });
    expect(link.seqs).toHaveLength(45); // the window grew by what was acked, to inflightMax
    await ack({ ranges: [[16, 45]] });
    expect(link.seqs).toHaveLength(75); // and no further
  });

  it('sends nothing while the link is down and everything unacknowledged after it is back', async () => {
    const { store, link, forwarder } = await rig({ readings: 5 });
    link.connected = false;
    forwarder.onDisconnected();
    store.append('2026-11-23T10:09:00.000Z', 6);
    await settle();
    expect(link.seqs).toEqual([1, 2, 3, 4, 5]);
    link.connected = true;
    await forwarder.onConnected();
    await settle();
    expect(link.seqs.slice(5).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('sends everything unacknowledged again at once when a receiver comes online', async () => {
    const { link, forwarder, ack } = await rig({ readings: 8 });
    await ack({ ranges: [[1, 3]] });
    const sent = link.seqs.length;
    forwarder.onReceiverOnline('receiver-0');
    await settle();
    expect(link.seqs.slice(sent)).toEqual([4, 5, 6, 7, 8]);
    // Nothing in flight: nothing to send.
    await ack({ ranges: [[4, 8]] });
    const after = link.seqs.length;
    forwarder.onReceiverOnline('receiver-1');
    await settle();
    expect(link.seqs).toHaveLength(after);
  });

  it('sends nothing between the broker accepting the connection and the session being set up', async () => {
    // mqtt.js reports `connected` at the CONNACK, before the ack subscription and presence are in place;
    // a window sent then would be sent a second time by onConnected's replay (1.4 % of a backlog drain).
    const { link, forwarder, counts } = await rig({ readings: 20, connect: false });
    expect(link.connected).toBe(true);
    expect(link.seqs).toEqual([]);
    await forwarder.onConnected();
    await settle();
    expect(link.seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(counts.published).toBe(20);
  });

  it('asks the backend about sent readings the bound dropped, and counts only those it does not store', async () => {
    const { store, link, forwarder, ack, counts } = await rig({ readings: 4 });
    // 1..4 were sent; the link goes before their ack, and the bound drops 1..3 meanwhile.
    link.connected = false;
    forwarder.onDisconnected();
    for (const seq of [1, 2, 3]) store.drop(seq);
    expect(store.dropped).toBe(0);
    store.append('2026-11-23T10:09:00.000Z', 5);
    link.connected = true;
    await forwarder.onConnected();
    await settle();
    expect(link.probes).toEqual([
      [
        { seq: 1, ts: '2026-11-23T10:00:01.000Z' },
        { seq: 2, ts: '2026-11-23T10:00:02.000Z' },
        { seq: 3, ts: '2026-11-23T10:00:03.000Z' },
      ],
    ]);
    // Stored: 1 and 3 (and the resent 4, 5); 2 never reached the backend.
    await ack({
      ranges: [[4, 5]],
      probe: {
        stored: [
          [1, 1],
          [3, 3],
        ],
        unknown: [[2, 2]],
      },
    });
    expect(store.dropped).toBe(1);
    expect([...store.unconfirmed.keys()]).toEqual([]);
    expect([...store.entries.keys()]).toEqual([]);
    expect([counts.probedStored, counts.probedUnknown]).toEqual([2, 1]);
  });

  it('leaves a dropped reading that is still in flight to its own ack, and ignores answers it did not ask for', async () => {
    const { store, link, ack } = await rig({ readings: 3 });
    store.drop(1); // in flight: its ack settles it
    await new Promise((r) => setTimeout(r, 1100)); // past the forwarder's once-a-second look for drops
    store.append('2026-11-23T10:09:00.000Z', 4);
    await settle();
    expect(link.seqs).toContain(4);
    expect(link.probes).toEqual([]);
    await ack({ ranges: [], probe: { stored: [], unknown: [[1, 1]] } });
    expect(store.dropped).toBe(0);
    await ack({ ranges: [[1, 4]] });
    expect(store.dropped).toBe(0);
    expect([...store.unconfirmed.keys()]).toEqual([]);
  });

  /**
   * Seq 1 was sent, then dropped by the bound; the link went before its ack. After the reconnect the
   * resent seq 2 carries the probe, and the backend answers `unknown` for 1.
   */
  async function countedOnUnknown() {
    const wall = { now: Date.UTC(2026, 10, 23, 12) };
    const r = await rig({ readings: 2, wallNow: () => wall.now });
    r.link.connected = false;
    r.forwarder.onDisconnected();
    r.store.drop(1);
    r.link.connected = true;
    await r.forwarder.onConnected();
    await settle();
    expect(r.link.probes).toEqual([[{ seq: 1, ts: '2026-11-23T10:00:01.000Z' }]]);
    await r.ack({ ranges: [[2, 2]], probe: { stored: [], unknown: [[1, 1]] } });
    expect(r.store.dropped).toBe(1);
    return { ...r, wall };
  }
  const pastProbeLook = () => new Promise((r) => setTimeout(r, 1100));

  it('probes a counted drop once more after the ack timeout, and takes it off the count when the backend has it by then', async () => {
    // `unknown` while an earlier batch with seq 1 was still queued at another receiver replica.
    const { store, link, ack, counts, wall } = await countedOnUnknown();
    await pastProbeLook();
    expect(link.probes).toHaveLength(1); // not yet: an earlier copy may still be on its way
    wall.now += 60_000;
    await pastProbeLook();
    expect(link.probes).toEqual([
      [{ seq: 1, ts: '2026-11-23T10:00:01.000Z' }],
      [{ seq: 1, ts: '2026-11-23T10:00:01.000Z' }],
    ]);
    await ack({ ranges: [], probe: { stored: [[1, 1]], unknown: [] } });
    expect(store.dropped).toBe(0);
    expect([...store.counted.keys(), ...store.recheck.keys()]).toEqual([]);
    expect([counts.corrected, counts.upheld]).toEqual([1, 0]);
    wall.now += 120_000;
    await pastProbeLook();
    expect(link.probes).toHaveLength(2);
  });

  it('keeps the count when the re-check says unknown again, probes no more, and still takes a very late ack', async () => {
    const { store, link, ack, counts, wall } = await countedOnUnknown();
    wall.now += 60_000;
    await pastProbeLook();
    expect(link.probes).toHaveLength(2);
    await ack({ ranges: [], probe: { stored: [], unknown: [[1, 1]] } });
    expect(store.dropped).toBe(1);
    expect([counts.corrected, counts.upheld]).toEqual([0, 1]);
    expect([...store.recheck.keys()]).toEqual([]);
    wall.now += 120_000;
    await pastProbeLook();
    expect(link.probes).toHaveLength(2);
    await ack({ ranges: [[1, 1]] });
    expect(store.dropped).toBe(0);
  });

  it('re-checks a counted drop whose due time a wall clock set back has put far ahead', async () => {
    const { link, wall } = await countedOnUnknown();
    wall.now -= 3_600_000;
    await pastProbeLook();
    expect(link.probes).toHaveLength(2);
  });

  it('sends a probe of its own when there is nothing else to send, one at a time', async () => {
    const { store, link, forwarder, ack } = await rig({ readings: 2 });
    store.drop(1); // in flight: left to its own ack …
    await ack({ ranges: [[2, 2]] });
    expect(link.probes).toEqual([]);
    // … which the link takes with it. Measuring is stopped: no reading will carry a probe.
    link.connected = false;
    forwarder.onDisconnected();
    link.connected = true;
    await forwarder.onConnected();
    await settle();
    expect(link.probes).toEqual([[{ seq: 1, ts: '2026-11-23T10:00:01.000Z' }]]);
    expect(link.batches.at(-1)).toEqual([]);
    await pastProbeLook();
    expect(link.probes).toHaveLength(1); // unanswered, within the ack timeout: not sent again
    const sent = link.batches.length;
    await ack({ ranges: [], probe: { stored: [[1, 1]], unknown: [] } });
    expect([store.dropped, store.unconfirmed.size]).toEqual([0, 0]);
    await pastProbeLook();
    expect(link.batches).toHaveLength(sent); // nothing to ask about: no empty messages
  });
});
