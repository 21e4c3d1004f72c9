import type { Connection, Pool, PoolConnection } from 'mariadb';
import { migrations as allMigrations, type Migration } from './migrations.js';

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
