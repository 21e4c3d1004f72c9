import type { Redis } from 'ioredis';
import type { OutboxStore, Reading } from '@sensorfleet/shared';
import type { ForwarderStore, RemoveSentResult, Renumbered } from './forwarder.js';
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
 * An acked reading that is gone altogether was dropped by the outbox bound while it was in flight: it
 * reached the backend after all, so it is taken off the drop count (never below 0), which then counts
 * exactly the readings lost.
 */
const REMOVE_SENT = `${FIELD}
local removed, changed, gone = 0, 0, 0
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
  end
end
if gone > 0 then
  local dropped = tonumber(redis.call('GET', KEYS[2]) or '0')
  if dropped > 0 then redis.call('DECRBY', KEYS[2], math.min(gone, dropped)) end
end
return {removed, changed, gone}
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
      redis.defineCommand('sfRemoveSent', { numberOfKeys: 2, lua: REMOVE_SENT });
      redis.defineCommand('sfRenumber', { numberOfKeys: 3, lua: RENUMBER });
    }
  }

  readRange(afterSeq: number, toSeq: number | '+', count: number): Promise<Reading[]> {
    return this.outbox.readRange(afterSeq, toSeq, count);
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

  private script(name: 'sfRemoveSent' | 'sfRenumber'): ScriptRunner {
    const fn = (this.redis as unknown as Record<string, ScriptRunner>)[name]!;
    return (...args) => fn.apply(this.redis, args);
  }
}
