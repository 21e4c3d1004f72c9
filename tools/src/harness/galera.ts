/**
 * A private MariaDB Galera cluster on loopback: N mariadbd processes (default 3), each in its own dir
 * with its own SQL port and its own Galera ports (group communication, IST, SST), root@127.0.0.1 with an
 * empty password like MariaDbServer.
 *
 * - Node 1 bootstraps a new cluster (`--wsrep-new-cluster`) on its first start only; the others join it
 *   and receive the data by SST (rsync). A node restarted later joins whoever is up, by IST when the
 *   donor's gcache still holds what it missed, else by SST.
 * - A node counts as started once it is Synced and ready (`wsrep_local_state_comment`, `wsrep_ready`).
 * - The nodes run as the `mysql` user when the harness runs as root: the rsync daemon that the SST script
 *   starts has no `uid` in its config, so as root it would drop to `nobody` and fail to write the joiner's
 *   datadir. Hence the node dirs are chowned to `mysql` and the dirs above them made traversable.
 * - Each node reads only its own `my.cnf` (`--defaults-file`, never /etc/mysql); the SST script reads
 *   the same file.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import * as mariadb from 'mariadb';
import { findBinary } from './binaries.js';
import { ensureMariaDbTemplate } from './mariadb.js';
import { ManagedServer, startWithFreshPorts, type SpawnSpec } from './managed-server.js';
import { freePort } from './ports.js';
import { harnessRoot } from './run-root.js';
import { waitFor } from './wait-for.js';

const execFileAsync = promisify(execFile);

/** Where Debian's galera-4 package puts the provider. */
const DEFAULT_PROVIDER = '/usr/lib/galera/libgalera_smm.so';

const isRoot = (): boolean => process.getuid?.() === 0;

export interface GaleraPorts {
  sql: number;
  /** Group communication (gmcast), 4567 by default in production. */
  gcomm: number;
  /** Incremental state transfer, 4568 in production. */
  ist: number;
  /** State snapshot transfer (the joiner's rsync daemon), 4444 in production. */
  sst: number;
}

export interface GaleraNodeStatus {
  clusterSize: number;
  /** `wsrep_local_state_comment`: Synced, Donor/Desynced, Joining, … */
  state: string;
  /** `wsrep_cluster_status`: Primary or non-Primary. */
  clusterStatus: string;
  ready: boolean;
}

export class GaleraNode extends ManagedServer {
  protected readonly kind = 'galera';
  /** Set for node 1's first start: `--wsrep-new-cluster`. */
  bootstrapNext = false;

  constructor(
    dir: string,
    readonly ports: GaleraPorts,
    readonly index: number,
    private readonly cluster: { name: string; gcommPorts: number[]; provider: string; options: string },
    log?: (line: string) => void,
  ) {
    super(dir, ports.sql, true, log);
    this.startTimeoutMs = 180_000; // SST of a joiner, or crash recovery, on a shared slow disk
    this.stopTimeoutMs = 30_000;
  }

  get dataDir(): string {
    return path.join(this.dir, 'data');
  }

  get errorLog(): string {
    return path.join(this.dir, 'error.log');
  }

  get configFile(): string {
    return path.join(this.dir, 'my.cnf');
  }

  /** mariadb://root@127.0.0.1:PORT/db */
  databaseUrl(db: string): string {
    return `mariadb://root@127.0.0.1:${this.port}/${encodeURIComponent(db)}`;
  }

  /** Run one statement as root on a short-lived connection. */
  async query(sql: string, params?: unknown[]): Promise<unknown> {
    const conn = await this.connect();
    try {
      return await conn.query(sql, params);
    } finally {
      await conn.end().catch(() => undefined);
    }
  }

  async status(): Promise<GaleraNodeStatus> {
    const rows = (await this.query(
      "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_size', 'wsrep_local_state_comment', 'wsrep_cluster_status', 'wsrep_ready')",
    )) as { Variable_name: string; Value: string }[];
    const v = new Map(rows.map((r) => [r.Variable_name, r.Value]));
    return {
      clusterSize: Number(v.get('wsrep_cluster_size') ?? 0),
      state: v.get('wsrep_local_state_comment') ?? '',
      clusterStatus: v.get('wsrep_cluster_status') ?? '',
      ready: v.get('wsrep_ready') === 'ON',
    };
  }

