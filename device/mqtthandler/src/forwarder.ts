import { performance } from 'node:perf_hooks';
import {
  Ack,
  createDecoder,
  fromRanges,
  MAX_PROBED_DROPS,
  SEQ_CONFLICT_REASON,
  type Logger,
  type Reading,
} from '@sensorfleet/shared';
import { HINTED_IDLE_POLL_MS, ReplayScheduler, type SentReading } from './replay-scheduler.js';

export interface TelemetryPublisher {
  /**
   * Publishes one `{"v":1,"readings":[…]}` payload; resolves when the broker has accepted it (PUBACK),
   * rejects if the link drops first.
   */
  publishTelemetry(payload: string): Promise<void>;
  readonly connected: boolean;
}

/** A reading moved to a fresh seq after a seq conflict. */
export interface Renumbered {
  from: number;
  to: number;
}

/** The outbox operations the forwarder needs (RedisForwarderStore in production). */
export interface ForwarderStore {
  /**
   * Oldest first: readings with seq in (afterSeq, toSeq], read for sending: in the same step the highest
   * seq ever read for sending is raised, so the outbox bound keeps a dropped one of them unconfirmed
   * (it may reach the backend) instead of counting it.
   */
  readRange(afterSeq: number, toSeq: number | '+', count: number): Promise<Reading[]>;
  /**
   * readRange, and in the same step what the forwarder checks around each send: the seq counter (a
   * counter below a seq already seen means Redis lost writes) and whether any dropped-reading stub waits
   * in the probe sets. A live send is then one round trip, not three (a 1 Hz device made the counter
   * check and the probe look for nearly every reading).
   */
  readForSend(afterSeq: number, toSeq: number | '+', count: number): Promise<ReadForSend>;
  lastSeq(): Promise<number>;
  /**
   * Deletes the readings whose seq and ts both still match. `changed`: seqs that now hold a different
   * reading (the counter went back); `gone`: seqs no longer there at all (dropped by the outbox bound
   * after they were sent): they reached the backend after all, so an unconfirmed drop is settled and a
   * counted one is taken off the drop count.
   */
  removeSent(readings: readonly SentReading[]): Promise<RemoveSentResult>;
  /**
   * The stubs the next probe names, `max` at most, in one look: counted drops whose one re-check is due by
   * `now` (wall-clock ms), or due more than `settleMs` after it (the clock stepped back since they were
   * scheduled); then, oldest first, sent readings the bound dropped that are not counted yet (seq and ts).
   */
  probeCandidates(now: number, settleMs: number, max: number): Promise<ProbeCandidates>;
  /**
   * The backend's answer to a probe: `stored` unconfirmed drops are settled, `unknown` ones are counted
   * as dropped (and remembered, so a late ack can still take them off) and are due for one re-check at
   * `recheckAt` (wall-clock ms). A re-checked one answered `stored` is taken off the count again; one
   * answered `unknown` stays counted. Stubs no longer waiting, or whose ts differs, are left alone.
   */
  resolveProbe(
    stored: readonly SentReading[],
    unknown: readonly SentReading[],
    recheckAt: number,
  ): Promise<ProbeResult>;
  addRejected(n: number): Promise<void>;
  /**
   * Atomically raises the seq counter to at least `highestSeq` and moves each named reading (when seq and
   * ts still match) to a new seq above it, unchanged.
   */
  renumber(readings: readonly SentReading[], highestSeq: number): Promise<Renumbered[]>;
}

export interface ReadForSend {
  readings: Reading[];
  /** The seq counter when the readings were read. */
  lastSeq: number;
  /** Whether the unconfirmed-drop or re-check set holds any stub (a probe look may find something). */
  dropsPending: boolean;
}

export interface ProbeCandidates {
  rechecks: SentReading[];
  unconfirmed: SentReading[];
}

