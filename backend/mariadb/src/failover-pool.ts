import type { Pool, PoolConnection, QueryOptions, SqlImportOptions } from 'mariadb';
import { isConflict, isNodeFailure } from './galera-errors.js';
import { guardConnection } from './transaction-guard.js';

/** One database node behind a FailoverPool: its own connector pool and when it may be tried again. */
export interface FailoverNode {
  /** host:port, for logs and metrics (never the password). */
  readonly label: string;
  readonly pool: Pool;
}

export interface FailoverEvents {
  /** A node failed (unreachable, closed the connection, or not part of a Primary component). */
  onNodeDown?: (label: string, err: unknown) => void;
  /** Writes moved to another node (the first call is the initial choice). */
  onActiveNode?: (label: string) => void;
  /** An autocommit statement lost a certification conflict (or deadlock) and is run again. */
  onConflictRetry?: (err: unknown) => void;
}

export interface FailoverOptions extends FailoverEvents {
  /** How often a failed node is probed; it is used again (first, if it is first) once it serves. */
  retryDownMs: number;
  /** Runs of an autocommit statement that failed with a conflict, the first included. */
  maxConflictAttempts: number;
}

/**
 * A connector-compatible Pool over one pool per Galera node, used "first available" like HAProxy's
 * `first` balancing: every replica sends everything to the first node of the list that is up, so all
 * writes of all replicas meet on ONE node, where row locks, SKIP LOCKED and GET_LOCK mean what they mean
 * on a single server (on Galera they are node-local). A failed node is passed over and probed every
 * `retryDownMs`; once it serves again it is first again, so replicas come back together to it.
 *
 * Only getting a connection fails over by itself: a statement that fails on a connection that was
 * already sent may or may not have committed, so that error goes to the caller (which retries its
 * batch or its round), and the node is passed over from then on. Autocommit statements that lose a
 * certification conflict are run again here (a conflict means they were rolled back).
 */
export class FailoverPool {
  private readonly down: boolean[];
  private readonly probeTimers: (NodeJS.Timeout | undefined)[];
  private active = -1;
  /** Connections whose methods already report node failures (the connector reuses them). */
  private readonly watched = new WeakSet<PoolConnection>();
  closed = false;

  constructor(
    private readonly nodes: FailoverNode[],
    private readonly opts: FailoverOptions,
  ) {
    if (nodes.length === 0) throw new Error('FailoverPool needs at least one node');
    this.down = nodes.map(() => false);
    this.probeTimers = nodes.map(() => undefined);
  }

  /** host:port of the node the last connection came from (undefined before the first). */
  get activeNode(): string | undefined {
    return this.nodes[this.active]?.label;
  }

  /** Node indexes in the order to try: the ones up in list order, then (if all failed) the others. */
  private order(): number[] {
    const all = this.nodes.map((_, i) => i);
    return [...all.filter((i) => !this.down[i]), ...all.filter((i) => this.down[i])];
  }

  /**
   * Passed over until a probe in the background finds it serving again: a dead node must not cost a
   * request its connect timeout every time it is given another chance.
   */
  private markDown(i: number, err: unknown): void {
    if (this.down[i]) return;
    this.down[i] = true;
    this.opts.onNodeDown?.(this.nodes[i]!.label, err);
    const probe = (): void => {
      this.probeTimers[i] = setTimeout(() => {
        if (this.closed) return;
        void this.serving(i).then((ok) => {
          if (ok) this.down[i] = false;
          else probe();
        });
      }, this.opts.retryDownMs);
      this.probeTimers[i].unref();
    };
    probe();
  }

  /** Connects and asks whether the node is ready for statements (a Galera node in a Primary component). */
  private async serving(i: number): Promise<boolean> {
    try {
      const conn = await this.nodes[i]!.pool.getConnection();
      try {
        const rows = (await conn.query("SHOW STATUS LIKE 'wsrep_ready'")) as { Value: string }[];
        return rows.length === 0 || rows[0]!.Value === 'ON';
      } finally {
        await conn.release();
      }
    } catch {
      return false;
    }
  }

