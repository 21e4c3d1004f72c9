/**
 * Common lifecycle of a private server process (Redis, Mosquitto, MariaDB) used by tests and the local
 * stack: spawn it in its own dir on its own port, wait until it really accepts work, stop it gracefully,
 * kill it hard (a crash or power loss of that process), restart it on the same port and dir.
 *
 * Each server's stdout/stderr go to `<dir>/<kind>.out.log` (appended across restarts, one header line
 * per start). A failed start throws a ServerStartError carrying the command line and the last lines the
 * server wrote during that attempt.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { freePort } from './ports.js';
import { signalGroup, sleep } from './proc.js';
import { forgetChild, harnessRoot, recordChild } from './run-root.js';

export interface ServerOptions {
  /** Persistent data dir (kept, never deleted by the harness). Default: a fresh temp dir under the run root. */
  dir?: string;
  /** Port on 127.0.0.1. Default: a free port (and another one if that turns out to be taken). */
  port?: number;
  /** Receives harness events and the server's log lines, each prefixed with `[kind:port]`. */
  log?: (line: string) => void;
  /**
   * Command prefix the server runs under, e.g. a NetworkNamespace's `prefix` (`ip netns exec <ns>`). It
   * must exec the server (keep its pid): readiness checks and kills go to that pid.
   */
  wrap?: string[];
  /**
   * Address the harness reaches the server at (and the server listens on besides 127.0.0.1 where it can),
   * e.g. a namespace's `nsAddress`. Default 127.0.0.1.
   */
  host?: string;
}

/** Where a server runs: under which command prefix, reached at which address. */
export type ServerPlacement = Pick<ServerOptions, 'wrap' | 'host'>;

/** What to run for one start. */
export interface SpawnSpec {
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
}

/** Thrown when a server does not come up; `addressInUse` says the port was taken (worth another port). */
export class ServerStartError extends Error {
  constructor(
    message: string,
    readonly commandLine: string,
    readonly addressInUse: boolean,
  ) {
    super(message);
    this.name = 'ServerStartError';
  }
}

/**
 * Starts something made of several servers on ports chosen beforehand (a cluster, whose nodes name each
 * other's ports in their config), and starts it over on fresh ports when a server found one of them taken
 * in the meantime (by a test in another process). A single server retries on another port by itself
 * (`startOnFreePort`); a cluster can only start again from scratch, so `start` must clean up after itself
 * when it throws.
 */
export async function startWithFreshPorts<T>(
  what: string,
  start: () => Promise<T>,
  log?: (line: string) => void,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (err) {
      if (!(err instanceof ServerStartError && err.addressInUse) || attempt >= 4) throw err;
      log?.(`${what}: a port was taken while it started; starting again on other ports`);
    }
  }
}

const TAIL_LINES = 30;
// RabbitMQ reports its Erlang distribution port as `dist_port_already_used` (not the OS error's words).
const ADDRESS_IN_USE = /address already in use|EADDRINUSE|errno:? ?98\b|error: ?98\b|dist_port_already_used/i;

/** Whether a server's start-up output says one of its ports was taken (so another port is worth a try). */
export function saysAddressInUse(output: string): boolean {
  return ADDRESS_IN_USE.test(output);
}

interface Run {
  child: ChildProcess;
  pid: number;
  exited: Promise<void>;
  exit?: { code: number | null; signal: NodeJS.Signals | null };
  tailTimer?: NodeJS.Timeout;
  /** Reads what the server's own log file got since the last call and sends it to the log callback. */
  flushTail?: () => void;
}

