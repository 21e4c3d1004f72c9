import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  COMMAND_NAMES,
  createLogger,
  ISO_UTC_PATTERN,
  MAX_INTERVAL_MS,
  MIN_INTERVAL_MS,
  type CommandResult,
  type MeasuringState,
} from '@sensorfleet/shared';
import { heapUsedAfterGc, runFuzz } from '@sensorfleet/tools/fuzz/fuzz-settings';
import { CommandRouter, MAX_COMMAND_BYTES, type CommandResultStore } from '../../src/command-router.js';

/*
 * Property-based fuzzing of the device's command handling (CommandRouter.handle, the parser and router
 * the mqtthandler runs for every devices/{id}/commands message), against an independent statement of
 * docs/design.md#commands: a command runs exactly when its envelope and arguments are valid, it has not
 * expired and its id is new; everything else is answered ok:false, and nothing throws.
 */

const NOW = Date.parse('2026-11-23T10:00:00.000Z');
const ID_REGEX = /^[A-Za-z0-9._:-]+$/;
const ISO = new RegExp(ISO_UTC_PATTERN);
const ARGS: Record<string, readonly string[]> = { set_interval: ['intervalMs'] };

class CountingControl {
  calls = 0;
  state: MeasuringState = { running: true, intervalMs: 1000, updatedAt: undefined, updatedBy: undefined };
  async setRunning(running: boolean): Promise<MeasuringState> {
    this.calls++;
    this.state = { ...this.state, running };
    return this.state;
  }
  async setInterval(intervalMs: number): Promise<MeasuringState> {
    this.calls++;
    this.state = { ...this.state, intervalMs };
    return this.state;
  }
}

/** Bounded like the device's store (the last 1000 results), so the heap check sees no test-made growth. */
class BoundedResults implements CommandResultStore {
  readonly results = new Map<string, CommandResult>();
  async get(id: string) {
    return this.results.get(id);
  }
  async put(result: CommandResult) {
    this.results.set(result.id, result);
    if (this.results.size > 1000) this.results.delete(this.results.keys().next().value!);
  }
}

const control = new CountingControl();
const results = new BoundedResults();
const router = new CommandRouter({
  control,
  results,
  status: async () => ({ running: control.state.running, backlog: 0 }),
  now: () => NOW,
  log: createLogger('fuzz', 'silent', { pretty: false }),
});

/** What the contract says about a payload: should it run (and does it change measuring)? */
function expectedToRun(text: string): { runs: boolean; changes: boolean; id?: string } {
  // Refused unread, so not even its id is known.
  if (Buffer.byteLength(text) > MAX_COMMAND_BYTES) return { runs: false, changes: false };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { runs: false, changes: false };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { runs: false, changes: false };
  const o = v as Record<string, unknown>;
  const id = o.id;
  if (typeof id !== 'string' || id.length < 1 || id.length > 64 || !ID_REGEX.test(id)) {
    return { runs: false, changes: false };
  }
  const no = { runs: false, changes: false, id };
  const command = o.command;
  if (typeof command !== 'string' || !(COMMAND_NAMES as readonly string[]).includes(command)) return no;
  if (o.expiresAt !== undefined) {
    if (typeof o.expiresAt !== 'string' || !ISO.test(o.expiresAt)) return no;
    if (Date.parse(o.expiresAt) <= NOW) return no;
  }
  const allowed = ARGS[command] ?? [];
  const extra = Object.keys(o).filter((k) => !['id', 'command', 'expiresAt'].includes(k));
  if (extra.some((k) => !allowed.includes(k))) return no;
  if (command === 'set_interval') {
    const ms = o.intervalMs;
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < MIN_INTERVAL_MS || ms > MAX_INTERVAL_MS) {
      return no;
    }
  }
  return { runs: true, changes: ['start', 'stop', 'set_interval'].includes(command), id };
}

const id = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[A-Za-z0-9._:-]{1,20}$/) },
  fc.constantFrom('', 'x'.repeat(65), 'a b', 'ü', '__proto__', 'constructor'),
  fc.anything({ maxDepth: 0 }),
);
const commandName = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...COMMAND_NAMES) },
  fc.constantFrom('START', 'reboot', '', 'toString', '__proto__', 'x'.repeat(70)),
  fc.anything({ maxDepth: 0 }),
);
const expiresAt = fc.oneof(
  fc.integer({ min: -86_400_000, max: 86_400_000 }).map((off) => new Date(NOW + off).toISOString()),
  fc.constantFrom('2026-11-23T10:00:00Z', 'tomorrow', '2026-11-23T10:00:00+01:00', '9999-12-31T23:59:59Z'),
  fc.anything({ maxDepth: 0 }),
);
const intervalMs = fc.oneof(
  fc.integer({ min: MIN_INTERVAL_MS - 10, max: MAX_INTERVAL_MS + 10 }),
  fc.constantFrom(MIN_INTERVAL_MS, MAX_INTERVAL_MS, 1000.5, '5000', null, -1, 1e21),
  fc.double(),
);
const surplusKey = fc.oneof(
  fc.constantFrom(
    'interval',
    'intervalMS',
    'toString',
    'constructor',
    'hasOwnProperty',
    '__proto__',
    'valueOf',
  ),
  fc.string({ maxLength: 6 }),
);
const command = fc.record(
  {
    id,
    command: commandName,
    expiresAt,
    intervalMs,
    extra: fc.tuple(surplusKey, fc.jsonValue({ maxDepth: 1 })),
  },
  { requiredKeys: [] },
);

