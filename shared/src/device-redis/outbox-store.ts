import type { Redis } from 'ioredis';
import type { Reading, SensorValues } from '../schemas/reading.js';
import { deviceKeys, type DeviceKeys } from './keys.js';

/**
 * Sent readings the bound dropped that wait for the backend's word (docs/design.md#outbox-drop-count).
 * Beyond this many the oldest are counted as dropped at once: the count may then over-state the loss.
 * A member is ~35 bytes, so the set stays well under 1 MB.
 */
export const UNCONFIRMED_DROPS_MAX = 10_000;
/** Counted drops of sent readings remembered so that a late ack can still take one off the count. */
export const COUNTED_DROPS_MAX = 10_000;

/**
 * Appends assign the seq and XADD in one Lua script, so seq and reading are persisted together by the AOF
 * (a script is one AOF entry): after any crash the outbox and the counter agree and seqs stay contiguous.
 * The same script enforces the bound: oldest readings first, over count or age. A dropped reading the
 * mqtthandler never read for sending (seq above `sent:max`) cannot be in the backend: it is counted at
 * once. One it did read may have been stored (its ack lost with a connection, or still on its way): it is
 * kept as a stub (seq and ts, no values) in `dropped:unconfirmed` until the backend answers a probe.
 * Last, the new seq is published on `outbox:appended` (a wake-up for the mqtthandler; a pub/sub channel
 * is not a key, so it comes as an argument).
 * KEYS: seq, outbox, dropped, sent:max, dropped:unconfirmed, dropped:counted.
 * ARGV: ts, values JSON, max readings, age cutoff ('' = none), unconfirmed max, counted max, channel.
 */
const APPEND_SCRIPT = `
local seq = redis.call('INCR', KEYS[1])
redis.call('XADD', KEYS[2], seq .. '-0', 'ts', ARGV[1], 'v', ARGV[2])
local sentMax = tonumber(redis.call('GET', KEYS[4]) or '0')
local dropped, unconfirmed = 0, 0
local function drop(e)
  redis.call('XDEL', KEYS[2], e[1])
  local id = string.match(e[1], '^(%d+)')
  local s = tonumber(id)
  if s <= sentMax then
    redis.call('ZADD', KEYS[5], s, id .. ' ' .. e[2][2])
    unconfirmed = unconfirmed + 1
  else
    dropped = dropped + 1
  end
end
local maxLen = tonumber(ARGV[3])
if maxLen > 0 then
  local excess = redis.call('XLEN', KEYS[2]) - maxLen
  if excess > 0 then
    for _, e in ipairs(redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', excess)) do drop(e) end
  end
end
if ARGV[4] ~= '' then
  for _ = 1, 10 do
    local old = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 100)
    local n = 0
    for _, e in ipairs(old) do
      if e[2][2] < ARGV[4] then
        drop(e)
        n = n + 1
      end
    end
    if n < 100 then break end
  end
end
if unconfirmed > 0 then
  local over = redis.call('ZCARD', KEYS[5]) - tonumber(ARGV[5])
  if over > 0 then
    local popped = redis.call('ZPOPMIN', KEYS[5], over)
    for i = 1, #popped, 2 do
      redis.call('ZADD', KEYS[6], popped[i + 1], popped[i])
      dropped = dropped + 1
    end
    local extra = redis.call('ZCARD', KEYS[6]) - tonumber(ARGV[6])
    if extra > 0 then redis.call('ZPOPMIN', KEYS[6], extra) end
  end
end
if dropped > 0 then redis.call('INCRBY', KEYS[3], dropped) end
redis.call('PUBLISH', ARGV[7], seq)
return {seq, dropped, unconfirmed}
`;

/**
 * The outbox figures of the device's state in one consistent step. A script rather than a transaction:
 * one command instead of eight (MULTI, six reads, EXEC), and the mqtthandler collects the state every
 * few seconds (a thousand simulated devices in one process: thousands of commands a second).
 * KEYS: seq, outbox, dropped, dropped:unconfirmed, rejected.
 * Returns { backlog, seq, dropped, unconfirmed, rejected, oldest entry or false }.
 */
const STATS_SCRIPT = `
local first = redis.call('XRANGE', KEYS[2], '-', '+', 'COUNT', 1)[1]
return {
  redis.call('XLEN', KEYS[2]),
  redis.call('GET', KEYS[1]) or '0',
  redis.call('GET', KEYS[3]) or '0',
  redis.call('ZCARD', KEYS[4]),
  redis.call('GET', KEYS[5]) or '0',
  first or false,
}
`;

export interface OutboxBounds {
  /** Keep at most this many readings (0 = unbounded). */
  maxReadings: number;
  /** Drop readings measured longer ago than this (0 = no age limit). */
  maxAgeMs: number;
}

