/**
 * How errors from a Galera node are told apart: a lost certification conflict (run the transaction
 * again), a node that is gone or not serving (use another node), or anything else (the caller's
 * problem). Pure, so it has unit tests.
 */

/** Deadlock; on Galera also what a transaction gets when another node's commit certified first. */
export const ER_LOCK_DEADLOCK = 1213;
export const ER_LOCK_WAIT_TIMEOUT = 1205;
/** "WSREP has not yet prepared node for application use": the node is not in a Primary component. */
export const ER_UNKNOWN_COM_ERROR = 1047;
export const ER_SERVER_SHUTDOWN = 1053;
export const ER_CONNECTION_KILLED = 1927;
/** The connector's own: no connection within acquireTimeout. */
export const ER_GET_CONNECTION_TIMEOUT = 45028;

const NODE_GONE_ERRNOS = new Set([ER_UNKNOWN_COM_ERROR, ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ETIMEDOUT', 'EPIPE']);

interface ErrorShape {
  errno?: number;
  code?: string;
  fatal?: boolean;
  cause?: unknown;
}

/** The transaction was rolled back by a conflict with another writer: running it again is safe. */
export function isConflict(err: unknown): boolean {
  const errno = (err as ErrorShape | undefined)?.errno;
  return errno === ER_LOCK_DEADLOCK || errno === ER_LOCK_WAIT_TIMEOUT;
}

/** "SAVEPOINT … does not exist": on Galera, what ROLLBACK TO SAVEPOINT gets after an abort. */
export const ER_SP_DOES_NOT_EXIST = 1305;

/** The server rolled the whole transaction back: nothing of it may be sent on in autocommit. */
export function isTransactionLost(err: unknown): boolean {
  const errno = (err as ErrorShape | undefined)?.errno;
  return errno === ER_LOCK_DEADLOCK || errno === ER_SP_DOES_NOT_EXIST;
}

/**
 * The node cannot serve: unreachable, the connection died, shutting down, or not Primary. A connection
 * timeout counts only when the node's pool holds no connection at all (else it is just busy).
 */
export function isNodeFailure(err: unknown, poolConnections: number): boolean {
  const e = err as ErrorShape | undefined;
  if (!e) return false;
  if (e.errno === ER_GET_CONNECTION_TIMEOUT) return poolConnections === 0;
  if (e.errno !== undefined && NODE_GONE_ERRNOS.has(e.errno)) return true;
  if (e.code !== undefined && NETWORK_CODES.has(e.code)) return true;
  if (e.fatal === true) return true;
  return e.cause !== undefined && e.cause !== err && isNodeFailure(e.cause, poolConnections);
}
