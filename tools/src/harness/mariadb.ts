/**
 * A private MariaDB server (mariadbd) with root@127.0.0.1, empty password, over TCP.
 *
 * Layout of an instance dir: `data/` (the datadir), `mariadb.sock`, `mariadb.pid`, `error.log` (the
 * server's log), `mariadb.out.log` (stdout/stderr).
 *
 * Starting is fast because `mariadb-install-db` (seconds) runs once per machine and MariaDB version:
 * it builds a TEMPLATE datadir under <os.tmpdir()>/sensorfleet-harness/, which each new instance copies.
 *
 * Config choices (all on the command line, `--no-defaults`, so /etc/mysql is never read):
 * - `--innodb-flush-log-at-trx-commit=2` is a TEST-SPEED choice: the redo log is written at commit but
 *   fsynced once a second. A killed mariadbd (kill()) loses nothing, since the OS still has the data;
 *   only an OS crash could lose the last second. Production uses the default (1).
 * - small buffer pool (64M) and redo log (32M), no binlog, `--skip-name-resolve`, 200 connections,
 *   utf8mb4 and UTC (`--default-time-zone=+00:00`) like the containers in production.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as mariadb from 'mariadb';
import { findBinary } from './binaries.js';
import { ManagedServer, type ServerOptions, type SpawnSpec } from './managed-server.js';
import { isSameProcess, procStartTicks, sleep } from './proc.js';
import { harnessBase } from './run-root.js';

const execFileAsync = promisify(execFile);

/** Bump when the template's contents change, so existing templates are not reused. */
const TEMPLATE_FORMAT = 1;

/** Settings that must be the same when the template is made and when an instance runs. */
const INNODB_ARGS = ['--innodb-buffer-pool-size=64M', '--innodb-log-file-size=32M'];

/** Makes sure root@127.0.0.1 exists with an empty password and every privilege (TCP root login). */
const INIT_SQL = `-- sensorfleet test harness: root over TCP, empty password
FLUSH PRIVILEGES;
CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;
FLUSH PRIVILEGES;
`;

const isRoot = (): boolean => process.getuid?.() === 0;

function run(command: string, args: string[], logFile: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      writeFileSync(logFile, `$ ${command} ${args.join(' ')}\n${stdout}${stderr}`);
      if (!err) return resolve();
      const tail = `${stdout}${stderr}`.trim().split('\n').slice(-30).join('\n');
      reject(
        new Error(
          `${command} failed (${err.message.split('\n')[0]})\ncommand: ${command} ${args.join(' ')}\n${tail}`,
        ),
      );
    });
  });
}

let cachedVersion: string | undefined;

/** Version string of the installed mariadbd, e.g. `10.11.19-MariaDB-0+deb12u1`. */
export function mariadbVersion(): string {
  if (cachedVersion === undefined) {
    const out = execFileSync(findBinary('mariadbd', 'MARIADBD_BIN'), ['--no-defaults', '--version'], {
      encoding: 'utf8',
    });
    cachedVersion = /Ver\s+(\S+)/.exec(out)?.[1] ?? 'unknown';
  }
  return cachedVersion;
}

/** Where the template datadir for this MariaDB version (and user) lives. */
export function mariadbTemplateDir(): string {
  const version = mariadbVersion().replace(/[^\w.+-]/g, '_');
  const uid = process.getuid?.() ?? 0;
  return path.join(harnessBase(), `mariadb-template-${version}-f${TEMPLATE_FORMAT}-u${uid}`);
}

interface LockOwner {
  pid: number;
  startTicks?: string;
}

let templatePromise: Promise<string> | undefined;

/**
 * Path of a ready template datadir, building it first if needed. The build happens in a temp dir that
 * is renamed into place, so the template either exists complete or not at all; a lock dir makes other
 * processes wait instead of building too (a lock whose owner died is taken over).
 */
export function ensureMariaDbTemplate(log?: (line: string) => void): Promise<string> {
  templatePromise ??= acquireTemplate(log).catch((err: unknown) => {
    templatePromise = undefined;
    throw err;
  });
  return templatePromise;
}

