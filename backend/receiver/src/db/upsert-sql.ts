/** SQL text shared by the receiver's multi-row upserts (parameters always go as `?`). */

/** `n` copies of a row tuple such as `(?,?,?)`, comma-separated. */
export const tuples = (n: number, tuple: string): string => Array.from({ length: n }, () => tuple).join(',');

/**
 * ON DUPLICATE KEY UPDATE assignment that only moves a time (or counter) forward: the later of the stored
 * and the new value, whichever of them is not NULL, so applying an update twice or out of order changes
 * nothing.
 */
export const keepLatest = (column: string): string =>
  `${column} = COALESCE(GREATEST(${column}, VALUES(${column})), VALUES(${column}), ${column})`;
