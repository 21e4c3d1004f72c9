import { describe, expect, it } from 'vitest';
import { createLogger, type CommandResult, type MeasuringState } from '@sensorfleet/shared';
import {
  CommandRouter,
  MAX_COMMAND_BYTES,
  type CommandResultStore,
  type MeasuringControl,
} from '../src/command-router.js';

const NOW = Date.parse('2026-11-23T10:00:00.000Z');

class MemoryControl implements MeasuringControl {
  state: MeasuringState = { running: true, intervalMs: 1000, updatedAt: undefined, updatedBy: undefined };
  calls: string[] = [];
  fail = false;
  async setRunning(running: boolean): Promise<MeasuringState> {
    this.calls.push(running ? 'start' : 'stop');
    if (this.fail) throw new Error('Connection is closed.');
    // slow enough for a duplicate to arrive while the first copy runs
    await new Promise((r) => setTimeout(r, 5));
    this.state = { ...this.state, running };
    return this.state;
  }
  async setInterval(intervalMs: number): Promise<MeasuringState> {
    this.calls.push(`interval ${intervalMs}`);
    this.state = { ...this.state, intervalMs };
    return this.state;
  }
}

class MemoryResults implements CommandResultStore {
  readonly results = new Map<string, CommandResult>();
  async get(id: string) {
    return this.results.get(id);
  }
  async put(result: CommandResult) {
    this.results.set(result.id, result);
  }
}

function rig() {
  const control = new MemoryControl();
  const results = new MemoryResults();
  const router = new CommandRouter({
    control,
    results,
    status: async () => ({ running: control.state.running, backlog: 7 }),
    now: () => NOW,
    log: createLogger('test', 'silent', { pretty: false }),
  });
  const send = (cmd: unknown) =>
    router.handle(Buffer.from(typeof cmd === 'string' ? cmd : JSON.stringify(cmd)));
  return { control, results, router, send };
}

