import type { Redis } from 'ioredis';
import { COUNTED_DROPS_MAX, type OutboxStore, type Reading, type SensorValues } from '@sensorfleet/shared';
import type {
  ForwarderStore,
  ProbeCandidates,
  ProbeResult,
  ReadForSend,
  RemoveSentResult,
  Renumbered,
} from './forwarder.js';
import type { SentReading } from './replay-scheduler.js';

/**
 * Readings renumbered after a seq conflict (count only ever grows). Only the mqtthandler reads and writes
 * it, so it is named here and not in shared's device key layout.
 */
export const seqConflictsKey = (prefix = 'sf:') => `${prefix}seq:conflicts`;

/** Lua helper: a stream entry's field by name (entries are flat [name, value, …] arrays). */
const FIELD = `
local function field(fields, name)
  for i = 1, #fields, 2 do
    if fields[i] == name then return fields[i + 1] end
  end
  return nil
end
`;

/**
 * Deletes the entries whose seq AND measurement time match what was sent. A seq alone is not enough:
 * after Redis lost its last second (appendfsync everysec, power loss) the seq counter goes back, and a
 * late ack for a reading sent before the crash must not delete the different reading that now has its seq.
 * An acked reading that is gone altogether was dropped by the outbox bound after it was sent: it reached
 * the backend after all. If it waits as an unconfirmed drop, the stub goes (it was never counted); if it
 * was counted (the backend had not had it yet when asked, or the unconfirmed set was full), it is taken
 * off the count, and off the re-check list (a member there is counted and not yet taken off, even if
 * dropped:counted has let it go). Any other gone seq changes nothing (its stub was already confirmed).
 * KEYS: outbox, dropped, dropped:unconfirmed, dropped:counted, dropped:recheck.
 */
const REMOVE_SENT = `${FIELD}
local removed, changed, gone, uncounted = 0, 0, 0, 0
for i = 1, #ARGV, 2 do
  local id = ARGV[i] .. '-0'
  local e = redis.call('XRANGE', KEYS[1], id, id)[1]
  if e then
    if field(e[2], 'ts') == ARGV[i + 1] then
      removed = removed + redis.call('XDEL', KEYS[1], id)
    else
      changed = changed + 1
    end
  else
    gone = gone + 1
    local member = ARGV[i] .. ' ' .. ARGV[i + 1]
    if redis.call('ZREM', KEYS[3], member) == 0 then
      local c = redis.call('ZREM', KEYS[4], member)
      if c + redis.call('ZREM', KEYS[5], member) > 0 then uncounted = uncounted + 1 end
    end
  end
end
if uncounted > 0 then
  local dropped = tonumber(redis.call('GET', KEYS[2]) or '0')
  if dropped > 0 then redis.call('DECRBY', KEYS[2], math.min(uncounted, dropped)) end
end
return {removed, changed, gone}
`;

/**
 * Reads readings for sending and raises `sent:max` to the last seq read, in one step: a reading the bound
 * drops after this can only be one that may reach the backend, so the append script keeps it unconfirmed
 * instead of counting it. Returns the entries, the seq counter and how many stubs the two probe sets hold
 * (ForwarderStore.readForSend). KEYS: outbox, sent:max, seq, dropped:recheck, dropped:unconfirmed.
 * ARGV: start id, end id, count.
 */
const READ_FOR_SEND = `
local entries = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[2], 'COUNT', ARGV[3])
local last = entries[#entries]
if last then
  local seq = tonumber(string.match(last[1], '^(%d+)'))
  if seq > tonumber(redis.call('GET', KEYS[2]) or '0') then redis.call('SET', KEYS[2], seq) end
end
local counter = tonumber(redis.call('GET', KEYS[3]) or '0')
return { entries, counter, redis.call('ZCARD', KEYS[4]) + redis.call('ZCARD', KEYS[5]) }
`;

/**
 * The backend's answer to a probe. An unconfirmed stub it stores goes; one it does not is counted as
 * dropped now and remembered (bounded) in dropped:counted, so a late ack takes it off again, and in
 * dropped:recheck (score: when it is due, wall-clock ms) for one more probe: the backend may have said
 * `unknown` while an earlier batch carrying the reading was still on its way to it. A stub answered from
 * dropped:recheck is settled for good: `stored` takes it off the count (corrected), `unknown` leaves the
 * count as it is (upheld; still in dropped:counted for a very late ack). Only stubs that still match seq
 * and ts are touched. KEYS: dropped:unconfirmed, dropped:counted, dropped, dropped:recheck.
 * ARGV: counted max, re-check due time, then seq, ts, '1' (stored) or '0' (unknown) per stub.
 */