function fileSize(file: string | undefined): number {
  if (file === undefined) return 0;
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/** Bytes of `file` from `offset` on (at most the last `max` bytes), as text. */
function readFrom(file: string, offset: number, max = 64 * 1024): string {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return '';
  }
  try {
    const size = statSync(file).size;
    const start = Math.max(offset, size - max);
    if (size <= start) return '';
    const buffer = Buffer.alloc(size - start);
    const n = readSync(fd, buffer, 0, buffer.length, start);
    return buffer.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function lastLines(text: string, n: number): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines.slice(-n);
}

function quoteArg(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(spec: SpawnSpec): string {
  return [spec.command, ...spec.args].map(quoteArg).join(' ');
}

/** Splits a byte stream into lines for the log callback. */
class LineSplitter {
  private pending = '';
  constructor(private readonly emit: (line: string) => void) {}
  push(chunk: string): void {
    const parts = (this.pending + chunk).split('\n');
    this.pending = parts.pop() ?? '';
    for (const line of parts) this.emit(line.replace(/\r$/, ''));
  }
  flush(): void {
    if (this.pending) this.emit(this.pending);
    this.pending = '';
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export abstract class ManagedServer {
  /** Short name used for the log file and the log prefix, e.g. `redis`. */
  protected abstract readonly kind: string;
  /** How long start() waits for readiness before giving up. */
  protected startTimeoutMs = 30_000;
  /** How long stop() waits after SIGTERM before it sends SIGKILL. */
  protected stopTimeoutMs = 10_000;
  /** How long one readiness probe may take. */
  protected probeTimeoutMs = 5_000;
  /** Stream serverLogFile() to the log callback (off when the server also writes it to stderr). */
  protected tailServerLog = true;

  readonly dir: string;
  private currentPort: number;
  private startedOnce = false;
  private run: Run | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  protected readonly logFn: ((line: string) => void) | undefined;
  /** True when the harness made `dir` (a temp dir under the run root), so destroy() may delete it. */
  protected readonly ownsDir: boolean;

  /** The command prefix of every start (empty: run directly). */
  protected readonly wrap: string[];
  /** Address the harness reaches the server at. */
  readonly host: string;

  protected constructor(
    dir: string,
    port: number,
    ownsDir: boolean,
    log?: (line: string) => void,
    placement: ServerPlacement = {},
  ) {
    this.dir = dir;
    this.currentPort = port;
    this.ownsDir = ownsDir;
    this.logFn = log;
    this.wrap = placement.wrap ?? [];
    this.host = placement.host ?? '127.0.0.1';
  }

  /** The command to spawn for the current port and dir. */
  protected abstract spawnSpec(): SpawnSpec;
  /**
   * One readiness attempt: resolve true when the server really accepts work *and* is the process we
   * started (not some other server that grabbed the port); false or throw when not yet.
   */
  protected abstract probe(pid: number): Promise<boolean>;
  /** Called right after every spawn, before readiness (e.g. a benchmark sampling the whole life). */
  protected spawned(_pid: number): void {}
  /** Runs before every spawn: write config files, create the data dir, … */
  protected async prepare(): Promise<void> {}
  /** The server's own log file, if it writes one (shown in start errors, streamed to `log`). */
  protected serverLogFile(): string | undefined {
    return undefined;
  }

  get port(): number {
    return this.currentPort;
  }

  /** The file that receives the server's stdout and stderr. */
  get outputLog(): string {
    return path.join(this.dir, `${this.kind}.out.log`);
  }

  get running(): boolean {
    return this.run !== undefined && this.run.exit === undefined;
  }

  get pid(): number | undefined {
    return this.running ? this.run?.pid : undefined;
  }

  /** Spawn the server and wait until it accepts work. */
  start(): Promise<void> {
    return this.serial(() => this.doStart());
  }

  /** SIGTERM, wait for a graceful exit, SIGKILL after the stop timeout. */
  stop(): Promise<void> {
    return this.serial(() => this.doStop());
  }

  /** SIGKILL (no shutdown work at all, like a crash or power loss of this process) and wait for exit. */
  kill(): Promise<void> {
    return this.serial(() => this.doKill());
  }

  /** stop() then start() on the same port and dir; data is kept. */
  restart(): Promise<void> {
    return this.serial(async () => {
      await this.doStop();
      await this.doStart();
    });
  }

  /** stop() and, if the harness created the dir, delete it (servers with an explicit dir keep it). */
  destroy(): Promise<void> {
    return this.serial(async () => {
      await this.doStop();
      if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    });
  }

  protected emit(line: string): void {
    if (this.logFn) {
      try {
        this.logFn(`[${this.kind}:${this.currentPort}] ${line}`);
      } catch {
        // a throwing log callback must not break the server's lifecycle
      }
    }
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.queue.then(fn, fn);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private async doStart(): Promise<void> {
    if (this.running) throw new Error(`${this.kind} on port ${this.port} is already running`);
    this.run = undefined;
    await this.prepare();
    const inner = this.spawnSpec();
    const [wrapCommand, ...wrapArgs] = this.wrap;
    const spec: SpawnSpec =
      wrapCommand === undefined
        ? inner
        : { ...inner, command: wrapCommand, args: [...wrapArgs, inner.command, ...inner.args] };
    const cmd = commandLine(spec);
    const outLog = this.outputLog;
    const serverLog = this.serverLogFile();
    const outOffset = fileSize(outLog);
    const serverLogOffset = fileSize(serverLog);
    const outFd = openSync(outLog, 'a');
    writeSync(outFd, `--- ${new Date().toISOString()} starting: ${cmd}\n`);
    this.emit(`starting: ${cmd}`);

    let spawnError: Error | undefined;
    const child = spawn(spec.command, spec.args, {
      cwd: this.dir,
      env: { ...process.env, ...spec.env },
      stdio: ['ignore', 'pipe', 'pipe'],
      // Its own process group: kill() reaches forked helpers too, and a Ctrl-C meant for the parent
      // does not reach the server behind the harness's back.
      detached: true,
    });
    const splitter = this.logFn ? new LineSplitter((line) => this.emit(line)) : undefined;
    let openStreams = 2;
    const onData = (chunk: Buffer): void => {
      try {
        writeSync(outFd, chunk);
      } catch {
        // log file gone (run root removed): keep the server running anyway
      }
      splitter?.push(chunk.toString('utf8'));
    };
    const onClose = (): void => {
      if (--openStreams === 0) {
        splitter?.flush();
        closeSync(outFd);
      }
    };
    child.stdout?.on('data', onData).on('close', onClose);
    child.stderr?.on('data', onData).on('close', onClose);

    const run: Run = {
      child,
      pid: child.pid ?? -1,
      exited: new Promise<void>((resolve) => {
        child.once('exit', (code, signal) => {
          run.exit = { code, signal };
          if (run.tailTimer) clearInterval(run.tailTimer);
          run.flushTail?.();
          if (run.pid > 0) forgetChild(run.pid);
          resolve();
        });
        child.once('error', (err) => {
          spawnError = err;
          if (child.pid === undefined) {
            run.exit = { code: null, signal: null };
            resolve();
          }
        });
      }),
    };
    this.run = run;
    if (child.pid !== undefined) {
      recordChild(child.pid, cmd, this.dir);
      this.spawned(child.pid);
    }
    if (this.logFn && serverLog !== undefined && this.tailServerLog)
      this.tailToLog(run, serverLog, serverLogOffset);

    const fail = async (reason: string): Promise<never> => {
      if (run.exit === undefined) {
        signalGroup(run.pid, 'SIGKILL');
        await run.exited;
      }
      this.run = undefined;
      await sleep(20); // let the pipes drain into the log file
      const sections: string[] = [];
      let text = '';
      for (const [file, offset] of [
        [outLog, outOffset],
        [serverLog, serverLogOffset],
      ] as const) {
        if (file === undefined) continue;
        const chunk = readFrom(file, offset);
        text += chunk;
        sections.push(`--- last lines of ${file}:\n${lastLines(chunk, TAIL_LINES).join('\n') || '(empty)'}`);
      }
      const message = `${this.kind} on ${this.host}:${this.port} failed to start: ${reason}\ncommand: ${cmd}\n${sections.join('\n')}`;
      this.emit(`failed to start: ${reason}`);
      throw new ServerStartError(message, cmd, saysAddressInUse(text));
    };

    const deadline = Date.now() + this.startTimeoutMs;
    let lastProblem = 'no probe finished yet';
    let probes = 0;
    for (;;) {
      if (run.exit !== undefined) {
        if (spawnError) return fail(`cannot run ${spec.command}: ${spawnError.message}`);
        return fail(`process exited during start (code ${run.exit.code}, signal ${run.exit.signal})`);
      }
      if (Date.now() > deadline)
        return fail(`not ready after ${this.startTimeoutMs} ms (last probe: ${lastProblem})`);
      try {
        // Raced with the exit: a probe may hang on whatever else listens on the port meanwhile.
        const ready = await Promise.race([
          withTimeout(this.probe(run.pid), this.probeTimeoutMs, 'readiness probe'),
          run.exited.then(() => false),
        ]);
        if (ready && run.exit === undefined) break;
        if (!ready) lastProblem = 'not ready';
      } catch (err) {
        lastProblem = (err as Error).message;
      }
      await Promise.race([sleep(Math.min(100, 10 * ++probes)), run.exited]);
    }
    this.startedOnce = true;
    run.flushTail?.();
    this.emit(`ready (pid ${run.pid})`);
  }

  private async doStop(): Promise<void> {
    const run = this.run;
    if (!run) return;
    if (run.exit === undefined) {
      this.emit('stopping (SIGTERM)');
      try {
        if (run.pid > 1) process.kill(run.pid, 'SIGTERM');
      } catch {
        // already gone
      }
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        run.exited.then(() => false),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(true), this.stopTimeoutMs);
        }),
      ]);
      clearTimeout(timer);
      if (timedOut) {
        this.emit(`still running ${this.stopTimeoutMs} ms after SIGTERM: SIGKILL`);
        signalGroup(run.pid, 'SIGKILL');
        await run.exited;
      }
    }
    signalGroup(run.pid, 'SIGKILL'); // stragglers of the group, if any
    this.run = undefined;
    this.emit('stopped');
  }

  private async doKill(): Promise<void> {
    const run = this.run;
    if (!run) return;
    if (run.exit === undefined) {
      this.emit('killing (SIGKILL)');
      signalGroup(run.pid, 'SIGKILL');
      await run.exited;
    }
    this.run = undefined;
  }

  /** Stream new lines of the server's own log file to the log callback while it runs. */
  private tailToLog(run: Run, file: string, offset: number): void {
    let position = offset;
    const splitter = new LineSplitter((line) => this.emit(line));
    run.flushTail = () => {
      const size = fileSize(file);
      if (size <= position) return;
      splitter.push(readFrom(file, position, size - position));
      position = size;
    };
    run.tailTimer = setInterval(run.flushTail, 250);
    run.tailTimer.unref();
  }

  /**
   * Used by the static start() of subclasses: start, and if the port turned out to be taken (another
   * test process won the race for it) and no port was requested, try again on another free port.
   */
  protected static async startOnFreePort<T extends ManagedServer>(
    kind: string,
    opts: ServerOptions,
    make: (dir: string, port: number, ownsDir: boolean) => T,
  ): Promise<T> {
    const ownsDir = opts.dir === undefined;
    let dir: string;
    if (opts.dir !== undefined) {
      dir = path.resolve(opts.dir);
      mkdirSync(dir, { recursive: true });
    } else {
      dir = mkdtempSync(path.join(harnessRoot(), `${kind}-`));
    }
    const server = make(dir, opts.port ?? (await freePort()), ownsDir);
    for (let attempt = 1; ; attempt++) {
      try {
        await server.start();
        return server;
      } catch (err) {
        const retry =
          err instanceof ServerStartError && err.addressInUse && opts.port === undefined && attempt < 6;
        if (!retry || server.startedOnce) throw err;
        const port = await freePort();
        server.emit(`port ${server.currentPort} is taken, retrying on ${port}`);
        server.currentPort = port;
      }
    }
  }
}