async function acquireTemplate(log?: (line: string) => void): Promise<string> {
  const template = mariadbTemplateDir();
  const lock = `${template}.lock`;
  const ownerFile = path.join(lock, 'owner.json');
  mkdirSync(path.dirname(template), { recursive: true });
  const waitUntil = Date.now() + 10 * 60_000;
  for (;;) {
    if (existsSync(template)) return template;
    try {
      mkdirSync(lock);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      let owner: LockOwner | undefined;
      try {
        owner = JSON.parse(readFileSync(ownerFile, 'utf8')) as LockOwner;
      } catch {
        owner = undefined;
      }
      let stale = owner !== undefined && !isSameProcess(owner.pid, owner.startTicks);
      if (owner === undefined) {
        try {
          stale = Date.now() - statSync(lock).mtimeMs > 60_000;
        } catch {
          stale = false; // lock just went away: loop
        }
      }
      if (stale) {
        rmSync(lock, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > waitUntil)
        throw new Error(`timed out waiting for another process to build ${template}`);
      await sleep(250);
      continue;
    }
    try {
      const owner: LockOwner = { pid: process.pid, startTicks: procStartTicks(process.pid) };
      writeFileSync(ownerFile, JSON.stringify(owner));
      if (!existsSync(template)) await buildTemplate(template, log);
      return template;
    } finally {
      rmSync(lock, { recursive: true, force: true });
    }
  }
}

async function buildTemplate(template: string, log?: (line: string) => void): Promise<void> {
  const started = Date.now();
  log?.(`[mariadb] building template datadir ${template} (once per machine and version)`);
  const build = mkdtempSync(`${template}.build-${process.pid}-`);
  try {
    const dataDir = path.join(build, 'data');
    const initFile = path.join(build, 'init.sql');
    writeFileSync(initFile, INIT_SQL);
    const args = [
      '--no-defaults',
      `--datadir=${dataDir}`,
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
      `--extra-file=${initFile}`,
      ...INNODB_ARGS,
    ];
    if (isRoot()) args.push('--user=root');
    await run(
      findBinary('mariadb-install-db', 'MARIADB_INSTALL_DB_BIN'),
      args,
      path.join(build, 'install.log'),
    );
    // Start it once the way instances run: proves TCP root login works (readiness runs SELECT 1 as
    // root@127.0.0.1) and leaves a cleanly shut down datadir behind.
    const check = await MariaDbServer.start({ dir: build, log });
    try {
      const rows = (await check.query(
        "SELECT COUNT(*) AS n FROM mysql.global_priv WHERE User = 'root' AND Host = '127.0.0.1'",
      )) as { n: number | bigint }[];
      if (Number(rows[0]?.n) !== 1) throw new Error('template check: root@127.0.0.1 is missing');
      // mariadb-install-db also made root@<hostname>, which --skip-name-resolve only warns about.
      const host = os.hostname();
      if (!['localhost', '127.0.0.1', '::1', ''].includes(host)) {
        await check.query('DROP USER IF EXISTS ?@?', ['root', host]);
      }
    } finally {
      await check.stop();
    }
    try {
      renameSync(dataDir, template);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST' && code !== 'ENOTEMPTY') throw err; // else: another process won the race
    }
    log?.(`[mariadb] template ready in ${Date.now() - started} ms`);
  } finally {
    rmSync(build, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}

/** Copy the template datadir to `dest` (reflink where the filesystem can), atomically via rename. */
async function copyTemplate(template: string, dest: string): Promise<void> {
  const partial = `${dest}.partial-${randomBytes(4).toString('hex')}`;
  try {
    await execFileAsync('cp', ['-a', '--reflink=auto', template, partial]);
  } catch {
    rmSync(partial, { recursive: true, force: true });
    cpSync(template, partial, { recursive: true, preserveTimestamps: true });
  }
  renameSync(partial, dest);
}

function sameDir(a: string, b: string): boolean {
  const norm = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  return norm(a) === norm(b);
}

export class MariaDbServer extends ManagedServer {
  protected readonly kind = 'mariadb';

  private constructor(
    dir: string,
    port: number,
    ownsDir: boolean,
    log?: (line: string) => void,
    private readonly serverArgs: readonly string[] = [],
  ) {
    super(dir, port, ownsDir, log);
    this.startTimeoutMs = 120_000; // crash recovery after kill() can take a while on a slow disk
    this.stopTimeoutMs = 30_000;
  }

  /**
   * Start a private MariaDB. A `dir` that already holds `data/` is reused (persistent instance).
   * `serverArgs` are appended to the command line, for settings that cannot change at run time
   * (e.g. `--innodb-rollback-on-timeout`).
   */
  static start(opts: ServerOptions & { serverArgs?: readonly string[] } = {}): Promise<MariaDbServer> {
    return ManagedServer.startOnFreePort(
      'mariadb',
      opts,
      (dir, port, ownsDir) => new MariaDbServer(dir, port, ownsDir, opts.log, opts.serverArgs),
    );
  }

  /** mariadb://root@127.0.0.1:PORT/ (root, empty password, over TCP) */
  get rootUrl(): string {
    return `mariadb://root@127.0.0.1:${this.port}/`;
  }

  /** mariadb://root@127.0.0.1:PORT/db */
  databaseUrl(db: string): string {
    return `mariadb://root@127.0.0.1:${this.port}/${encodeURIComponent(db)}`;
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  /** The server's own log (`--log-error`). */
  get errorLog(): string {
    return path.join(this.dir, 'error.log');
  }

  /** Unix socket path; falls back to a short path in the temp dir when the dir's path is too long. */
  get socketPath(): string {
    const inDir = path.join(this.dir, 'mariadb.sock');
    if (Buffer.byteLength(inDir) <= 100) return inDir;
    const hash = createHash('sha256').update(this.dir).digest('hex').slice(0, 16);
    return path.join(os.tmpdir(), `sensorfleet-mariadb-${hash}.sock`);
  }

  /** Create a fresh database (random name if none given) and return its DATABASE_URL. */
  async createDatabase(name?: string): Promise<string> {
    const db = name ?? `sf_test_${randomBytes(6).toString('hex')}`;
    if (!/^[A-Za-z0-9_$]{1,64}$/.test(db))
      throw new Error(`createDatabase: invalid database name ${JSON.stringify(db)}`);
    await this.query(`CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`);
    return this.databaseUrl(db);
  }

  /** Run one statement as root over TCP on a short-lived connection (a convenience for tests). */
  async query(sql: string, params?: unknown[]): Promise<unknown> {
    const conn = await this.connect();
    try {
      return await conn.query(sql, params);
    } finally {
      await conn.end().catch(() => undefined);
    }
  }

  private connect(database?: string): Promise<mariadb.Connection> {
    return mariadb.createConnection({
      host: '127.0.0.1',
      port: this.port,
      user: 'root',
      password: '',
      connectTimeout: 3000,
      ...(database ? { database } : {}),
    });
  }

  protected override serverLogFile(): string {
    return this.errorLog;
  }

  protected override async prepare(): Promise<void> {
    if (!existsSync(this.dataDir)) {
      const template = await ensureMariaDbTemplate(this.logFn);
      await copyTemplate(template, this.dataDir);
    }
  }

  protected spawnSpec(): SpawnSpec {
    const args = [
      '--no-defaults', // must come first: do not read /etc/mysql or ~/.my.cnf
      `--datadir=${this.dataDir}`,
      `--port=${this.port}`,
      '--bind-address=127.0.0.1',
      `--socket=${this.socketPath}`,
      `--pid-file=${path.join(this.dir, 'mariadb.pid')}`,
      `--log-error=${this.errorLog}`,
      '--skip-log-bin',
      '--skip-name-resolve',
      ...INNODB_ARGS,
      '--innodb-flush-log-at-trx-commit=2', // test speed, see the file comment
      '--max-connections=200',
      '--character-set-server=utf8mb4',
      '--collation-server=utf8mb4_unicode_ci',
      '--default-time-zone=+00:00',
      ...this.serverArgs,
    ];
    if (isRoot()) args.push('--user=root');
    return { command: findBinary('mariadbd', 'MARIADBD_BIN'), args };
  }

  protected async probe(): Promise<boolean> {
    const conn = await this.connect();
    try {
      const rows = (await conn.query('SELECT 1 AS ok, @@datadir AS datadir')) as {
        ok: number;
        datadir: string;
      }[];
      const row = rows[0];
      if (Number(row?.ok) !== 1) return false;
      if (!row || !sameDir(row.datadir, this.dataDir)) {
        throw new Error(`port ${this.port} is served by another MariaDB (datadir ${row?.datadir})`);
      }
      return true;
    } finally {
      await conn.end().catch(() => undefined);
    }
  }
}
