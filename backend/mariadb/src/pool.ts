import { createPool as createMariaPool, type Pool, type PoolConfig } from 'mariadb';

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
 * All times are written and read as UTC (`timezone: 'Z'`), whatever the server's zone; BIGINTs come back
 * as numbers (seqs stay far below 2^53).
 */
export function createPool(url: string, opts: Partial<PoolConfig> = {}): Pool {
  return createMariaPool({
    ...parseDatabaseUrl(url),
    connectionLimit: 5,
    timezone: 'Z',
    bigIntAsNumber: true,
    insertIdAsNumber: true,
    decimalAsNumber: true,
    acquireTimeout: 10_000,
    connectTimeout: 5_000,
    ...opts,
  });
}