  private connect(): Promise<mariadb.Connection> {
    return mariadb.createConnection({
      host: '127.0.0.1',
      port: this.port,
      user: 'root',
      password: '',
      connectTimeout: 3000,
    });
  }

  protected override serverLogFile(): string {
    return this.errorLog;
  }

  protected override async prepare(): Promise<void> {
    if (!existsSync(this.dataDir)) {
      const template = await ensureMariaDbTemplate(this.logFn);
      await execFileAsync('cp', ['-a', '--reflink=auto', template, this.dataDir]);
    }
    writeFileSync(this.configFile, this.config());
    if (this.bootstrapNext) allowBootstrap(this.dataDir);
    if (isRoot()) {
      execFileSync('chown', ['-R', 'mysql:mysql', this.dir]);
      makeTraversable(this.dir);
    }
  }

  private config(): string {
    const p = this.ports;
    const addresses = this.cluster.gcommPorts.map((port) => `127.0.0.1:${port}`).join(',');
    const providerOptions = [
      `gmcast.listen_addr=tcp://127.0.0.1:${p.gcomm}`,
      `ist.recv_addr=127.0.0.1:${p.ist}`,
      'gcache.size=64M',
      this.cluster.options,
    ]
      .filter(Boolean)
      .join(';');
    return `# sensorfleet test harness: Galera node ${this.index + 1}
[mysqld]
${isRoot() ? 'user=mysql\n' : ''}datadir=${this.dataDir}
port=${p.sql}
bind-address=127.0.0.1
socket=${path.join(this.dir, 'mariadb.sock')}
pid-file=${path.join(this.dir, 'mariadb.pid')}
log-error=${this.errorLog}
skip-name-resolve
innodb_buffer_pool_size=64M
innodb_log_file_size=32M
# test speed: the redo log is fsynced once a second (see mariadb.ts); Galera holds a copy on the others
innodb_flush_log_at_trx_commit=2
max_connections=200
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
default-time-zone=+00:00
binlog_format=ROW
innodb_autoinc_lock_mode=2
wsrep_on=ON
wsrep_provider=${this.cluster.provider}
wsrep_cluster_name=${this.cluster.name}
wsrep_cluster_address=gcomm://${addresses}
wsrep_node_name=node${this.index + 1}
wsrep_node_address=127.0.0.1:${p.gcomm}
wsrep_provider_options="${providerOptions}"
wsrep_sst_receive_address=127.0.0.1:${p.sst}
wsrep_sst_method=rsync
`;
  }

  protected spawnSpec(): SpawnSpec {
    const args = [`--defaults-file=${this.configFile}`];
    if (this.bootstrapNext) args.push('--wsrep-new-cluster');
    return { command: findBinary('mariadbd', 'MARIADBD_BIN'), args };
  }

  override async start(): Promise<void> {
    try {
      await super.start();
    } finally {
      this.bootstrapNext = false;
    }
  }

  protected async probe(): Promise<boolean> {
    const status = await this.status();
    return status.ready && status.state === 'Synced' && status.clusterStatus === 'Primary';
  }
}

/** Mark a datadir as the one to bootstrap from (Galera refuses when it was not the last node to leave). */
function allowBootstrap(dataDir: string): void {
  const file = path.join(dataDir, 'grastate.dat');
  if (!existsSync(file)) return;
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace(/safe_to_bootstrap:\s*0/, 'safe_to_bootstrap: 1'));
}

/** o+x on every dir from `dir` up to the temp dir, so the `mysql` user can reach its node dir. */
function makeTraversable(dir: string): void {
  const stop = path.resolve(os.tmpdir());
  for (let d = path.resolve(dir); d.startsWith(stop) && d !== stop; d = path.dirname(d)) {
    const mode = statSync(d).mode;
    if ((mode & 0o001) === 0) chmodSync(d, (mode & 0o7777) | 0o001);
  }
}

