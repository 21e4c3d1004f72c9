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
 * Executes JSON remote commands (DESIGN.md "Commands"). Every input gets an answer: malformed JSON,
 * unknown commands, bad arguments and expired commands are refused with a clear error; nothing throws.
 */
export class CommandRouter {
  constructor(
    private readonly deps: {
      control: MeasuringControl;
      results: CommandResultStore;
      status: () => Promise<Record<string, unknown>>;
      now?: () => number;
      log: Logger;
    },
  ) {}

  async handle(payload: Buffer): Promise<CommandResult> {
    const decoded = envelopeDecoder.decode(payload);
    if (!decoded.ok) {
      return { id: idOf(payload) ?? 'unknown', ok: false, error: `invalid command: ${decoded.error}` };
    }
    const cmd = decoded.value;
    const seen = await this.deps.results.get(cmd.id);
    if (seen) {
      this.deps.log.info({ id: cmd.id }, 'command already executed; answering again');
      return seen;
    }
    const result = await this.execute(cmd as CommandEnvelope & Record<string, unknown>);
    await this.deps.results.put(result);
    this.deps.log.info({ id: cmd.id, command: cmd.command, ok: result.ok }, 'command handled');
    return result;
  }

  private async execute(cmd: CommandEnvelope & Record<string, unknown>): Promise<CommandResult> {
    const { id } = cmd;
    const now = (this.deps.now ?? Date.now)();
    if (cmd.expiresAt && Date.parse(cmd.expiresAt) <= now) {
      return { id, ok: false, error: `command expired at ${cmd.expiresAt}` };
    }
    if (!(COMMAND_NAMES as readonly string[]).includes(cmd.command)) {
      return { id, ok: false, error: `unknown command "${cmd.command}"; known: ${COMMAND_NAMES.join(', ')}` };
    }
    const name = cmd.command as CommandName;
    const args = Object.fromEntries(Object.entries(cmd).filter(([k]) => !ENVELOPE_FIELDS.has(k)));
    const checked = argDecoders[name].check(args);
    if (!checked.ok) return { id, ok: false, error: `bad arguments for ${name}: ${checked.error}` };
    try {
      switch (name) {
        case 'start':
        case 'stop': {
          const state = await this.deps.control.setRunning(name === 'start', 'command');
          return { id, ok: true, result: { running: state.running, intervalMs: state.intervalMs } };
        }
        case 'set_interval': {
          const state = await this.deps.control.setInterval(Number(args.intervalMs), 'command');
          return { id, ok: true, result: { running: state.running, intervalMs: state.intervalMs } };
        }
        case 'ping':
          return { id, ok: true, result: { pong: true, ts: new Date(now).toISOString() } };
        case 'status':
          return { id, ok: true, result: await this.deps.status() };
      }
    } catch (err) {
      return { id, ok: false, error: `command failed: ${err instanceof Error ? err.message : String(err)}` };
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
