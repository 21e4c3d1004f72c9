import { createPool as createMariaPool, type Pool, type PoolConfig } from 'mariadb';
import { FailoverPool, type FailoverEvents } from './failover-pool.js';
import { guardConnection } from './transaction-guard.js';

/** DATABASE_URL (`mariadb://user:pass@host:3306/db`) → connector options. */
export function parseDatabaseUrl(url: string): PoolConfig {
  const u = new URL(url);
  if (u.protocol !== 'mariadb:' && u.protocol !== 'mysql:') {
    throw new Error(`DATABASE_URL must start with mariadb:// (got ${u.protocol})`);
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  return {
    host: u.hostname || 'localhost',
    port: u.port ? Number(u.port) : 3306,
    user: decodeURIComponent(u.username || 'root'),
    password: decodeURIComponent(u.password),
    ...(database ? { database } : {}),
  };
}

/**
 * DATABASE_URL as a list: one full URL per Galera node, comma-separated (or already split by the env
 * schema's `urlList`), in failover order.
 */
export function splitDatabaseUrls(value: string | readonly string[]): string[] {
  const urls = (typeof value === 'string' ? value.split(',') : [...value])
    .map((u) => u.trim())
    .filter(Boolean);
  if (urls.length === 0) throw new Error('DATABASE_URL is empty');
  return urls;
}

export interface CreatePoolOptions extends Partial<PoolConfig>, FailoverEvents {
  /** With a URL list: how long a failed node is passed over (default 5 s). */
  retryDownMs?: number;
}

/**
 * The connector options of one node's pool: all times are written and read as UTC (`timezone: 'Z'`),
 * whatever the server's zone; BIGINTs come back as numbers (seqs stay far below 2^53). No pipelining:
 * see transaction-guard.ts (a PREPARE that fails must not leave its pipelined EXECUTE running).
 * Exported for the benchmark that compares it with the connector's defaults.
 */
export function connectorPoolConfig(url: string, opts: Partial<PoolConfig> = {}): PoolConfig {
  return {
    ...parseDatabaseUrl(url),
    connectionLimit: 5,
    timezone: 'Z',
    bigIntAsNumber: true,
    insertIdAsNumber: true,
    decimalAsNumber: true,
    acquireTimeout: 10_000,
    connectTimeout: 5_000,
    pipelining: false,
    ...opts,
  };
}

/**
 * A pool whose connections keep transactions all-or-nothing when the server aborts one in the middle
 * (deadlock victim, lock wait timeout with innodb_rollback_on_timeout, Galera conflict): statements one
 * after the other, none sent after the abort until the rollback (transaction-guard.ts).
 *
 * A comma-separated list of URLs (a Galera cluster) gives a FailoverPool: one connector pool per node,
 * everything sent to the first node that is up. Each node's pool gives up on a dead node after 3 s
 * (acquireTimeout) instead of 10 s: that wait is most of the failover time.
 */
export function createPool(url: string | readonly string[], opts: CreatePoolOptions = {}): Pool {
  const { onNodeDown, onActiveNode, onConflictRetry, retryDownMs, ...poolOpts } = opts;
  const urls = splitDatabaseUrls(url);
  const make = (one: string, extra: Partial<PoolConfig> = {}): Pool =>
    createMariaPool(connectorPoolConfig(one, { ...extra, ...poolOpts }));
  if (urls.length === 1) {
    const pool = make(urls[0]!);
    const getConnection = pool.getConnection.bind(pool);
    pool.getConnection = async () => guardConnection(await getConnection());
    return pool;
  }
  const nodes = urls.map((one) => {
    const cfg = parseDatabaseUrl(one);
    return {
      label: `${cfg.host}:${cfg.port}`,
      // minimumIdle 0: no connections are opened to the standby nodes until they are needed.
      pool: make(one, { acquireTimeout: 3_000, connectTimeout: 2_000, minimumIdle: 0 }),
    };
  });
  const pool = new FailoverPool(nodes, {
    retryDownMs: retryDownMs ?? 5_000,
    // A hot row written through two nodes (a brief split of the replicas' first node) can lose several
    // certifications in a row: 5 tries were exhausted under load in CI; 10 with a growing wait are not.
    maxConflictAttempts: 10,
    ...(onNodeDown ? { onNodeDown } : {}),
    ...(onActiveNode ? { onActiveNode } : {}),
    ...(onConflictRetry ? { onConflictRetry } : {}),
  });
  // Same methods as the connector's Pool (what every caller uses): see failover-pool.ts.
  return pool as unknown as Pool;
}
