import type { PoolConnection } from 'mariadb';
import type { RegistryPlan } from './registry-updates.js';
import { keepLatest, tuples } from '../db/upsert-sql.js';

const storedRev = "JSON_VALUE(last_state, '$.rev')";
const incomingRev = "JSON_VALUE(VALUES(last_state), '$.rev')";
/** state-order.ts's rule in SQL: by revision when both states have one, else by their own `ts`. */
const incomingStateIsNewer =
  `IF(${incomingRev} IS NOT NULL AND ${storedRev} IS NOT NULL,` +
  ` CAST(${incomingRev} AS UNSIGNED) >= CAST(${storedRev} AS UNSIGNED),` +
  ' VALUES(last_state_at) >= last_state_at)';

/**
 * Applies a batch's RegistryPlan inside the ingest transaction: one multi-row upsert per kind, rows in
 * device-id order (every replica locks `devices` rows in the same order). Runs near the end of the
 * transaction, so the device rows stay locked only until the commit. The frequent part — first/last seen,
 * last data, last seq (`plan.touch`) — is not written here but folded in by the fold job (fold/). A device's
 * row may not exist yet: every statement inserts it if need be.
 *
 * MariaDB evaluates ON DUPLICATE KEY UPDATE assignments left to right, each seeing the columns already
 * assigned: so `online_changed_at` is computed before `online` changes, `last_state` before `last_state_at`.
 * VALUES(col) of a column already assigned reads the assigned value, not the inserted one.
 */
export function writeRegistry(conn: PoolConnection, plan: RegistryPlan): Promise<unknown> {
  // Issued at once and awaited together; the connection sends them in this order, one after the other.
  const q: Promise<unknown>[] = [];
  const upsert = (columns: string[], assignments: string[], rows: unknown[][]) => {
    if (!rows.length) return;
    q.push(
      conn.query(
        `INSERT INTO devices (id, ${columns.join(', ')}) VALUES ` +
          tuples(rows.length, `(?${',?'.repeat(columns.length)})`) +
          ` ON DUPLICATE KEY UPDATE ${assignments.join(', ')}`,
        rows.flat(),
      ),
    );
  };
  const mergeReport =
    "last_report_data = JSON_MERGE_PATCH(COALESCE(last_report_data, '{}'), VALUES(last_report_data))";
  upsert(
    ['online', 'online_changed_at'],
    [
      'online_changed_at = IF(online <=> VALUES(online) AND online_changed_at IS NOT NULL,' +
        ' online_changed_at, VALUES(online_changed_at))',
      'online = VALUES(online)',
    ],
    plan.online.map((o) => [o.id, o.online, o.at]),
  );
  upsert(
    ['last_state', 'last_state_at'],
    [
      // The decision is kept in a session variable for the next assignment: once `last_state` is assigned,
      // neither it nor VALUES(last_state) (which then reads the assigned value) still tells what was there.
      `last_state = IF(@sf_state_newer := (last_state_at IS NULL OR ${incomingStateIsNewer}),` +
        ' VALUES(last_state), last_state)',
      // The time of the state kept, not the latest seen: after a clock set back the newer state is older.
      'last_state_at = IF(@sf_state_newer, VALUES(last_state_at), last_state_at)',
    ],
    plan.state.map((s) => [s.id, s.state, s.at]),
  );
  upsert(
    ['last_heartbeat_at'],
    [keepLatest('last_heartbeat_at')],
    plan.heartbeat.map((h) => [h.id, h.at]),
  );
  upsert(
    ['last_report_data', 'last_report_at'],
    [mergeReport, keepLatest('last_report_at')],
    plan.report.map((r) => [r.id, r.patch, r.at]),
  );
  for (const round of plan.statusRounds) {
    upsert(
      ['last_report_data', 'device_status', 'last_status_at'],
      [
        mergeReport,
        'device_status = COALESCE(VALUES(device_status), device_status)',
        keepLatest('last_status_at'),
      ],
      round.map((s) => [s.id, s.patch, s.deviceStatus, s.at]),
    );
  }
  return Promise.all(q);
}
