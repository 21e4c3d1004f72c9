/**
 * What MariaDB does during a bench phase, seen from inside: deltas of `SHOW GLOBAL STATUS` (statements,
 * handler calls, InnoDB rows and pages) and, when the server runs with `--performance-schema=ON`
 * (`BENCH_SYSTEM_MARIADB_ARGS`), the statement digests that took the most server time. Snapshots are taken
 * on a connection of their own, so the probe's own statements count in the deltas (a handful per phase).
 */
interface Queryable {
  query(sql: string, params?: unknown[]): Promise<unknown>;
}

export interface DigestRow {
  digest: string;
  schema: string;
  text: string;
  count: number;
  /** Server time, seconds (performance_schema timers are picoseconds). */
  seconds: number;
  rowsExamined: number;
  rowsSent: number;
  rowsAffected: number;
  tmpTables: number;
  tmpDiskTables: number;
  sortRows: number;
  noIndexUsed: number;
}

export interface MariaDbSnapshot {
  atMs: number;
  status: Map<string, number>;
  /** Empty when performance_schema is off. */
  digests: Map<string, DigestRow>;
}

/** Status counters worth reading per unit of work (the rest stays in `status_deltas`). */
export const KEY_STATUS = [
  'Questions',
  'Com_select',
  'Com_insert',
  'Com_insert_select',
  'Com_update',
  'Com_delete',
  'Com_commit',
  'Com_rollback',
  'Com_begin',
  'Com_savepoint',
  'Com_stmt_prepare',
  'Com_stmt_execute',
  'Com_stmt_close',
  'Com_set_option',
  'Handler_commit',
  'Handler_read_key',
  'Handler_read_next',
  'Handler_read_rnd_next',
  'Handler_read_first',
  'Handler_write',
  'Handler_update',
  'Handler_delete',
  'Handler_savepoint',
  'Handler_savepoint_rollback',
  'Innodb_rows_read',
  'Innodb_rows_inserted',
  'Innodb_rows_updated',
  'Innodb_rows_deleted',
  'Innodb_buffer_pool_reads',
  'Innodb_buffer_pool_read_requests',
  'Innodb_buffer_pool_write_requests',
  'Innodb_pages_written',
  'Innodb_log_writes',
  'Innodb_os_log_written',
  'Innodb_data_fsyncs',
  'Created_tmp_tables',
  'Created_tmp_disk_tables',
  'Select_scan',
  'Select_full_join',
  'Sort_rows',
  'Bytes_received',
  'Bytes_sent',
  'Connections',
];

const num = (v: unknown): number => Number(v ?? 0);

export async function performanceSchemaOn(db: Queryable): Promise<boolean> {
  const rows = (await db.query('SELECT @@performance_schema AS on_')) as { on_: unknown }[];
  return num(rows[0]?.on_) === 1;
}

export async function snapshotMariaDb(db: Queryable, withDigests: boolean): Promise<MariaDbSnapshot> {
  const atMs = Date.now();
  const status = new Map<string, number>();
  for (const r of (await db.query('SHOW GLOBAL STATUS')) as { Variable_name: string; Value: string }[]) {
    const v = Number(r.Value);
    if (Number.isFinite(v)) status.set(r.Variable_name, v);
  }
  const digests = new Map<string, DigestRow>();
  if (withDigests) {
    const rows = (await db.query(
      'SELECT DIGEST AS d, SCHEMA_NAME AS s, DIGEST_TEXT AS t, COUNT_STAR AS c, SUM_TIMER_WAIT AS w,' +
        ' SUM_ROWS_EXAMINED AS re, SUM_ROWS_SENT AS rs, SUM_ROWS_AFFECTED AS ra,' +
        ' SUM_CREATED_TMP_TABLES AS tt, SUM_CREATED_TMP_DISK_TABLES AS td, SUM_SORT_ROWS AS sr,' +
        ' SUM_NO_INDEX_USED AS ni FROM performance_schema.events_statements_summary_by_digest',
    )) as Record<string, unknown>[];
    for (const r of rows) {
      const key = `${String(r.s)}:${String(r.d)}`;
      digests.set(key, {
        digest: String(r.d),
        schema: String(r.s),
        text: String(r.t ?? ''),
        count: num(r.c),
        seconds: num(r.w) / 1e12,
        rowsExamined: num(r.re),
        rowsSent: num(r.rs),
        rowsAffected: num(r.ra),
        tmpTables: num(r.tt),
        tmpDiskTables: num(r.td),
        sortRows: num(r.sr),
        noIndexUsed: num(r.ni),
      });
    }
  }
  return { atMs, status, digests };
}