export interface GaleraClusterOptions {
  nodes?: number;
  log?: (line: string) => void;
  /** Extra `wsrep_provider_options`, e.g. shorter `evs.suspect_timeout` for a drill. */
  providerOptions?: string;
}

export class GaleraCluster {
  private constructor(
    readonly dir: string,
    readonly nodes: GaleraNode[],
  ) {}

  /** Bootstrap node 1, then join the others one at a time (each joiner needs a donor), all Synced. */
  static start(opts: GaleraClusterOptions = {}): Promise<GaleraCluster> {
    return startWithFreshPorts('Galera cluster', () => GaleraCluster.startOnce(opts), opts.log);
  }

  private static async startOnce(opts: GaleraClusterOptions): Promise<GaleraCluster> {
    const count = opts.nodes ?? 3;
    const dir = mkdtempSync(path.join(harnessRoot(), 'galera-'));
    const ports: GaleraPorts[] = [];
    for (let i = 0; i < count; i++) {
      ports.push({
        sql: await freePort(),
        gcomm: await freePort(),
        ist: await freePort(),
        sst: await freePort(),
      });
    }
    const shared = {
      name: `sf_${randomBytes(4).toString('hex')}`,
      gcommPorts: ports.map((p) => p.gcomm),
      provider: process.env.GALERA_PROVIDER ?? DEFAULT_PROVIDER,
      options: opts.providerOptions ?? '',
    };
    const nodes = ports.map((p, i) => {
      const nodeDir = path.join(dir, `node${i + 1}`);
      mkdirSync(nodeDir, { recursive: true });
      return new GaleraNode(nodeDir, p, i, shared, opts.log);
    });
    const cluster = new GaleraCluster(dir, nodes);
    try {
      nodes[0]!.bootstrapNext = true;
      for (const node of nodes) await node.start();
      await cluster.waitForSize(count);
    } catch (err) {
      await cluster.destroy();
      throw err;
    }
    return cluster;
  }

  node(i: number): GaleraNode {
    const node = this.nodes[i];
    if (!node) throw new Error(`no Galera node ${i} (cluster of ${this.nodes.length})`);
    return node;
  }

  /** One mariadb:// URL per node for `db`, node 1 first, comma-separated (the DATABASE_URL list form). */
  databaseUrl(db: string, order: number[] = this.nodes.map((_, i) => i)): string {
    return order.map((i) => this.node(i).databaseUrl(db)).join(',');
  }

  /** Create a database (replicated to every node) and return its DATABASE_URL list. */
  async createDatabase(name?: string): Promise<string> {
    const db = name ?? `sf_test_${randomBytes(6).toString('hex')}`;
    if (!/^[A-Za-z0-9_$]{1,64}$/.test(db))
      throw new Error(`createDatabase: invalid database name ${JSON.stringify(db)}`);
    await this.firstRunning().query(
      `CREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci`,
    );
    return this.databaseUrl(db);
  }

  /** Wait until every running node sees a Primary component of `size` nodes and is Synced. */
  async waitForSize(size: number, timeoutMs = 120_000): Promise<void> {
    await waitFor(
      `Galera cluster size ${size}`,
      timeoutMs,
      async () => {
        const seen: string[] = [];
        for (const node of this.nodes.filter((n) => n.running)) {
          const s = await node.status();
          seen.push(`node${node.index + 1}: ${s.clusterSize} ${s.state} ${s.clusterStatus}`);
          if (s.clusterSize !== size || s.state !== 'Synced' || s.clusterStatus !== 'Primary')
            return seen.join(', ');
        }
        return true;
      },
      200,
    );
  }

  private firstRunning(): GaleraNode {
    const node = this.nodes.find((n) => n.running);
    if (!node) throw new Error('no Galera node is running');
    return node;
  }

  async destroy(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.destroy()));
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  }
}
