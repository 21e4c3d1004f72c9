import type { Ack } from '@sensorfleet/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { BatchResult } from '../../src/ingest/batch-writer.js';
import type { IngestItem } from '../../src/ingest/ingest-item.js';
import { IngestLoop } from '../../src/ingest/ingest-loop.js';
import { summarise } from '../../src/ingest/message-log.js';
import { item, reading } from '../support/items.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} } as never;

/** A writer whose outcome the test decides: every reading stored, unless `fail` says otherwise. */
function fakeWriter(opts: { fail?: () => boolean; conflicts?: Set<number> } = {}) {
  const batches: IngestItem[][] = [];
  const write = async (items: IngestItem[]): Promise<BatchResult> => {
    if (opts.fail?.()) throw new Error('database down');
    batches.push(items);
    const outcomes = items.map((it) =>
      it.readings.map((r) => (opts.conflicts?.has(r.seq) ? ('conflict' as const) : ('stored' as const))),
    );
    return {
      batchId: batches.length,
      outcomes,
      summaries: items.map((it, i) => summarise(it, outcomes[i]!)),
      rows: 0,
      inserted: 0,
      checked: false,
      highestSeq: new Map(items.map((it) => [it.deviceId, 41])),
      attempts: 1,
    };
  };
  return { batches, write };
}

function loop(
  write: (items: IngestItem[]) => Promise<BatchResult>,
  over: Partial<ConstructorParameters<typeof IngestLoop>[0]> = {},
) {
  const acks: [string, Ack][] = [];
  const l = new IngestLoop({
    write,
    publishAck: async (d, a) => void acks.push([d, a]),
    maxRows: 1000,
    maxWaitMs: 5,
    maxPendingRows: 10_000,
    log: silent,
    metrics: { committed() {}, writeFailed() {}, pending() {} },
    ...over,
  });
  return { l, acks };
}

afterEach(() => vi.useRealTimers());

describe('IngestLoop', () => {
  it('answers a probe after the commit, in the ack of its device (an ack of its own if needed)', async () => {
    const w = fakeWriter();
    const asked: [string, number[]][] = [];
    const { l, acks } = loop(w.write, {
      answerProbe: async (deviceId, stubs) => {
        asked.push([deviceId, stubs.map((s) => s.seq)]);
        return { stored: [[1, 1]], unknown: [[2, 2]] };
      },
    });
    await l.start();
    const probe = [1, 2].map((seq) => ({ seq, measuredMs: seq }));
    await l.accept({ ...item({ deviceId: 'a', readings: [reading(7)] }), probe });
    await l.accept({ ...item({ deviceId: 'b', readings: [] }), probe });
    await vi.waitFor(() => expect(acks).toHaveLength(2));
    expect(asked.sort()).toEqual([
      ['a', [1, 2]],
      ['b', [1, 2]],
    ]);
    const answer = { stored: [[1, 1]], unknown: [[2, 2]] };
    expect(Object.fromEntries(acks)).toEqual({
      a: { v: 1, ranges: [[7, 7]], probe: answer },
      b: { v: 1, ranges: [], probe: answer },
    });
    await l.stop();
  });

  it('acks as usual when a probe cannot be answered', async () => {
    const w = fakeWriter();
    const { l, acks } = loop(w.write, {
      answerProbe: async () => {
        throw new Error('database gone');
      },
    });
    await l.start();
    await l.accept({
      ...item({ deviceId: 'a', readings: [reading(7)] }),
      probe: [{ seq: 1, measuredMs: 1 }],
    });
    await vi.waitFor(() => expect(acks).toHaveLength(1));
    expect(acks[0]).toEqual(['a', { v: 1, ranges: [[7, 7]] }]);
    await l.stop();
  });

  it('coalesces messages of many devices into one transaction, then acks each device', async () => {
    const w = fakeWriter();
    const { l, acks } = loop(w.write);
    await l.start();
    await l.accept(item({ deviceId: 'a', readings: [reading(1)] }));
    await l.accept(item({ deviceId: 'b', readings: [reading(7), reading(8)] }));
    await l.accept(item({ deviceId: 'a', readings: [reading(2)] }));
    await vi.waitFor(() => expect(acks).toHaveLength(2));
    expect(w.batches).toHaveLength(1);
    expect(Object.fromEntries(acks)).toEqual({
      a: { v: 1, ranges: [[1, 2]] },
      b: { v: 1, ranges: [[7, 8]] },
    });
    await l.stop();
  });

  it('acks nothing while the database fails, keeps the batch and acks it once a retry commits', async () => {
    let down = true;
    const w = fakeWriter({ fail: () => down });
    const failed = vi.fn();
    const { l, acks } = loop(w.write, { metrics: { committed() {}, writeFailed: failed, pending() {} } });
    await l.start();
    await l.accept(item({ readings: [reading(1)] }));
    await vi.waitFor(() => expect(failed).toHaveBeenCalledTimes(2), { timeout: 2000 });
    expect(acks).toEqual([]);
    expect(l.healthy).toBe(false);
    down = false;
    await vi.waitFor(() => expect(acks).toHaveLength(1), { timeout: 3000 });
    expect(l.healthy).toBe(true);
    await l.stop();
  });

  it('holds accept() back while too many rows wait (the MQTT side stops taking messages)', async () => {
    let down = true;
    const w = fakeWriter({ fail: () => down });
    const { l } = loop(w.write, { maxPendingRows: 10 });
    await l.start();
    let resolved = false;
    // 1 reading of 2 values + 1 per message = 3 rows; the 4th message reaches 12 ≥ 10.
    for (let i = 1; i <= 3; i++) expect(l.accept(item({ readings: [reading(i)] }))).toBeUndefined();
    const held = l.accept(item({ readings: [reading(4)] }));
    expect(held).toBeInstanceOf(Promise);
    void held?.then(() => (resolved = true));
    await new Promise((r) => setTimeout(r, 300));
    expect(resolved).toBe(false);
    expect(l.paused).toBe(true);
    down = false;
    await vi.waitFor(() => expect(resolved).toBe(true), { timeout: 3000 });
    await l.stop();
  });

  it('passes seq conflicts to the ack with the highest stored seq', async () => {
    const w = fakeWriter({ conflicts: new Set([5]) });
    const { l, acks } = loop(w.write);
    await l.start();
    await l.accept(item({ readings: [reading(4), reading(5)] }));
    await vi.waitFor(() => expect(acks).toHaveLength(1));
    expect(acks[0]![1]).toEqual({
      v: 1,
      ranges: [[4, 4]],
      rejected: [{ seq: 5, reason: 'seq_conflict' }],
      highestSeq: 41,
    });
    await l.stop();
  });

  it('stop() commits and acks what it already took', async () => {
    const w = fakeWriter();
    const { l, acks } = loop(w.write, { maxWaitMs: 60_000 });
    await l.start();
    await l.accept(item({ readings: [reading(1)] }));
    await l.stop();
    expect(acks).toHaveLength(1);
  });
});
