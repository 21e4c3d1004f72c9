import type { Redis } from 'ioredis';
import { deviceKeys } from '@sensorfleet/shared';

/**
 * Next revision = max(stored, floor) + 1, stored back. One script, so one AOF entry and no race between
 * the read and the write.
 */
const NEXT_REV = `
local stored = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[1])
local rev = math.max(stored, floor) + 1
redis.call('SET', KEYS[1], string.format('%d', rev))
return rev
`;

/**
 * How far a new process moves the revision past the stored one. Redis with `appendfsync everysec` may come
 * back from a power cut without its last second of writes, and with it the last few revisions handed out
 * (states go out every few seconds at most). Starting this far ahead means the new process never reuses
 * one of them.
 */
export const RESTART_GAP = 1000;

/**
 * Where a process starts its revisions: past the stored one by RESTART_GAP, and at least the wall clock in
 * ms. The stored revision covers the wall clock being set back (the point of revisions); the clock covers a
 * Redis that lost the key altogether (wiped, restored from an old copy): the previous revisions grew by one
 * per published state from a clock-derived start, so the current time in ms is almost always past them.
 * Only losing the key while the clock is behind the previous start leaves revisions that the backend
 * refuses, until they pass the stored ones.
 */
export function startFloor(stored: number, wallMs: number): number {
  return Math.max(stored + RESTART_GAP, Math.floor(wallMs));
}

/**
 * Revisions of the reported state (`rev`): an integer that only grows for the device, persisted in the
 * device Redis so that it survives restarts, and independent of the wall clock, which a device without an
 * RTC may have set back by an hour (the backend orders states by `rev`). Within one process a revision is
 * never lower than the last one handed out, even when Redis restarted without its last writes.
 */
export class StateRevisions {
  private readonly key: string;
  /** The last revision handed out by this process (or the start floor); undefined until the first. */
  private last: number | undefined;
  private pending: Promise<number> = Promise.resolve(0);

  constructor(
    private readonly redis: Redis,
    keyPrefix?: string,
    private readonly wallMs: () => number = Date.now,
  ) {
    this.key = deviceKeys(keyPrefix).stateRev;
  }

  /** The next revision; calls are served in order, so revisions follow the order of the calls. */
  next(): Promise<number> {
    const run = this.pending.then(
      () => this.issue(),
      () => this.issue(),
    );
    this.pending = run;
    return run;
  }

  private async issue(): Promise<number> {
    if (this.last === undefined) {
      const stored = Number((await this.redis.get(this.key)) ?? 0);
      this.last = startFloor(Number.isSafeInteger(stored) ? stored : 0, this.wallMs());
    }
    const rev = Number(await this.redis.eval(NEXT_REV, 1, this.key, String(this.last)));
    this.last = rev;
    return rev;
  }
}
