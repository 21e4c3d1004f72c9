import type { Connection, Pool, PoolConnection } from 'mariadb';
import { randomBytes } from 'node:crypto';
import { isConflict } from './galera-errors.js';
import { migrations as allMigrations, type Migration } from './migrations.js';
import type { Logger } from '@sensorfleet/shared';

export interface MigrationResult {
  applied: number[];
  current: number;
}

type Conn = Connection | PoolConnection;

/** How long a migration lock is honoured when its holder died without releasing it. */
const LOCK_LEASE_S = 600;
const LOCK_WAIT_MS = 300_000;

/**
 * Brings the schema up to date. Safe to call from every replica at start: a lock ROW in
 * `schema_migration_lock` makes concurrent starts wait for each other (a named lock, GET_LOCK, would
 * only be held on one Galera node), and applied versions are recorded in `schema_migrations`.
 */
export async function migrate(
  db: Pool | Conn,
  migrations: Migration[] = allMigrations,
): Promise<MigrationResult> {
  const conn: Conn = 'getConnection' in db ? await db.getConnection() : db;
  try {
    const holder = `${process.pid}-${randomBytes(6).toString('hex')}`;
    await takeMigrationLock(conn, holder);
    try {
      await conn.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
        version INT NOT NULL PRIMARY KEY,
        name VARCHAR(255) NOT NULL,
        applied_at DATETIME(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)
      ) ENGINE=InnoDB`);
      const rows = (await conn.query('SELECT version FROM schema_migrations')) as { version: number }[];
      const done = new Set(rows.map((r) => Number(r.version)));
      const applied: number[] = [];
      for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
        if (done.has(m.version)) continue;
        for (const sql of m.statements) await conn.query(sql);
        await conn.query('INSERT INTO schema_migrations (version, name) VALUES (?, ?)', [m.version, m.name]);
        applied.push(m.version);
      }
      const current = Math.max(0, ...done, ...applied);
      return { applied, current };
    } finally {
      await conn
        .query('UPDATE schema_migration_lock SET holder = NULL WHERE id = 1 AND holder = ?', [holder])
        .catch(() => undefined);
    }
  } finally {
    if ('release' in conn && conn !== db) await conn.release();
  }
}

/**
 * Takes the one lock row with a conditional autocommit UPDATE: on Galera, two nodes updating it at once
 * conflict in certification and the loser, retried by the server, then finds it taken. A lease lets a
 * later start take over from a holder that died.
 */
async function takeMigrationLock(conn: Conn, holder: string): Promise<void> {
  await conn.query(`CREATE TABLE IF NOT EXISTS schema_migration_lock (
    id TINYINT UNSIGNED NOT NULL PRIMARY KEY,
    holder VARCHAR(64) NULL,
    locked_until DATETIME(3) NOT NULL
  ) ENGINE=InnoDB`);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      // Every start inserts the row if missing; concurrent inserts on two nodes conflict like the update.
      await conn.query(
        "INSERT IGNORE INTO schema_migration_lock (id, holder, locked_until) VALUES (1, NULL, '2000-01-01')",
      );
      const result = (await conn.query(
        `UPDATE schema_migration_lock SET holder = ?, locked_until = NOW(3) + INTERVAL ${LOCK_LEASE_S} SECOND
         WHERE id = 1 AND (holder IS NULL OR locked_until < NOW(3))`,
        [holder],
      )) as { affectedRows: number };
      if (result.affectedRows === 1) return;
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    if (Date.now() > deadline)
      throw new Error(`could not get the migration lock within ${LOCK_WAIT_MS / 1000} s`);
    await new Promise((r) => setTimeout(r, 200 + Math.random() * 300));
  }
}

/**
 * Migrates once MariaDB answers: a service may start before its database (or while it is down for a
 * while), so it waits with capped exponential backoff instead of crash-looping.
 */
export async function migrateWhenReady(pool: Pool, log: Logger): Promise<MigrationResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await migrate(pool);
      log.info(result, 'database schema up to date');
      return result;
    } catch (err) {
      const delay = Math.min(10_000, 500 * 2 ** Math.min(attempt, 6));
      log.warn({ err, attempt, retryInMs: delay }, 'database not ready; waiting');
      await new Promise((r) => setTimeout(r, delay));
    }
  }
}