describe('CommandRouter', () => {
  it('start and stop switch measuring and report the new state', async () => {
    const { control, send } = rig();
    expect(await send({ id: 'c1', command: 'stop' })).toEqual({
      id: 'c1',
      ok: true,
      result: { running: false, intervalMs: 1000 },
    });
    expect(await send({ id: 'c2', command: 'start' })).toMatchObject({ ok: true, result: { running: true } });
    expect(control.calls).toEqual(['stop', 'start']);
  });

  it('set_interval takes intervalMs within 100 … 86 400 000', async () => {
    const { control, send } = rig();
    expect(await send({ id: 'i1', command: 'set_interval', intervalMs: 250 })).toEqual({
      id: 'i1',
      ok: true,
      result: { running: true, intervalMs: 250 },
    });
    for (const [id, intervalMs] of [
      ['i2', 99],
      ['i3', 86_400_001],
      ['i4', 1.5],
      ['i5', '1000'],
    ] as const) {
      const r = await send({ id, command: 'set_interval', intervalMs });
      expect(r).toMatchObject({ id, ok: false });
      expect((r as { error: string }).error).toMatch(/^bad arguments for set_interval: \/intervalMs: /);
    }
    const missing = await send({ id: 'i6', command: 'set_interval' });
    expect(missing).toMatchObject({ ok: false, error: expect.stringMatching(/intervalMs/) });
    expect(control.calls).toEqual(['interval 250']);
  });

  it('refuses misspelt or surplus arguments instead of ignoring them', async () => {
    const { control, send } = rig();
    expect(await send({ id: 'a1', command: 'set_interval', interval: 500 })).toEqual({
      id: 'a1',
      ok: false,
      error: 'bad arguments for set_interval: unknown "interval"; expected intervalMs',
    });
    expect(await send({ id: 'a2', command: 'stop', now: true })).toEqual({
      id: 'a2',
      ok: false,
      error: 'bad arguments for stop: unknown "now"; it takes none',
    });
    // Names every object inherits (found by test/fuzz/command-router.fuzz.test.ts): still surplus.
    for (const key of ['toString', 'valueOf', 'constructor', '__proto__']) {
      const r = await send(`{"id":"a-${key}","command":"stop","${key}":1}`);
      expect(r, key).toEqual({
        id: `a-${key}`,
        ok: false,
        error: `bad arguments for stop: unknown "${key}"; it takes none`,
      });
    }
    expect(control.calls).toEqual([]);
  });

  it('answers ping and status', async () => {
    const { send } = rig();
    expect(await send({ id: 'p', command: 'ping' })).toEqual({
      id: 'p',
      ok: true,
      result: { pong: true, ts: '2026-11-23T10:00:00.000Z' },
    });
    expect(await send({ id: 's', command: 'status' })).toEqual({
      id: 's',
      ok: true,
      result: { running: true, backlog: 7 },
    });
  });

  it('refuses an expired command without executing it, and honours one that is still valid', async () => {
    const { control, send } = rig();
    expect(await send({ id: 'e1', command: 'stop', expiresAt: '2026-11-23T09:59:59.999Z' })).toEqual({
      id: 'e1',
      ok: false,
      error: 'command expired at 2026-11-23T09:59:59.999Z',
    });
    expect(await send({ id: 'e2', command: 'stop', expiresAt: '2026-11-23T10:00:00.001Z' })).toMatchObject({
      ok: true,
    });
    expect(control.calls).toEqual(['stop']);
    const bad = await send({ id: 'e3', command: 'stop', expiresAt: 'tomorrow' });
    expect(bad).toMatchObject({
      id: 'e3',
      ok: false,
      error: expect.stringMatching(/^invalid command: \/expiresAt/),
    });
  });

  it('answers a repeated command id with the first result and does not execute it again', async () => {
    const { control, send } = rig();
    const first = await send({ id: 'dup', command: 'stop' });
    const again = await send({ id: 'dup', command: 'stop' });
    expect(again).toEqual(first);
    // even a different command under a used id is the same command to us
    expect(await send({ id: 'dup', command: 'start' })).toEqual(first);
    expect(control.calls).toEqual(['stop']);
  });

  it('executes a duplicate that arrives while the first copy still runs only once', async () => {
    const { control, send } = rig();
    const [a, b] = await Promise.all([
      send({ id: 'race', command: 'stop' }),
      send({ id: 'race', command: 'stop' }),
    ]);
    expect(a).toEqual(b);
    expect(control.calls).toEqual(['stop']);
  });

  it('refuses unknown commands with the list of known ones', async () => {
    const { send } = rig();
    expect(await send({ id: 'u', command: 'reboot' })).toEqual({
      id: 'u',
      ok: false,
      error: 'unknown command "reboot"; known: start, stop, set_interval, ping, status',
    });
  });

  it('answers malformed JSON, a bad envelope and an oversized payload with ok:false, never throwing', async () => {
    const { send } = rig();
    expect(await send('{"id":"x","command":')).toMatchObject({
      id: 'unknown',
      ok: false,
      error: expect.stringMatching(/^invalid command: malformed JSON/),
    });
    expect(await send({ id: 'no-command' })).toMatchObject({
      id: 'no-command',
      ok: false,
      error: expect.stringMatching(/^invalid command: /),
    });
    expect(await send({ id: 'bad id with spaces', command: 'ping' })).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^invalid command: \/id/),
    });
    expect(await send([1, 2, 3])).toMatchObject({ id: 'unknown', ok: false });
    expect(await send('null')).toMatchObject({ id: 'unknown', ok: false });
    const huge = JSON.stringify({ id: 'big', command: 'ping', pad: 'x'.repeat(MAX_COMMAND_BYTES) });
    expect(await send(huge)).toEqual({
      id: 'unknown',
      ok: false,
      error: `invalid command: payload of ${Buffer.byteLength(huge)} bytes exceeds the limit of ${MAX_COMMAND_BYTES}`,
    });
  });

  it('reports a failure of the measuring state (Redis down) as ok:false', async () => {
    const { control, results, send } = rig();
    control.fail = true;
    expect(await send({ id: 'f', command: 'stop' })).toEqual({
      id: 'f',
      ok: false,
      error: 'command failed: Connection is closed.',
    });
    // not remembered: a redelivery once Redis is back is executed
    expect(results.results.has('f')).toBe(false);
    control.fail = false;
    expect(await send({ id: 'f', command: 'stop' })).toMatchObject({ id: 'f', ok: true });
  });

  it('refuses to run a command when the results store is unreachable (no safe dedup)', async () => {
    const { control, results, send } = rig();
    results.get = async () => {
      throw new Error('Connection is closed.');
    };
    expect(await send({ id: 'g', command: 'stop' })).toEqual({
      id: 'g',
      ok: false,
      error: 'device state unavailable, try again: Connection is closed.',
    });
    expect(control.calls).toEqual([]);
  });
});
