import {
  COMMAND_NAMES,
  CommandArgs,
  CommandEnvelope,
  createDecoder,
  type CommandName,
  type CommandResult,
  type Logger,
  type MeasuringState,
} from '@sensorfleet/shared';

export interface MeasuringControl {
  setRunning(running: boolean, by: 'command'): Promise<MeasuringState>;
  setInterval(intervalMs: number, by: 'command'): Promise<MeasuringState>;
}

/** Remembers answered command ids so a redelivered command is answered again, not executed twice. */
export interface CommandResultStore {
  get(id: string): Promise<CommandResult | undefined>;
  put(result: CommandResult): Promise<void>;
}

/** Commands larger than this are refused unread (a command is a few hundred bytes). */
export const MAX_COMMAND_BYTES = 16 * 1024;

const envelopeDecoder = createDecoder(CommandEnvelope, { maxBytes: MAX_COMMAND_BYTES });
const argDecoders = Object.fromEntries(
  COMMAND_NAMES.map((name) => [name, createDecoder(CommandArgs[name])]),
) as Record<CommandName, ReturnType<typeof createDecoder>>;

const ENVELOPE_FIELDS = new Set(['id', 'command', 'expiresAt']);

/**
 * Executes JSON remote commands (docs/design.md#commands). Every input gets an answer: malformed JSON,
 * unknown commands, bad arguments and expired commands are refused with a clear error; nothing throws.
 */
export class CommandRouter {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deps: {
      control: MeasuringControl;
      results: CommandResultStore;
      status: () => Promise<Record<string, unknown>>;
      now?: () => number;
      log: Logger;
    },
  ) {}

  /**
   * Commands run one at a time, in arrival order: a redelivered duplicate (QoS 1) that arrives while the
   * first copy is still executing then finds its stored result instead of running a second time.
   */
  handle(payload: Buffer): Promise<CommandResult> {
    const run = this.queue.then(() => this.handleOne(payload));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async handleOne(payload: Buffer): Promise<CommandResult> {
    const decoded = envelopeDecoder.decode(payload);
    if (!decoded.ok) {
      const id = decoded.reason === 'oversized' ? undefined : idOf(payload);
      return { id: id ?? 'unknown', ok: false, error: `invalid command: ${decoded.error}` };
    }
    const cmd = decoded.value;
    let seen: CommandResult | undefined;
    try {
      seen = await this.deps.results.get(cmd.id);
    } catch (err) {
      // Without the results store a duplicate cannot be recognised, and nothing could be executed anyway.
      return { id: cmd.id, ok: false, error: `device state unavailable, try again: ${errorText(err)}` };
    }
    if (seen) {
      this.deps.log.info({ id: cmd.id }, 'command already executed; answering again');
      return seen;
    }
    const { result, transient } = await this.execute(cmd as CommandEnvelope & Record<string, unknown>);
    // A transient failure is not remembered: a redelivery of the same id may then succeed.
    if (!transient) {
      await this.deps.results
        .put(result)
        .catch((err: unknown) => this.deps.log.warn({ err, id: cmd.id }, 'command result not stored'));
    }
    this.deps.log.info({ id: cmd.id, command: cmd.command, ok: result.ok }, 'command handled');
    return result;
  }

  private async execute(
    cmd: CommandEnvelope & Record<string, unknown>,
  ): Promise<{ result: CommandResult; transient: boolean }> {
    const done = (result: CommandResult) => ({ result, transient: false });
    const { id } = cmd;
    const now = (this.deps.now ?? Date.now)();
    if (cmd.expiresAt && Date.parse(cmd.expiresAt) <= now) {
      return done({ id, ok: false, error: `command expired at ${cmd.expiresAt}` });
    }
    if (!(COMMAND_NAMES as readonly string[]).includes(cmd.command)) {
      return done({
        id,
        ok: false,
        error: `unknown command "${cmd.command}"; known: ${COMMAND_NAMES.join(', ')}`,
      });
    }
    const name = cmd.command as CommandName;
    const args = Object.fromEntries(Object.entries(cmd).filter(([k]) => !ENVELOPE_FIELDS.has(k)));
    // A misspelt argument (e.g. `interval` for `intervalMs`) must not be ignored silently. Own keys only:
    // `in` would also find `toString`, `valueOf`, `__proto__` … on the prototype and let them through.
    const unknown = Object.keys(args).filter((k) => !Object.hasOwn(CommandArgs[name].properties, k));
    if (unknown.length) {
      const known = Object.keys(CommandArgs[name].properties);
      return done({
        id,
        ok: false,
        error:
          `bad arguments for ${name}: unknown ${unknown.map((k) => `"${k}"`).join(', ')}; ` +
          (known.length ? `expected ${known.join(', ')}` : 'it takes none'),
      });
    }
    const checked = argDecoders[name].check(args);
    if (!checked.ok) return done({ id, ok: false, error: `bad arguments for ${name}: ${checked.error}` });
    try {
      switch (name) {
        case 'start':
        case 'stop': {
          const state = await this.deps.control.setRunning(name === 'start', 'command');
          return done({ id, ok: true, result: { running: state.running, intervalMs: state.intervalMs } });
        }
        case 'set_interval': {
          const state = await this.deps.control.setInterval(Number(args.intervalMs), 'command');
          return done({ id, ok: true, result: { running: state.running, intervalMs: state.intervalMs } });
        }
        case 'ping':
          return done({ id, ok: true, result: { pong: true, ts: new Date(now).toISOString() } });
        case 'status':
          return done({ id, ok: true, result: await this.deps.status() });
      }
    } catch (err) {
      return { result: { id, ok: false, error: `command failed: ${errorText(err)}` }, transient: true };
    }
  }
}

/** Best effort: the id of a command whose envelope is invalid, so the sender can match the refusal. */
function idOf(payload: Buffer): string | undefined {
  try {
    const v = JSON.parse(payload.toString('utf8')) as unknown;
    if (v && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string') {
      return (v as { id: string }).id.slice(0, 64);
    }
  } catch {
    // malformed JSON: no id to report
  }
  return undefined;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
