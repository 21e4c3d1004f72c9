import type { Connection, Pool, PoolConnection } from 'mariadb';
import { migrations as allMigrations, type Migration } from './migrations.js';
import type { Logger } from '@sensorfleet/shared';

export interface MigrationResult {
  applied: number[];
  current: number;
}

type Conn = Connection | PoolConnection;

/**
 * Brings the schema up to date. Safe to call from every replica at start: a named lock makes concurrent
 * starts wait for each other, and applied versions are recorded in `schema_migrations`.
 */
export async function migrate(
  db: Pool | Conn,
  migrations: Migration[] = allMigrations,
): Promise<MigrationResult> {
  const conn: Conn = 'getConnection' in db ? await db.getConnection() : db;
  try {
    const [lock] = (await conn.query("SELECT GET_LOCK('sensorfleet_migrations', 120) AS got")) as {
      got: number;
    }[];
    if (Number(lock?.got) !== 1) throw new Error('could not get the migration lock within 120 s');
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
      await conn.query("SELECT RELEASE_LOCK('sensorfleet_migrations')");
    }
  } finally {
    if ('release' in conn && conn !== db) await conn.release();
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