const RESOLVE_PROBE = `
local confirmed, counted, corrected, upheld = 0, 0, 0, 0
for i = 3, #ARGV, 3 do
  local member = ARGV[i] .. ' ' .. ARGV[i + 1]
  if redis.call('ZREM', KEYS[1], member) == 1 then
    if ARGV[i + 2] == '1' then
      confirmed = confirmed + 1
    else
      redis.call('ZADD', KEYS[2], ARGV[i], member)
      redis.call('ZADD', KEYS[4], ARGV[2], member)
      counted = counted + 1
    end
  elseif redis.call('ZREM', KEYS[4], member) == 1 then
    if ARGV[i + 2] == '1' then
      redis.call('ZREM', KEYS[2], member)
      corrected = corrected + 1
    else
      upheld = upheld + 1
    end
  end
end
if counted > 0 then
  redis.call('INCRBY', KEYS[3], counted)
  local max = tonumber(ARGV[1])
  local extra = redis.call('ZCARD', KEYS[2]) - max
  if extra > 0 then redis.call('ZPOPMIN', KEYS[2], extra) end
  extra = redis.call('ZCARD', KEYS[4]) - max
  if extra > 0 then redis.call('ZPOPMIN', KEYS[4], extra) end
end
if corrected > 0 then
  local dropped = tonumber(redis.call('GET', KEYS[3]) or '0')
  if dropped > 0 then redis.call('DECRBY', KEYS[3], math.min(corrected, dropped)) end
end
return {confirmed, counted, corrected, upheld}
`;

/**
 * Seq conflict (docs/design.md#readings-and-seqs, ack.ts SEQ_CONFLICT_REASON): the backend already
 * stores these seqs with other measurements, so the counter went back. In one atomic step: raise the
 * counter to at least the backend's highest seq (and the stream's last id, which XADD requires), then move
 * each named reading, unchanged (same ts and values), to a fresh seq and delete the old entry. Returns the
 * flat list old1, new1, old2, new2, … of what was moved.
 */
const RENUMBER = `${FIELD}
local floor = tonumber(ARGV[1])
local info = redis.pcall('XINFO', 'STREAM', KEYS[2])
if type(info) == 'table' and not info.err then
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      local top = tonumber(string.match(info[i + 1], '^(%d+)'))
      if top and top > floor then floor = top end
    end
  end
end
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if cur < floor then redis.call('SET', KEYS[1], floor) end
local moved = {}
for i = 2, #ARGV, 2 do
  local id = ARGV[i] .. '-0'
  local e = redis.call('XRANGE', KEYS[2], id, id)[1]
  if e and field(e[2], 'ts') == ARGV[i + 1] then
    local seq = redis.call('INCR', KEYS[1])
    redis.call('XADD', KEYS[2], seq .. '-0', unpack(e[2]))
    redis.call('XDEL', KEYS[2], id)
    moved[#moved + 1] = tonumber(ARGV[i])
    moved[#moved + 1] = seq
  end
end
if #moved > 0 then redis.call('INCRBY', KEYS[3], #moved / 2) end
return moved
`;

/**
 * What the next probe names, in one step (the forwarder looks only when a read found stubs in the sets,
 * at most once a second): counted drops whose re-check is due by
 * ARGV[1] or further ahead than ARGV[2] (the clock stepped back), then unconfirmed drops, oldest first,
 * ARGV[3] stubs in all. Returns { rechecks, unconfirmed } as two lists of members.
 */
const PROBE_CANDIDATES = `
local max = tonumber(ARGV[3])
local rechecks = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, max)
if #rechecks < max then
  local ahead = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ARGV[2], '+inf', 'LIMIT', 0, max - #rechecks)
  for _, m in ipairs(ahead) do rechecks[#rechecks + 1] = m end
end
local unconfirmed = {}
if #rechecks < max then unconfirmed = redis.call('ZRANGE', KEYS[2], 0, max - #rechecks - 1) end
return { rechecks, unconfirmed }
`;

/** A stub member `<seq> <ts>` of the dropped:* sets. */
function stubOf(member: string): SentReading {
  const space = member.indexOf(' ');
  return { seq: Number(member.slice(0, space)), ts: member.slice(space + 1) };
}

/** Pairs per script call: keeps one call short so appends of the sensor are not held up. */
const CHUNK = 500;

type ScriptRunner = (...args: (string | number)[]) => Promise<unknown>;

/** The outbox as the forwarder uses it: shared's OutboxStore plus the two device-side scripts above. */
export class RedisForwarderStore implements ForwarderStore {
  private readonly conflictsKey: string;

  constructor(
    private readonly redis: Redis,
    private readonly outbox: OutboxStore,
    keyPrefix?: string,
  ) {
    this.conflictsKey = seqConflictsKey(keyPrefix);
    if (!('sfRemoveSent' in redis)) {
      redis.defineCommand('sfRemoveSent', { numberOfKeys: 5, lua: REMOVE_SENT });
      redis.defineCommand('sfRenumber', { numberOfKeys: 3, lua: RENUMBER });
      redis.defineCommand('sfReadForSend', { numberOfKeys: 5, lua: READ_FOR_SEND });
      redis.defineCommand('sfResolveProbe', { numberOfKeys: 4, lua: RESOLVE_PROBE });
      redis.defineCommand('sfProbeCandidates', { numberOfKeys: 2, lua: PROBE_CANDIDATES });
    }
  }

