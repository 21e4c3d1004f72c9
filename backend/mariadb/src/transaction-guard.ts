import type { PoolConnection } from 'mariadb';
import { isTransactionLost } from './galera-errors.js';

/** Server status flag: a transaction is open (OK packet, `conn.info.status`). */
const SERVER_STATUS_IN_TRANS = 1;

/** What a statement or COMMIT gets when the server rolled the transaction back. */
function transactionDropped(cause?: unknown): Error {
  return Object.assign(
    new Error(
      'the server rolled the transaction back (deadlock, lock wait timeout or a conflicting write from ' +
        'another node); run it again',
    ),
    { errno: 1213, code: 'ER_LOCK_DEADLOCK', sqlState: '40001', ...(cause ? { cause } : {}) },
  );
}

export interface GuardEvents {
  /** Every error a wrapped method gets from the server or the connection (after the guard's own checks). */
  onError?: (err: unknown) => void;
}

/** Connections already wrapped (pools hand out the same connections again). */
const guarded = new WeakSet<PoolConnection>();

/**
 * Makes a connection's transactions all-or-nothing even when the server aborts one in the middle.
 *
 * MariaDB rolls a WHOLE transaction back on a deadlock (1213), on a lock wait timeout with
 * `innodb_rollback_on_timeout` (1205), and on Galera when a write replicated from another node wins
 * (between two statements). A statement the connection sends after that runs on its own, in
 * autocommit, and commits; the connector also skips COMMIT when the server reports no open transaction,
 * so the caller would think the rest committed. So, on the wrapped connection:
 * - statements go out one after the other, never pipelined (each call waits for the previous one);
 * - after a statement failed inside a transaction, the transaction is known lost (1213, 1305), or
 *   `@@in_transaction` is asked before anything else goes out (1205 with or without
 *   innodb_rollback_on_timeout, or any other error: a duplicate key leaves the transaction open, and
 *   the caller may go on);
 * - once lost, every statement and COMMIT fails (1213) without being sent, until ROLLBACK or release;
 * - after each statement, the server status must still show the transaction open, else 1213.
 * Transactions must be opened with beginTransaction() and ended with commit()/rollback(), which is how
 * every caller does it; a `START TRANSACTION` sent as a query is not tracked.
 *
 * What it cannot stop: one `batch()` call whose rows need more than one bulk packet (16 MB, or a new
 * packet when a column's binary type changes between rows) is sent by the connector in one go.
 */
export function guardConnection(conn: PoolConnection, events: GuardEvents = {}): PoolConnection {
  if (guarded.has(conn)) return conn;
  guarded.add(conn);
  let chain: Promise<unknown> = Promise.resolve();
  let aborted: Error | undefined;
  let inTransaction = false;
  const methods = conn as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
  const query = methods.query!.bind(conn);
  const stillOpen = (): boolean =>
    ((conn.info?.status ?? SERVER_STATUS_IN_TRANS) & SERVER_STATUS_IN_TRANS) !== 0;
  /** Asked after an error, when it does not tell whether the server kept the transaction. */
  const serverKeptTransaction = async (): Promise<boolean> => {
    try {
      const rows = (await query('SELECT @@in_transaction AS open')) as { open: number | bigint }[];
      return Number(rows[0]?.open) === 1;
    } catch {
      return false;
    }
  };
  const wrap = (name: string, kind: 'statement' | 'commit' | 'begin' | 'end'): void => {
    const original = methods[name]!.bind(conn);
    methods[name] = (...args) => {
      const run = chain.then(async () => {
        if ((kind === 'statement' || kind === 'commit') && aborted !== undefined) throw aborted;
        if (kind === 'commit' && inTransaction && !stillOpen()) throw (aborted = transactionDropped());
        if (kind === 'begin' || kind === 'end' || kind === 'commit') aborted = undefined;
        try {
          const result = await original(...args);
          if (kind === 'begin') inTransaction = true;
          else if (kind !== 'statement') inTransaction = false;
          else if (inTransaction && !stillOpen()) throw (aborted = transactionDropped());
          return result;
        } catch (err) {
          if (kind === 'statement' && inTransaction && aborted === undefined) {
            const fatal = (err as { fatal?: boolean }).fatal === true;
            if (isTransactionLost(err) || fatal || !(await serverKeptTransaction())) aborted = err as Error;
          }
          if (kind === 'commit' || kind === 'end') inTransaction = false;
          events.onError?.(err);
          throw err;
        }
      });
      chain = run.catch(() => undefined);
      return run;
    };
  };
  for (const name of ['query', 'execute', 'batch']) wrap(name, 'statement');
  wrap('commit', 'commit');
  wrap('beginTransaction', 'begin');
  wrap('rollback', 'end');
  wrap('release', 'end');
  return conn;
}