export interface MariaDbPhaseFigures {
  seconds: number;
  /** Every status counter that moved, as a delta over the phase. */
  status_deltas: Record<string, number>;
  /** KEY_STATUS per 1,000 units of `per` (e.g. live readings stored). */
  key_status_per_1000: Record<string, number>;
  /** Top statement digests by server time (performance_schema on), with their share of the total. */
  top_digests: (Omit<DigestRow, 'digest' | 'schema'> & { share: number })[];
  digest_seconds_total: number;
}

const subtractDigest = (a: DigestRow, b: DigestRow | undefined): DigestRow => ({
  ...a,
  count: a.count - (b?.count ?? 0),
  seconds: a.seconds - (b?.seconds ?? 0),
  rowsExamined: a.rowsExamined - (b?.rowsExamined ?? 0),
  rowsSent: a.rowsSent - (b?.rowsSent ?? 0),
  rowsAffected: a.rowsAffected - (b?.rowsAffected ?? 0),
  tmpTables: a.tmpTables - (b?.tmpTables ?? 0),
  tmpDiskTables: a.tmpDiskTables - (b?.tmpDiskTables ?? 0),
  sortRows: a.sortRows - (b?.sortRows ?? 0),
  noIndexUsed: a.noIndexUsed - (b?.noIndexUsed ?? 0),
});

/** The phase between two snapshots; `units` is the work done meanwhile (for the per-1,000 figures). */
export function phaseFigures(
  before: MariaDbSnapshot,
  after: MariaDbSnapshot,
  units: number,
  topN = 25,
): MariaDbPhaseFigures {
  const status_deltas: Record<string, number> = {};
  for (const [k, v] of after.status) {
    const d = v - (before.status.get(k) ?? 0);
    if (d !== 0) status_deltas[k] = d;
  }
  const key_status_per_1000: Record<string, number> = {};
  for (const k of KEY_STATUS) {
    key_status_per_1000[k] = Number((((status_deltas[k] ?? 0) * 1000) / units).toFixed(2));
  }
  const deltas = [...after.digests]
    .map(([k, row]) => subtractDigest(row, before.digests.get(k)))
    .filter((d) => d.count > 0);
  const total = deltas.reduce((s, d) => s + d.seconds, 0);
  const top_digests = deltas
    .sort((a, b) => b.seconds - a.seconds)
    .slice(0, topN)
    .map(({ digest: _d, schema: _s, ...rest }) => ({
      ...rest,
      text: rest.text.length > 400 ? `${rest.text.slice(0, 400)}…` : rest.text,
      seconds: Number(rest.seconds.toFixed(4)),
      share: total > 0 ? Number((rest.seconds / total).toFixed(4)) : 0,
    }));
  return {
    seconds: (after.atMs - before.atMs) / 1000,
    status_deltas,
    key_status_per_1000,
    top_digests,
    digest_seconds_total: Number(total.toFixed(3)),
  };
}

/** `BENCH_SYSTEM_MARIADB_ARGS`: extra mariadbd options (space-separated), e.g. `--performance-schema=ON`. */
export function mariadbArgsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env['BENCH_SYSTEM_MARIADB_ARGS'] ?? '').split(/\s+/).filter(Boolean);
}