export interface ProbeResult {
  /** Unconfirmed drops the backend stores: not lost. */
  confirmed: number;
  /** Unconfirmed drops the backend does not have: counted as dropped now. */
  counted: number;
  /** Counted drops the re-check found stored after all: taken off the count. */
  corrected: number;
  /** Counted drops the re-check found missing again: the count stands. */
  upheld: number;
}

export interface RemoveSentResult {
  removed: number;
  changed: number;
  gone: number;
}

export interface ForwarderMetrics {
  published(readings: number, bytes: number): void;
  acked(stored: number, rejected: number): void;
  resends(): void;
  seqConflicts(n: number): void;
  seqRollbacks(): void;
  /** Unconfirmed drops a probe answer settled: stored (not lost) and unknown (counted). */
  probeAnswered(stored: number, unknown: number): void;
  /** Counted drops re-checked: stored after all (taken off the count) and still unknown (count stands). */
  probeRechecked(corrected: number, upheld: number): void;
}

const ackDecoder = createDecoder(Ack, { maxBytes: 1_000_000 });

/** Unconfirmed drops named in one probe (at most the receiver's MAX_PROBED_DROPS). */
const PROBE_MAX = Math.min(500, MAX_PROBED_DROPS);

/** How often the outbox's last seq is compared with what was already seen (detects a Redis rollback). */
const ROLLBACK_CHECK_MS = 1000;

/**
 * Store-and-forward: reads the outbox through the ReplayScheduler, publishes batches, and deletes readings
 * only when an ack names them. Nothing is removed on publish: a reading leaves Redis only after the backend
 * says it is committed (or will never be accepted). Acks are matched against what this process sent
 * (seq and ts), so an ack can never delete a different reading that reuses a seq after a Redis rollback.
 */
