import type { PoolConnection } from 'mariadb';
import type { RegistryPlan } from './registry-updates.js';

const tuples = (n: number, tuple: string): string => Array.from({ length: n }, () => tuple).join(',');

/**
 * Applies a batch's RegistryPlan inside the ingest transaction: one multi-row upsert per kind, rows in
 * device-id order (every replica locks `devices` rows in the same order). Runs near the end of the
 * transaction, so the device rows stay locked only until the commit. The frequent part — first/last seen,
 * last data, last seq (`plan.touch`) — is not written here but folded in by batch-folder.ts. A device's
 * row may not exist yet: every statement inserts it if need be.
 *
 * MariaDB evaluates ON DUPLICATE KEY UPDATE assignments left to right, each seeing the columns already
 * assigned: so `online_changed_at` is computed before `online` changes, `last_state` before `last_state_at`.
 */
export function writeRegistry(conn: PoolConnection, plan: RegistryPlan): Promise<unknown> {
  // Issued at once (pipelined, in this order on the wire); awaited together.
  const q: Promise<unknown>[] = [];
  if (plan.online.length) {
    q.push(
      conn.query(
        'INSERT INTO devices (id, online, online_changed_at) VALUES ' +
          tuples(plan.online.length, '(?,?,?)') +
          ' ON DUPLICATE KEY UPDATE' +
          ' online_changed_at = IF(online <=> VALUES(online) AND online_changed_at IS NOT NULL,' +
          ' online_changed_at, VALUES(online_changed_at)),' +
          ' online = VALUES(online)',
        plan.online.flatMap((o) => [o.id, o.online, o.at]),
      ),
    );
  }
  if (plan.state.length) {
    q.push(
      conn.query(
        'INSERT INTO devices (id, last_state, last_state_at) VALUES ' +
          tuples(plan.state.length, '(?,?,?)') +
          ' ON DUPLICATE KEY UPDATE' +
          ' last_state = IF(last_state_at IS NULL OR VALUES(last_state_at) >= last_state_at,' +
          ' VALUES(last_state), last_state),' +
          ' last_state_at = COALESCE(GREATEST(last_state_at, VALUES(last_state_at)), VALUES(last_state_at))',
        plan.state.flatMap((s) => [s.id, s.state, s.at]),
      ),
    );
  }
  if (plan.heartbeat.length) {
    q.push(
      conn.query(
        'INSERT INTO devices (id, last_heartbeat_at) VALUES ' +
          tuples(plan.heartbeat.length, '(?,?)') +
          ' ON DUPLICATE KEY UPDATE' +
          ' last_heartbeat_at = COALESCE(GREATEST(last_heartbeat_at, VALUES(last_heartbeat_at)),' +
          ' VALUES(last_heartbeat_at))',
        plan.heartbeat.flatMap((h) => [h.id, h.at]),
      ),
    );
  }
  if (plan.report.length) {
    q.push(
      conn.query(
        'INSERT INTO devices (id, last_report_data, last_report_at) VALUES ' +
          tuples(plan.report.length, '(?,?,?)') +
          ' ON DUPLICATE KEY UPDATE' +
          " last_report_data = JSON_MERGE_PATCH(COALESCE(last_report_data, '{}'), VALUES(last_report_data))," +
          ' last_report_at = COALESCE(GREATEST(last_report_at, VALUES(last_report_at)), VALUES(last_report_at))',
        plan.report.flatMap((r) => [r.id, r.patch, r.at]),
      ),
    );
  }
  for (const round of plan.statusRounds) {
    q.push(
      conn.query(
        'INSERT INTO devices (id, last_report_data, device_status, last_status_at) VALUES ' +
          tuples(round.length, '(?,?,?,?)') +
          ' ON DUPLICATE KEY UPDATE' +
          " last_report_data = JSON_MERGE_PATCH(COALESCE(last_report_data, '{}'), VALUES(last_report_data))," +
          ' device_status = COALESCE(VALUES(device_status), device_status),' +
          ' last_status_at = COALESCE(GREATEST(last_status_at, VALUES(last_status_at)), VALUES(last_status_at))',
        round.flatMap((s) => [s.id, s.patch, s.deviceStatus, s.at]),
      ),
    );
  }
  return Promise.all(q);
}