/** Commands as the web admin sends them (a few ids repeat: the redelivery path), to mutate from. */
const validCommand = fc
  .record(
    {
      id: fc.oneof(fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/), fc.constantFrom('r1', 'r2', 'r3')),
      command: fc.constantFrom(...COMMAND_NAMES),
      expiresAt: fc.integer({ min: 1, max: 86_400_000 }).map((off) => new Date(NOW + off).toISOString()),
      intervalMs: fc.integer({ min: MIN_INTERVAL_MS, max: MAX_INTERVAL_MS }),
    },
    { requiredKeys: ['id', 'command'] },
  )
  .map(({ intervalMs, ...c }) =>
    c.command === 'set_interval' ? { ...c, intervalMs: intervalMs ?? 1000 } : c,
  );

/** JSON text built by hand, so keys like `__proto__` really are in it (JSON.parse makes them own keys). */
function text(c: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(c)) {
    if (k === 'extra') {
      const [key, value] = v as [string, unknown];
      parts.push(`${JSON.stringify(key)}:${JSON.stringify(value) ?? 'null'}`);
    } else parts.push(`${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}`);
  }
  return `{${parts.join(',')}}`;
}

const payload = fc.oneof(
  { weight: 6, arbitrary: validCommand.map((c) => text(c)) },
  { weight: 10, arbitrary: command.map(text) },
  command.map(text).chain((t) => fc.nat({ max: t.length }).map((n) => t.slice(0, n))),
  fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)),
  fc.string({ maxLength: 40 }),
  fc.constant(`{"id":"big","command":"ping","pad":"${'x'.repeat(MAX_COMMAND_BYTES)}"}`),
);

let total = 0;
let ran = 0;
let heapBefore = 0;

async function check(t: string): Promise<void> {
  const want = expectedToRun(t);
  const repeat = want.id !== undefined && results.results.has(want.id);
  const callsBefore = control.calls;
  const r = await router.handle(Buffer.from(t));
  if (typeof r.id !== 'string' || r.id.length > 64 || typeof r.ok !== 'boolean') {
    throw new Error(`malformed answer ${JSON.stringify(r)}`);
  }
  if (!r.ok && typeof r.error !== 'string') throw new Error(`failure without error ${JSON.stringify(r)}`);
  if (repeat) {
    if (control.calls !== callsBefore) throw new Error(`a repeated id ran again: ${t}`);
    return;
  }
  if (want.runs !== r.ok)
    throw new Error(`expected ${want.runs ? 'ok' : 'a refusal'}, got ${JSON.stringify(r)}`);
  if (want.id !== undefined && r.id !== want.id) throw new Error(`answered under id ${r.id}, not ${want.id}`);
  const calls = control.calls - callsBefore;
  if (calls !== (want.runs && want.changes ? 1 : 0)) throw new Error(`${calls} control calls for ${t}`);
  if (r.ok) ran++;
}

beforeAll(async () => {
  await fc.assert(fc.asyncProperty(payload, check), { numRuns: 1000, seed: 1 });
  heapBefore = heapUsedAfterGc();
});

afterAll(() => {
  console.log(`[fuzz] mqtthandler commands: ${total} inputs, ${ran} executed`);
});

describe('device command handling under fuzzed command bodies', () => {
  it(
    'runs exactly the valid commands and answers everything else with ok:false',
    { timeout: 60_000 },
    async () => {
      total += await runFuzz('mqtthandler command router', 25_000, (p) =>
        fc.assert(fc.asyncProperty(payload, check), p),
      );
      expect(ran).toBeGreaterThan(total / 20);
    },
  );

  it('keeps the heap flat', () => {
    const grown = heapUsedAfterGc() - heapBefore;
    console.log(`[fuzz] mqtthandler commands: heap ${(grown / 1048576).toFixed(1)} MiB after vs before`);
    expect(grown).toBeLessThan(16 * 1024 * 1024);
  });
});
