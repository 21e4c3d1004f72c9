import type { Reading } from '@sensorfleet/shared';
import type {
  ForwarderStore,
  ProbeCandidates,
  ProbeResult,
  ReadForSend,
  RemoveSentResult,
  Renumbered,
} from '../../src/forwarder.js';
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
  sentMax = 0;
  /** seq → ts of sent readings the bound dropped, not counted yet. */
  readonly unconfirmed = new Map<number, string>();
  /** seq → ts of sent readings counted as dropped (a late ack takes one off). */
  readonly counted = new Map<number, string>();
  /** seq → ts and due time (wall-clock ms) of counted drops waiting for their one re-check. */
  readonly recheck = new Map<number, { ts: string; due: number }>();

  append(ts: string, value: number): number {
    const seq = ++this.counter;
    this.entries.set(seq, { seq, ts, values: { v: value } });
    return seq;
  }
  async readRange(afterSeq: number, toSeq: number | '+', count: number): Promise<Reading[]> {
    const read = [...this.entries.values()]
      .filter((r) => r.seq > afterSeq && (toSeq === '+' || r.seq <= toSeq))
      .sort((a, b) => a.seq - b.seq)
      .slice(0, count);
    this.sentMax = Math.max(this.sentMax, read[read.length - 1]?.seq ?? 0);
    return read;
  }
  async readForSend(afterSeq: number, toSeq: number | '+', count: number): Promise<ReadForSend> {
    const readings = await this.readRange(afterSeq, toSeq, count);
    const dropsPending = this.unconfirmed.size + this.recheck.size > 0;
    return { readings, lastSeq: this.counter, dropsPending };
  }
  async probeCandidates(now: number, settleMs: number, max: number): Promise<ProbeCandidates> {
    const rechecks = [...this.recheck]
      .filter(([, r]) => r.due <= now || r.due > now + settleMs)
      .sort(([, a], [, b]) => a.due - b.due)
      .slice(0, max)
      .map(([seq, { ts }]) => ({ seq, ts }));
    const unconfirmed = [...this.unconfirmed]
      .sort(([a], [b]) => a - b)
      .slice(0, max - rechecks.length)
      .map(([seq, ts]) => ({ seq, ts }));
    return { rechecks, unconfirmed };
  }
  async resolveProbe(
    stored: readonly SentReading[],
    unknown: readonly SentReading[],
    recheckAt: number,
  ): Promise<ProbeResult> {
    const result: ProbeResult = { confirmed: 0, counted: 0, corrected: 0, upheld: 0 };
    const answer = (r: SentReading, isStored: boolean) => {
      if (this.unconfirmed.get(r.seq) === r.ts) {
        this.unconfirmed.delete(r.seq);
        if (isStored) result.confirmed++;
        else {
          this.counted.set(r.seq, r.ts);
          this.recheck.set(r.seq, { ts: r.ts, due: recheckAt });
          result.counted++;
        }
      } else if (this.recheck.get(r.seq)?.ts === r.ts) {
        this.recheck.delete(r.seq);
        if (isStored) {
          this.counted.delete(r.seq);
          result.corrected++;
        } else result.upheld++;
      }
    };
    for (const r of stored) answer(r, true);
    for (const r of unknown) answer(r, false);
    this.dropped += result.counted;
    this.dropped -= Math.min(result.corrected, this.dropped);
    return result;
  }
  async lastSeq(): Promise<number> {
    return this.counter;
  }
  async removeSent(readings: readonly SentReading[]): Promise<RemoveSentResult> {
    let removed = 0;
    let changed = 0;
    let gone = 0;
    let uncounted = 0;
    for (const r of readings) {
      const e = this.entries.get(r.seq);
      if (e && e.ts === r.ts) removed += Number(this.entries.delete(r.seq));
      else if (e) changed++;
      else {
        gone++;
        if (this.unconfirmed.get(r.seq) === r.ts) this.unconfirmed.delete(r.seq);
        else {
          const counted = this.counted.get(r.seq) === r.ts && this.counted.delete(r.seq);
          const rechecked = this.recheck.get(r.seq)?.ts === r.ts && this.recheck.delete(r.seq);
          if (counted || rechecked) uncounted++;
        }
      }
    }
    this.dropped -= Math.min(uncounted, this.dropped);
    return { removed, changed, gone };
  }
  /**
   * What the outbox bound does: the reading goes; counted at once if it was never read for sending, else
   * kept unconfirmed (no bound here: the tests stay far below UNCONFIRMED_DROPS_MAX).
   */
  drop(seq: number): void {
    const e = this.entries.get(seq);
    if (!e) return;
    this.entries.delete(seq);
    if (seq <= this.sentMax) this.unconfirmed.set(seq, e.ts);
    else this.dropped++;
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