  async readRange(afterSeq: number, toSeq: number | '+', count: number): Promise<Reading[]> {
    return (await this.readForSend(afterSeq, toSeq, count)).readings;
  }

  async readForSend(afterSeq: number, toSeq: number | '+', count: number): Promise<ReadForSend> {
    // An empty range (end at or before the exclusive start) still goes to Redis: the counter and the probe
    // sets are what the forwarder checks.
    const [entries, counter, stubs] = (await this.script('sfReadForSend')(
      this.outbox.keys.outbox,
      this.outbox.keys.sentMax,
      this.outbox.keys.seq,
      this.outbox.keys.dropsRecheck,
      this.outbox.keys.dropsUnconfirmed,
      `(${afterSeq}-0`,
      toSeq === '+' ? '+' : `${Math.max(toSeq, afterSeq)}-0`,
      count,
    )) as [[string, string[]][], number, number];
    const readings = entries.map(([id, fields]) => {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
      return {
        seq: Number(id.slice(0, id.indexOf('-'))),
        ts: f.get('ts') ?? '',
        values: JSON.parse(f.get('v') ?? '{}') as SensorValues,
      };
    });
    return { readings, lastSeq: Number(counter), dropsPending: Number(stubs) > 0 };
  }

  async probeCandidates(now: number, settleMs: number, max: number): Promise<ProbeCandidates> {
    const [rechecks, unconfirmed] = (await this.script('sfProbeCandidates')(
      this.outbox.keys.dropsRecheck,
      this.outbox.keys.dropsUnconfirmed,
      String(now),
      String(now + settleMs),
      max,
    )) as [string[], string[]];
    return { rechecks: rechecks.map(stubOf), unconfirmed: unconfirmed.map(stubOf) };
  }

  async resolveProbe(
    stored: readonly SentReading[],
    unknown: readonly SentReading[],
    recheckAt: number,
  ): Promise<ProbeResult> {
    const all = [...stored.map((r) => [r, '1'] as const), ...unknown.map((r) => [r, '0'] as const)];
    const sum: ProbeResult = { confirmed: 0, counted: 0, corrected: 0, upheld: 0 };
    for (let i = 0; i < all.length; i += CHUNK) {
      const args = all.slice(i, i + CHUNK).flatMap(([r, flag]) => [String(r.seq), r.ts, flag]);
      const [confirmed, counted, corrected, upheld] = (await this.script('sfResolveProbe')(
        this.outbox.keys.dropsUnconfirmed,
        this.outbox.keys.dropsCounted,
        this.outbox.keys.dropped,
        this.outbox.keys.dropsRecheck,
        String(COUNTED_DROPS_MAX),
        String(Math.round(recheckAt)),
        ...args,
      )) as [number, number, number, number];
      sum.confirmed += confirmed;
      sum.counted += counted;
      sum.corrected += corrected;
      sum.upheld += upheld;
    }
    return sum;
  }

  lastSeq(): Promise<number> {
    return this.outbox.lastSeq();
  }

  addRejected(n: number): Promise<void> {
    return this.outbox.addRejected(n);
  }

  async removeSent(readings: readonly SentReading[]): Promise<RemoveSentResult> {
    let removed = 0;
    let changed = 0;
    let gone = 0;
    for (let i = 0; i < readings.length; i += CHUNK) {
      const args = readings.slice(i, i + CHUNK).flatMap((r) => [String(r.seq), r.ts]);
      const [r, c, g] = (await this.script('sfRemoveSent')(
        this.outbox.keys.outbox,
        this.outbox.keys.dropped,
        this.outbox.keys.dropsUnconfirmed,
        this.outbox.keys.dropsCounted,
        this.outbox.keys.dropsRecheck,
        ...args,
      )) as [number, number, number];
      removed += r;
      changed += c;
      gone += g;
    }
    return { removed, changed, gone };
  }

  async renumber(readings: readonly SentReading[], highestSeq: number): Promise<Renumbered[]> {
    const moved: Renumbered[] = [];
    let i = 0;
    do {
      const args = readings.slice(i, i + CHUNK).flatMap((r) => [String(r.seq), r.ts]);
      const flat = (await this.script('sfRenumber')(
        this.outbox.keys.seq,
        this.outbox.keys.outbox,
        this.conflictsKey,
        String(highestSeq),
        ...args,
      )) as number[];
      for (let j = 0; j + 1 < flat.length; j += 2) moved.push({ from: flat[j]!, to: flat[j + 1]! });
      i += CHUNK;
    } while (i < readings.length);
    return moved;
  }

  async seqConflicts(): Promise<number> {
    return Number((await this.redis.get(this.conflictsKey)) ?? 0);
  }

  private script(
    name: 'sfRemoveSent' | 'sfRenumber' | 'sfReadForSend' | 'sfResolveProbe' | 'sfProbeCandidates',
  ): ScriptRunner {
    const fn = (this.redis as unknown as Record<string, ScriptRunner>)[name]!;
    return (...args) => fn.apply(this.redis, args);
  }
}