export class Forwarder {
  readonly name = 'forwarder';
  private readonly scheduler: ReplayScheduler;
  private timer: NodeJS.Timeout | undefined;
  /** A pump set for when a hinted live reading's batch wait ends (at most one pending). */
  private liveTimer: NodeJS.Timeout | undefined;
  /**
   * Set by onConnected, cleared by onDisconnected: the link reports `connected` from the broker's CONNACK,
   * before the ack subscription and presence are set up. A window sent in that gap would be sent again by
   * onConnected's replay (and its acks could be missed), so nothing leaves before the session is ready.
   */
  private sessionReady = false;
  private pumping: Promise<void> | undefined;
  private again = false;
  private active = false;
  private epoch = 0;
  private lastRollbackCheck = Number.NEGATIVE_INFINITY;
  /** Seqs an ack being applied is removing from the outbox. */
  private readonly removing = new Set<number>();
  /**
   * The last probe sent (seq → ts of each stub) and when: its answer is matched against it, and the next
   * probe waits for the answer or the ack timeout.
   */
  private probe: { sentAt: number; stubs: Map<number, string> } | undefined;
  /** No unconfirmed drops were found: look again from then on (one Redis read per second at most). */
  private nextProbeLook = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly deps: {
      store: ForwarderStore;
      link: TelemetryPublisher;
      log: Logger;
      metrics: ForwarderMetrics;
      batchMax: number;
      batchMaxWaitMs: number;
      inflightMax: number;
      ackTimeoutMs: number;
      /** Monotonic ms (default performance.now). */
      now?: () => number;
      /** Wall-clock ms (default Date.now): re-check due times outlive the process, in Redis. */
      wallNow?: () => number;
    },
  ) {
    this.scheduler = new ReplayScheduler(deps);
  }

  get inflight(): number {
    return this.scheduler.inflightCount;
  }

  async start(): Promise<void> {
    this.active = true;
    this.startTimer(this.scheduler.hintsOn);
  }

  /**
   * The pump's timer. Without append hints it is the live poll (every half batch wait); with them it only
   * drives the slow poll, ack timeouts and rollback checks, so it runs less often (1,000 simulated devices
   * in one process spent a tenth of their CPU on empty pumps).
   */
  private startTimer(hints: boolean): void {
    if (this.timer) clearInterval(this.timer);
    const every = hints ? HINTED_IDLE_POLL_MS / 2 : Math.max(10, Math.floor(this.deps.batchMaxWaitMs / 2));
    this.timer = setInterval(() => this.kick(), every);
  }

  async stop(): Promise<void> {
    this.active = false;
    if (this.timer) clearInterval(this.timer);
    if (this.liveTimer) clearTimeout(this.liveTimer);
    // Unacked readings simply stay in the outbox: the next start sends them again.
    await this.pumping;
  }

  /** The link is (again) up: everything unacknowledged gets sent again, backlog behind live. */
  async onConnected(): Promise<void> {
    this.sessionReady = true;
    await this.restart('link up: replaying the outbox');
  }

  /**
   * A receiver has just subscribed (its live presence `true`): readings sent before it may have met no
   * subscriber at all (a restarted broker drops them with a PUBACK), so everything unacknowledged is
   * sent again now rather than after the ack timeout. Stored twice is a no-op at the backend.
   */
  onReceiverOnline(replicaId: string): void {
    if (this.scheduler.inflightCount === 0) return;
    this.deps.log.info(
      { replicaId, inflight: this.scheduler.inflightCount },
      'a receiver came online: sending unacknowledged readings again',
    );
    this.scheduler.resendUnacked();
    this.kick();
  }

  /**
   * The sensor's append hints are arriving (`on`), or may not be (the subscriber lost its connection).
   * Switching them on pumps once: a hint may have been missed while they were off.
   */
  setAppendHints(on: boolean): void {
    if (this.active && on !== this.scheduler.hintsOn) this.startTimer(on);
    this.scheduler.setHints(on);
    if (on) this.kick();
  }

  /**
   * The sensor appended `seq` (docs/design.md#device-redis, `outbox:appended`): the live read happens now,
   * or when the batch wait since the last live send ends, rather than at the next poll.
   */
  onAppended(seq: number): void {
    if (!this.active || !Number.isSafeInteger(seq)) return;
    this.scheduler.appended(seq);
    const wait = this.scheduler.liveDueAt() - this.monotonicNow();
    if (wait <= 0) return this.kick();
    if (this.liveTimer) return;
    this.liveTimer = setTimeout(() => {
      this.liveTimer = undefined;
      this.kick();
    }, wait);
  }

  onDisconnected(): void {
    this.sessionReady = false;
    this.epoch++;
  }

  /**
   * Redis is back after a connection loss: it may have restarted and lost its last second (the seq counter
   * went back), so nothing in flight is trusted any more and the outbox is read from the start again.
   */
  async onStoreReconnected(): Promise<void> {
    await this.restart('Redis reconnected: replaying the outbox', true);
  }

  async onAck(payload: Buffer): Promise<void> {
    const decoded = ackDecoder.decode(payload);
    if (!decoded.ok) {
      this.deps.log.warn({ reason: decoded.reason, error: decoded.error }, 'ignoring malformed ack');
      return;
    }
    const ack = decoded.value;
    if (ack.probe) await this.onProbeAnswer(ack.probe);
    let storedSeqs: number[];
    try {
      storedSeqs = fromRanges(ack.ranges, 1_000_000);
    } catch (err) {
      this.deps.log.warn({ err }, 'ignoring ack naming too many seqs');
      return;
    }
    // Only what this process sent since Redis last restarted (in flight, or before a reconnect): an older ack may name
    // a seq that now belongs to another reading. Anything else is resent and acked again.
    const sent = (seqs: Iterable<number>): SentReading[] => {
      const out: SentReading[] = [];
      for (const seq of seqs) {
        const ts = this.scheduler.inflightTs(seq);
        if (ts !== undefined) out.push({ seq, ts });
      }
      return out;
    };
    const conflictSeqs = new Set<number>();
    const rejectedSeqs = new Set<number>();
    for (const r of ack.rejected ?? []) {
      (r.reason === SEQ_CONFLICT_REASON ? conflictSeqs : rejectedSeqs).add(r.seq);
    }
    // A seq another ack is removing right now is that ack's: counted once (a gone reading would otherwise
    // be taken off the drop count twice).
    const mine = (readings: SentReading[]) => readings.filter((r) => !this.removing.has(r.seq));
    const stored = mine(sent(storedSeqs.filter((s) => !conflictSeqs.has(s) && !rejectedSeqs.has(s))));
    const rejected = mine(sent(rejectedSeqs));
    const conflicts = sent(conflictSeqs);
    for (const r of [...stored, ...rejected]) this.removing.add(r.seq);
    try {
      await this.applyAck(stored, rejected, conflicts, ack.highestSeq ?? 0, ack.rejected);
    } finally {
      for (const r of [...stored, ...rejected]) this.removing.delete(r.seq);
    }
  }

  /**
   * The backend's word on the unconfirmed drops of the last probe (docs/design.md#outbox-drop-count):
   * stored ones were not lost, unknown ones are counted now. Seqs not in that probe are ignored.
   */
  private async onProbeAnswer(answer: NonNullable<Ack['probe']>): Promise<void> {
    const probe = this.probe;
    if (!probe) return;
    const pick = (ranges: Ack['ranges']): SentReading[] => {
      let seqs: number[];
      try {
        seqs = fromRanges(ranges, MAX_PROBED_DROPS);
      } catch {
        return [];
      }
      const out: SentReading[] = [];
      for (const seq of seqs) {
        const ts = probe.stubs.get(seq);
        if (ts !== undefined) out.push({ seq, ts });
      }
      return out;
    };
    const stored = pick(answer.stored);
    const unknown = pick(answer.unknown);
    if (!stored.length && !unknown.length) return;
    for (const r of [...stored, ...unknown]) probe.stubs.delete(r.seq);
    if (!probe.stubs.size) this.probe = undefined;
    // The settle delay: an earlier batch carrying an `unknown` one may still be queued at, or being
    // committed by, another receiver replica; while the link is up that takes no longer than the ack timeout.
    const recheckAt = this.wallNow() + this.deps.ackTimeoutMs;
    const { confirmed, counted, corrected, upheld } = await this.deps.store.resolveProbe(
      stored,
      unknown,
      recheckAt,
    );
    this.deps.metrics.probeAnswered(confirmed, counted);
    if (corrected || upheld) this.deps.metrics.probeRechecked(corrected, upheld);
    this.deps.log.info(
      { confirmed, counted, corrected, upheld },
      'backend answered the probe for dropped sent readings: the stored ones are not lost, the others counted',
    );
  }

  private async applyAck(
    stored: SentReading[],
    rejected: SentReading[],
    conflicts: SentReading[],
    highestSeq: number,
    reasons: Ack['rejected'],
  ): Promise<void> {
    if (rejected.length) {
      this.deps.log.warn(
        { rejected: reasons?.filter((r) => r.reason !== SEQ_CONFLICT_REASON).slice(0, 20) },
        'backend rejected readings as invalid; removing them',
      );
      await this.deps.store.addRejected(rejected.length);
    }
    const { changed, gone } = await this.deps.store.removeSent([...stored, ...rejected]);
    if (gone) {
      this.deps.log.info(
        { gone },
        'acked readings the outbox bound had dropped while in flight: not lost, taken off the drop count',
      );
    }
    this.scheduler.acked(stored.map((r) => r.seq));
    this.scheduler.acked(rejected.map((r) => r.seq));
    this.deps.metrics.acked(stored.length, rejected.length);
    if (changed) {
      // Other readings took over seqs we had sent: they are behind the live cursor, so start over.
      this.deps.log.warn(
        { changed },
        'acked seqs hold other readings now (Redis rollback); replaying the outbox',
      );
      await this.restart('replaying the outbox after a seq rollback', true);
      return;
    }

    if (conflicts.length || highestSeq > this.scheduler.highestSeen) {
      await this.renumber(conflicts, highestSeq);
    }
    this.kick();
  }

  /** Runs a pump now, or right after the current one, when it has something to do. */
  kick(): void {
    if (!this.active) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    if (!this.pumpDue()) return;
    this.pumping = this.pump()
      .catch((err: unknown) => this.deps.log.warn({ err }, 'forwarding paused by an error; retrying'))
      .finally(() => {
        this.pumping = undefined;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /**
   * Whether a pump now would do anything (the checks it starts with): most timer ticks and the kick after
   * each ack find nothing due, and even an empty pump is an async chain (a thousand simulated devices in
   * one process ran thousands a second for nothing).
   */
  private pumpDue(): boolean {
    if (!this.deps.link.connected || !this.sessionReady) return false;
    const now = this.monotonicNow();
    return (
      now - this.lastRollbackCheck >= ROLLBACK_CHECK_MS ||
      this.scheduler.timedOut(now) ||
      this.scheduler.next(now) !== undefined
    );
  }

  private async restart(why: string, forget = false): Promise<void> {
    this.epoch++;
    // After a reconnect acks may have been lost: look for unconfirmed drops with the first batch.
    this.nextProbeLook = Number.NEGATIVE_INFINITY;
    const lastSeq = await this.deps.store.lastSeq();
    this.scheduler.reset(lastSeq, forget);
    this.deps.log.info({ lastSeq }, why);
    this.kick();
  }

  /**
   * The backend holds other measurements under these seqs: Redis lost writes and the counter went back.
   * The readings are moved above the backend's highest seq (same ts and values) and sent again from there.
   */
  private async renumber(conflicts: SentReading[], highestSeq: number): Promise<void> {
    const moved = await this.deps.store.renumber(conflicts, highestSeq);
    this.scheduler.acked(conflicts.map((r) => r.seq));
    if (!conflicts.length) {
      this.deps.log.warn(
        { highestSeq, lastSeenSeq: this.scheduler.highestSeen },
        'backend holds higher seqs than the device: seq counter raised (Redis lost writes?)',
      );
      return;
    }
    this.deps.metrics.seqConflicts(moved.length);
    this.deps.log.error(
      {
        conflicts: conflicts.length,
        renumbered: moved.length,
        highestSeq,
        first: moved[0],
        last: moved[moved.length - 1],
      },
      'seq conflict: the backend stores other readings under these seqs (Redis lost its last writes); ' +
        'readings renumbered above the backend’s highest seq and sent again',
    );
  }

  /**
   * Drops to ask the backend about with the next batch (counted ones due for their re-check first, then
   * unconfirmed ones): when there are any, and the last probe was answered or has waited longer than the
   * ack timeout. Readings still in flight are left out: their own ack settles them.
   */
  private async probeDue(now: number, dropsPending: boolean): Promise<SentReading[] | undefined> {
    if (this.probe && now - this.probe.sentAt <= this.deps.ackTimeoutMs) return undefined;
    // Both sets empty (the read just said so): a look would find nothing, and a live send need not wait.
    if (!dropsPending) {
      this.probe = undefined;
      return undefined;
    }
    if (!this.probe && now < this.nextProbeLook) return undefined;
    const { store, ackTimeoutMs } = this.deps;
    const { rechecks, unconfirmed } = await store.probeCandidates(this.wallNow(), ackTimeoutMs, PROBE_MAX);
    const bySeq = new Map<number, string>();
    // One stub per seq: an answer names seqs only (a seq reused after a rollback waits for the next probe).
    for (const r of [...rechecks, ...unconfirmed]) {
      if (!bySeq.has(r.seq) && !this.scheduler.inFlight(r.seq)) bySeq.set(r.seq, r.ts);
    }
    const stubs = [...bySeq].map(([seq, ts]) => ({ seq, ts }));
    if (!stubs.length) {
      this.probe = undefined;
      this.nextProbeLook = now + ROLLBACK_CHECK_MS;
      return undefined;
    }
    this.probe = { sentAt: now, stubs: bySeq };
    return stubs;
  }

  private async pump(): Promise<void> {
    // Durations only (batch wait, ack timeout, rollback checks): on the wall clock a step back would hold
    // live readings back for the size of the step, and a step ahead would fake an ack timeout.
    const now = () => this.monotonicNow();
    const { link, store } = this.deps;
    if (!link.connected || !this.sessionReady) return;
    const epoch = this.epoch;
    // Every read brings the seq counter along; only a pump with nothing to read asks for it on its own.
    if (now() - this.lastRollbackCheck >= ROLLBACK_CHECK_MS && this.scheduler.next(now()) === undefined) {
      this.lastRollbackCheck = now();
      const lastSeq = await store.lastSeq();
      if (epoch !== this.epoch) return;
      if (this.rolledBack(lastSeq)) return this.pump();
    }
    if (this.scheduler.timedOut(now())) {
      this.deps.metrics.resends();
      this.deps.log.warn(
        { inflight: this.scheduler.inflightCount },
        'no ack in time: sending unacknowledged readings again',
      );
      this.scheduler.resendUnacked();
    }
    let published = false;
    let caughtUp = false;
    let dropsPending = false;
    // Bounded rounds per pump keep one pump short; the timer and acks call it again.
    for (let round = 0; round < 50 && link.connected && this.active && epoch === this.epoch; round++) {
      const req = this.scheduler.next(now());
      if (!req) break;
      const read = await store.readForSend(req.afterSeq, req.toSeq, req.count);
      if (epoch !== this.epoch) break;
      this.lastRollbackCheck = now();
      // Read in the same step as the counter: after a rollback these may be readings that reuse seqs.
      if (this.rolledBack(read.lastSeq)) return this.pump();
      dropsPending = read.dropsPending;
      const { readings } = read;
      this.scheduler.sent(req, readings, now());
      if (!readings.length) {
        if (req.kind === 'live') caughtUp = true;
        continue;
      }
      published = true;
      this.publish(readings, await this.probeDue(now(), dropsPending));
    }
    // Nothing new to send (measuring stopped, backlog done): a due probe goes on its own, or stubs would
    // wait for the next reading however long that takes.
    if (
      caughtUp &&
      !published &&
      !this.scheduler.backlogRemaining &&
      link.connected &&
      this.active &&
      epoch === this.epoch
    ) {
      const probe = await this.probeDue(now(), dropsPending);
      if (probe && epoch === this.epoch) this.publish([], probe);
    }
  }

  /**
   * Whether the outbox's seq counter is below a seq already seen: readings appended from now on reuse
   * seqs the live cursor has passed, so the scheduler starts over from the outbox (the caller pumps again).
   */
  private rolledBack(lastSeq: number): boolean {
    if (lastSeq >= this.scheduler.highestSeen) return false;
    this.deps.metrics.seqRollbacks();
    this.deps.log.error(
      { lastSeq, highestSeen: this.scheduler.highestSeen },
      'outbox seq counter went back (Redis restarted without its last writes); replaying the outbox',
    );
    this.epoch++;
    this.scheduler.reset(lastSeq, true);
    return true;
  }

  private monotonicNow(): number {
    return this.deps.now ? this.deps.now() : performance.now();
  }

  /** Wall-clock ms: only for re-check due times, which live in Redis beyond this process. */
  private wallNow(): number {
    return this.deps.wallNow ? this.deps.wallNow() : Date.now();
  }

  private publish(readings: Reading[], probe: SentReading[] | undefined): void {
    const payload = JSON.stringify(probe ? { v: 1, readings, probe } : { v: 1, readings });
    // Not awaited: a PUBACK lost with the connection may never resolve, and the window is governed by
    // the backend's acks anyway. Unconfirmed readings are resent after reconnect or ack timeout.
    this.deps.link.publishTelemetry(payload).then(
      () => this.deps.metrics.published(readings.length, Buffer.byteLength(payload)),
      (err: unknown) => this.deps.log.debug({ err }, 'publish not confirmed; will resend after reconnect'),
    );
  }
}
