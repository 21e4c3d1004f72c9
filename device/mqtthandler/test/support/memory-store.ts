import type { Reading } from '@sensorfleet/shared';
import type { ForwarderStore, RemoveSentResult, Renumbered } from '../../src/forwarder.js';
import type { SentReading } from '../../src/replay-scheduler.js';

/**
 * The outbox in memory, with the semantics of RedisForwarderStore's scripts (forwarder-store.contract.ts
 * checks both against the same tests). Tests reach into `entries` and `counter` to stage what a Redis
 * rollback leaves behind.
 */
export class MemoryStore implements ForwarderStore {
  readonly entries = new Map<number, Reading>();
  counter = 0;
  rejected = 0;
  dropped = 0;

  append(ts: string, value: number): number {
    const seq = ++this.counter;
    this.entries.set(seq, { seq, ts, values: { v: value } });
    return seq;
  }
  async readRange(afterSeq: number, toSeq: number | '+', count: number): Promise<Reading[]> {
    return [...this.entries.values()]
      .filter((r) => r.seq > afterSeq && (toSeq === '+' || r.seq <= toSeq))
      .sort((a, b) => a.seq - b.seq)
      .slice(0, count);
  }
  async lastSeq(): Promise<number> {
    return this.counter;
  }
  async removeSent(readings: readonly SentReading[]): Promise<RemoveSentResult> {
    let removed = 0;
    let changed = 0;
    let gone = 0;
    for (const r of readings) {
      const e = this.entries.get(r.seq);
      if (e && e.ts === r.ts) removed += Number(this.entries.delete(r.seq));
      else if (e) changed++;
      else gone++;
    }
    this.dropped -= Math.min(gone, this.dropped);
    return { removed, changed, gone };
  }
  /** What the outbox bound does: the reading goes, the drop is counted. */
  drop(seq: number): void {
    if (this.entries.delete(seq)) this.dropped++;
  }
  async addRejected(n: number): Promise<void> {
    this.rejected += n;
  }
  async renumber(readings: readonly SentReading[], highestSeq: number): Promise<Renumbered[]> {
    this.counter = Math.max(this.counter, highestSeq);
    const moved: Renumbered[] = [];
    for (const r of readings) {
      const e = this.entries.get(r.seq);
      if (e?.ts !== r.ts) continue;
      const to = ++this.counter;
      this.entries.delete(r.seq);
      this.entries.set(to, { ...e, seq: to });
      moved.push({ from: r.seq, to });
    }
    return moved;
  }
}