export interface AppendResult {
  seq: number;
  /** Readings dropped by this append to stay within the bounds and counted as lost at once. */
  dropped: number;
  /** Sent readings dropped by this append and kept as stubs until the backend answers a probe. */
  unconfirmed: number;
}

export interface OutboxStats {
  backlog: number;
  lastSeq: number;
  oldestSeq: number | undefined;
  oldestTs: string | undefined;
  dropped: number;
  /** Dropped sent readings not counted yet (the backend may store them). */
  dropsUnconfirmed: number;
  rejected: number;
}

type StreamEntry = [id: string, fields: string[]];

/** The only code that reads or writes the outbox stream. */
export class OutboxStore {
  readonly keys: DeviceKeys;

  constructor(
    private readonly redis: Redis,
    keyPrefix?: string,
  ) {
    this.keys = deviceKeys(keyPrefix);
    if (!('sfAppend' in redis)) {
      redis.defineCommand('sfAppend', { numberOfKeys: 6, lua: APPEND_SCRIPT });
      redis.defineCommand('sfOutboxStats', { numberOfKeys: 5, lua: STATS_SCRIPT });
    }
  }

  async append(
    ts: string,
    values: SensorValues,
    bounds: OutboxBounds,
    nowMs = Date.now(),
  ): Promise<AppendResult> {
    const cutoff = bounds.maxAgeMs > 0 ? new Date(nowMs - bounds.maxAgeMs).toISOString() : '';
    const run = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<[number, number]>>)
      .sfAppend!;
    const [seq, dropped, unconfirmed] = (await run.call(
      this.redis,
      this.keys.seq,
      this.keys.outbox,
      this.keys.dropped,
      this.keys.sentMax,
      this.keys.dropsUnconfirmed,
      this.keys.dropsCounted,
      ts,
      JSON.stringify(values),
      String(bounds.maxReadings),
      cutoff,
      String(UNCONFIRMED_DROPS_MAX),
      String(COUNTED_DROPS_MAX),
      this.keys.outboxAppended,
    )) as unknown as [number, number, number];
    return { seq: Number(seq), dropped: Number(dropped), unconfirmed: Number(unconfirmed) };
  }

  /** Oldest first: readings with seq in (afterSeq, toSeq]. */
  async readRange(afterSeq: number, toSeq: number | '+', count: number): Promise<Reading[]> {
    if (toSeq !== '+' && toSeq <= afterSeq) return [];
    const end = toSeq === '+' ? '+' : `${toSeq}-0`;
    const entries = (await this.redis.xrange(
      this.keys.outbox,
      `(${afterSeq}-0`,
      end,
      'COUNT',
      count,
    )) as StreamEntry[];
    return entries.map(toReading);
  }

  /** Deletes exactly these seqs; returns how many were still there. */
  async remove(seqs: readonly number[]): Promise<number> {
    let removed = 0;
    for (let i = 0; i < seqs.length; i += 1000) {
      const ids = seqs.slice(i, i + 1000).map((s) => `${s}-0`);
      if (ids.length) removed += await this.redis.xdel(this.keys.outbox, ...ids);
    }
    return removed;
  }

  async lastSeq(): Promise<number> {
    return Number((await this.redis.get(this.keys.seq)) ?? 0);
  }

  async addRejected(n: number): Promise<void> {
    if (n > 0) await this.redis.incrby(this.keys.rejected, n);
  }

  async stats(): Promise<OutboxStats> {
    const run = (this.redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)
      .sfOutboxStats!;
    const [len, seq, dropped, unconfirmed, rejected, oldest] = (await run.call(
      this.redis,
      this.keys.seq,
      this.keys.outbox,
      this.keys.dropped,
      this.keys.dropsUnconfirmed,
      this.keys.rejected,
    )) as [number, string, string, number, string, StreamEntry | null];
    return {
      backlog: Number(len),
      lastSeq: Number(seq),
      oldestSeq: oldest ? seqOf(oldest[0]) : undefined,
      oldestTs: oldest ? fieldOf(oldest[1], 'ts') : undefined,
      dropped: Number(dropped),
      dropsUnconfirmed: Number(unconfirmed),
      rejected: Number(rejected),
    };
  }
}

function seqOf(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

function fieldOf(fields: string[], name: string): string | undefined {
  for (let i = 0; i < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function toReading([id, fields]: StreamEntry): Reading {
  return {
    seq: seqOf(id),
    ts: fieldOf(fields, 'ts') ?? '',
    values: JSON.parse(fieldOf(fields, 'v') ?? '{}') as SensorValues,
  };
}
