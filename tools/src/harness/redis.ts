/**
 * A private redis-server running the device's shipped device/redis/redis.conf, so tests exercise the
 * persistence the device really has (AOF only, no RDB snapshots, noeviction, …). The command line
 * overrides only what must differ on a shared machine (port, bind 127.0.0.1 [+ `host`], dir) and the two settings
 * the image's entrypoint takes from the environment (appendfsync, maxmemory). Needs Redis 7 (the image's
 * version: the conf uses `appenddirname`); the AOF lives under `<dir>/appendonlydir/`.
 *
 * With `powerCut: true` Redis runs under the power-cut shim (power-cut.ts): its AOF writes stay in its
 * own memory until Redis fsyncs them, so `powerCut()` (a kill -9) loses what was not synced yet, as a
 * power cut of the device would (with `everysec`: up to about a second; with `always`: nothing).
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { findBinary } from './binaries.js';
import { ManagedServer, type ServerOptions, type SpawnSpec } from './managed-server.js';
import { powerCutEnv } from './power-cut.js';
import { REPO_ROOT } from './repo-root.js';

/** The device Redis config as it ships in the image. */
export const DEVICE_REDIS_CONF = path.join(REPO_ROOT, 'device/redis/redis.conf');

export interface RedisServerOptions extends ServerOptions {
  /** As REDIS_APPENDFSYNC on the device; default everysec. */
  appendfsync?: 'always' | 'everysec';
  /** As REDIS_MAXMEMORY on the device, e.g. '64mb'; default 0 (no limit). */
  maxmemory?: string;
  /** Run under the power-cut shim, so that powerCut() loses the AOF writes not yet fsynced. */
  powerCut?: boolean;
}

/** The AOF directory under a Redis dir (the shipped conf's `appenddirname`). */
export const AOF_DIRNAME = 'appendonlydir';

function encodeCommand(args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}

/**
 * Send one command over a fresh connection and return the reply as text (simple string, bulk string
 * or integer); an error reply rejects. Enough RESP for readiness checks without a client library.
 */
export function redisCommand(
  port: number,
  args: string[],
  timeoutMs = 3000,
  host = '127.0.0.1',
): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    let buffer = Buffer.alloc(0);
    const done = (err: Error | undefined, value?: string): void => {
      socket.destroy();
      if (err) reject(err);
      else resolve(value ?? '');
    };
    socket.setTimeout(timeoutMs, () => done(new Error(`redis ${args[0]}: no reply within ${timeoutMs} ms`)));
    socket.on('error', (err) => done(err));
    socket.on('connect', () => socket.write(encodeCommand(args)));
    socket.on('data', (chunk) => {
      buffer = Buffer.concat([buffer, chunk]);
      const eol = buffer.indexOf('\r\n');
      if (eol < 0) return;
      const head = buffer.subarray(0, eol).toString('utf8');
      const type = head[0];
      if (type === '+' || type === ':') return done(undefined, head.slice(1));
      if (type === '-') return done(new Error(head.slice(1)));
      if (type === '$') {
        const length = Number(head.slice(1));
        if (length < 0) return done(undefined, '');
        if (buffer.length < eol + 2 + length) return; // wait for the rest
        return done(undefined, buffer.subarray(eol + 2, eol + 2 + length).toString('utf8'));
      }
      done(new Error(`redis ${args[0]}: unexpected reply ${JSON.stringify(head)}`));
    });
    socket.on('close', () => done(new Error(`redis ${args[0]}: connection closed`)));
  });
}

export class RedisServer extends ManagedServer {
  protected readonly kind = 'redis';
  readonly appendfsync: 'always' | 'everysec';
  readonly maxmemory: string;
  readonly underPowerCut: boolean;

  private constructor(dir: string, port: number, ownsDir: boolean, opts: RedisServerOptions) {
    super(dir, port, ownsDir, opts.log, opts);
    this.appendfsync = opts.appendfsync ?? 'everysec';
    this.maxmemory = opts.maxmemory ?? '0';
    this.underPowerCut = opts.powerCut ?? false;
    this.startTimeoutMs = 60_000; // loading a big AOF takes a while
  }

  /** Start a private Redis (see the class comment for its configuration). */
  static start(opts: RedisServerOptions = {}): Promise<RedisServer> {
    return ManagedServer.startOnFreePort(
      'redis',
      opts,
      (dir, port, ownsDir) => new RedisServer(dir, port, ownsDir, opts),
    );
  }

  /** redis://HOST:PORT (HOST is 127.0.0.1 unless started with `host`) */
  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  protected spawnSpec(): SpawnSpec {
    const args = [
      DEVICE_REDIS_CONF,
      '--port',
      String(this.port),
      '--bind',
      ...new Set(['127.0.0.1', this.host]),
      '--dir',
      this.dir,
      '--appendfsync',
      this.appendfsync,
      '--maxmemory',
      this.maxmemory,
    ];
    return {
      command: findBinary('redis-server', 'REDIS_SERVER_BIN'),
      args,
      ...(this.underPowerCut ? { env: powerCutEnv(path.join(this.dir, AOF_DIRNAME)) } : {}),
    };
  }

  /** The AOF file Redis appends to: the newest incr file of the multi-part AOF (undefined before one). */
  liveAofFile(): string | undefined {
    const dir = path.join(this.dir, AOF_DIRNAME);
    if (!existsSync(dir)) return undefined;
    const incr = readdirSync(dir)
      .filter((f) => /\.\d+\.incr\.aof$/.test(f))
      .sort((a, b) => Number(/\.(\d+)\.incr/.exec(a)?.[1]) - Number(/\.(\d+)\.incr/.exec(b)?.[1]))
      .at(-1);
    return incr === undefined ? undefined : path.join(dir, incr);
  }

  /** Bytes of the live AOF on disk (under the shim it grows only when Redis fsyncs). */
  aofBytesOnDisk(): number {
    const file = this.liveAofFile();
    return file === undefined ? 0 : statSync(file).size;
  }

  /**
   * Resolves once Redis has fsynced its AOF again (the file on disk grew; needs writes going on and the
   * shim), so that a power cut `delayMs` later loses about `delayMs` of appends with `everysec`.
   */
  async nextAofSync(timeoutMs = 5000): Promise<void> {
    const size = this.aofBytesOnDisk();
    const deadline = Date.now() + timeoutMs;
    while (this.aofBytesOnDisk() === size) {
      if (Date.now() > deadline) throw new Error(`redis ${this.port}: no AOF fsync within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  /**
   * A power cut of the device's Redis: kill -9 under the shim, so the AOF writes Redis had not fsynced
   * are gone (a plain kill() keeps them: the kernel has them). Needs `powerCut: true`.
   */
  powerCut(): Promise<void> {
    if (!this.underPowerCut) throw new Error('powerCut() needs a Redis started with powerCut: true');
    this.emit('power cut: kill -9, AOF writes not yet fsynced are lost');
    return this.kill();
  }

  protected async probe(pid: number): Promise<boolean> {
    // PING answers -LOADING while the AOF is replayed, so PONG means the data is there.
    if ((await redisCommand(this.port, ['PING'], 3000, this.host)) !== 'PONG') return false;
    const info = await redisCommand(this.port, ['INFO', 'server'], 3000, this.host);
    const processId = Number(/^process_id:(\d+)/m.exec(info)?.[1]);
    if (processId !== pid) throw new Error(`port ${this.port} is served by another redis (pid ${processId})`);
    return true;
  }
}