  async getConnection(): Promise<PoolConnection> {
    if (this.closed) throw new Error('pool is closed');
    let lastError: unknown;
    for (const i of this.order()) {
      const node = this.nodes[i]!;
      try {
        const conn = await node.pool.getConnection();
        this.watch(conn, i);
        if (this.active !== i) {
          this.active = i;
          this.opts.onActiveNode?.(node.label);
        }
        return conn;
      } catch (err) {
        lastError = err;
        // A pool that is merely busy (all connections taken) is not a dead node.
        if (!isNodeFailure(err, node.pool.totalConnections())) throw err;
        this.markDown(i, err);
      }
    }
    throw lastError;
  }

  /**
   * Wraps a connection's methods once (the connector reuses connections): errors that say the node is
   * gone make later connections skip it, and transactions get the guard every pool has
   * (transaction-guard.ts). On Galera it matters most: a write replicated from another node aborts a
   * local transaction between two of its statements.
   */
  private watch(conn: PoolConnection, i: number): void {
    if (this.watched.has(conn)) return;
    this.watched.add(conn);
    guardConnection(conn, {
      onError: (err) => {
        if (isNodeFailure(err, 0) && this.active === i) this.markDown(i, err);
      },
    });
  }

  private async autocommit<T>(run: (conn: PoolConnection) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const conn = await this.getConnection();
      try {
        return await run(conn);
      } catch (err) {
        if (!isConflict(err) || attempt >= this.opts.maxConflictAttempts) throw err;
        this.opts.onConflictRetry?.(err);
      } finally {
        await conn.release().catch(() => undefined);
      }
      // Full jitter on a doubling cap (20, 40 … 500 ms): the writers that lost spread out instead of
      // colliding again on the same row.
      await new Promise((r) => setTimeout(r, Math.random() * Math.min(500, 10 * 2 ** attempt)));
    }
  }

  query<T = unknown>(sql: string | QueryOptions, values?: unknown): Promise<T> {
    return this.autocommit((c) => c.query(sql, values) as Promise<T>);
  }

  execute<T = unknown>(sql: string | QueryOptions, values?: unknown): Promise<T> {
    return this.autocommit((c) => c.execute(sql, values) as Promise<T>);
  }

  batch<T = unknown>(sql: string | QueryOptions, values?: unknown): Promise<T> {
    return this.autocommit((c) => c.batch(sql, values) as Promise<T>);
  }

  async importFile(config: SqlImportOptions): Promise<void> {
    const conn = await this.getConnection();
    try {
      await conn.importFile(config);
    } finally {
      await conn.release();
    }
  }

  async end(): Promise<void> {
    this.closed = true;
    for (const timer of this.probeTimers) clearTimeout(timer);
    await Promise.all(this.nodes.map((n) => n.pool.end().catch(() => undefined)));
  }

  activeConnections(): number {
    return this.nodes.reduce((n, node) => n + node.pool.activeConnections(), 0);
  }

  totalConnections(): number {
    return this.nodes.reduce((n, node) => n + node.pool.totalConnections(), 0);
  }

  idleConnections(): number {
    return this.nodes.reduce((n, node) => n + node.pool.idleConnections(), 0);
  }

  taskQueueSize(): number {
    return this.nodes.reduce((n, node) => n + node.pool.taskQueueSize(), 0);
  }

  escape(value: unknown): string {
    return this.nodes[0]!.pool.escape(value);
  }

  escapeId(identifier: string): string {
    return this.nodes[0]!.pool.escapeId(identifier);
  }

  on(event: string, callback: (...args: unknown[]) => void): this {
    for (const node of this.nodes)
      (node.pool.on as (e: string, cb: (...a: unknown[]) => void) => Pool)(event, callback);
    return this;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.end();
  }
}
