import type { Pool, PoolConnection } from 'mariadb';
import type { Logger } from '@sensorfleet/shared';

/**
 * A periodic job that runs on ONE replica at a time: each run first takes a MariaDB named lock
 * (GET_LOCK, timeout 0) on its own connection and skips the run if another replica holds it. The lock
 * belongs to the connection, so a replica that dies mid-run frees it with its connection; correctness
 * never depends on it (the jobs are safe to run twice), it only saves the duplicate work. On a Galera
 * cluster GET_LOCK is held on one node only: it still excludes because every replica uses the same node
 * (the first available of DATABASE_URL); two runs on different nodes for a moment conflict in
 * certification instead, and the loser rolls back.
 */
export class SingleRunnerJob {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  private lastFailureLogged = 0;

  constructor(
    private readonly deps: {
      name: string;
      pool: Pool;
      lockName: string;
      intervalMs: number;
      run: (conn: PoolConnection) => Promise<void>;
      log: Logger;
      /** First run after this delay (default: the interval). */
      firstDelayMs?: number;
    },
  ) {}

  get name(): string {
    return this.deps.name;
  }

  async start(): Promise<void> {
    this.stopped = false;
    this.schedule(this.deps.firstDelayMs ?? this.deps.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Runs once now (if the lock is free); for tests and for stop-time flushing. */
  async runNow(): Promise<boolean> {
    const conn = await this.deps.pool.getConnection();
    try {
      const [lock] = (await conn.query('SELECT GET_LOCK(?, 0) AS got', [this.deps.lockName])) as {
        got: number;
      }[];
      if (Number(lock?.got) !== 1) return false;
      try {
        await this.deps.run(conn);
      } finally {
        await conn.query('SELECT RELEASE_LOCK(?)', [this.deps.lockName]).catch(() => undefined);
      }
      return true;
    } finally {
      await conn.release();
    }
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.runNow()
        .then(() => undefined)
        .catch((err: unknown) => {
          // The database being down is the ingest loop's news; say it here at most once a minute.
          if (Date.now() - this.lastFailureLogged > 60_000) {
            this.lastFailureLogged = Date.now();
            this.deps.log.warn({ err, job: this.deps.name }, 'job run failed; trying again next interval');
          }
        })
        .finally(() => {
          this.running = undefined;
          this.schedule(this.deps.intervalMs);
        });
    }, delayMs);
    this.timer.unref();
  }
}
