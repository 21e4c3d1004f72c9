import type { Queryable } from '@sensorfleet/mariadb';
import type { DeviceSummary } from '@sensorfleet/shared/schemas/webadmin-api';

export type DeviceSort = 'id' | 'name' | 'lastSeen';

interface DeviceRow {
  id: string;
  name: string | null;
  online: number;
  last_seen: Date | null;
  last_state: string | Record<string, unknown> | null;
  last_state_at: Date | null;
  last_seq: number | null;
}

const COLUMNS = 'id, name, online, last_seen, last_state, last_state_at, last_seq';

/** Sort key as SQL, its direction, and how a cursor value is turned back into a parameter. */
const SORTS: Record<DeviceSort, { key: string; desc: boolean; value: (r: DeviceRow) => string | number }> = {
  id: { key: 'id', desc: false, value: (r) => r.id },
  name: { key: 'COALESCE(name, id)', desc: false, value: (r) => r.name ?? r.id },
  lastSeen: {
    key: 'COALESCE(last_seen, TIMESTAMP("1970-01-01"))',
    desc: true,
    value: (r) => r.last_seen?.getTime() ?? 0,
  },
};

const likeEscape = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

function parseState(v: DeviceRow['last_state']): Record<string, unknown> | null {
  if (v === null) return null;
  if (typeof v !== 'string') return v;
  try {
    return JSON.parse(v) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/**
 * The latest value per sensor: the rows of each device's last stored seq (`devices.last_seq`, kept by the
 * receiver's fold job, so up to its FOLD_INTERVAL behind), one primary-key lookup per device.
 */
async function latestValues(db: Queryable, rows: DeviceRow[]): Promise<Map<string, DeviceSummary['latest']>> {
  const out = new Map<string, DeviceSummary['latest']>();
  const withSeq = rows.filter((r) => r.last_seq !== null);
  if (!withSeq.length) return out;
  const found = (await db.query(
    `SELECT device_id, sensor, value, measured_at FROM readings WHERE ${withSeq.map(() => '(device_id = ? AND seq = ?)').join(' OR ')}`,
    withSeq.flatMap((r) => [r.id, r.last_seq]),
  )) as { device_id: string; sensor: string; value: number; measured_at: Date }[];
  for (const f of found) {
    const latest = out.get(f.device_id) ?? {};
    latest[f.sensor] = { value: f.value, ts: f.measured_at.toISOString() };
    out.set(f.device_id, latest);
  }
  return out;
}

function summary(r: DeviceRow, latest: DeviceSummary['latest'] | undefined): DeviceSummary {
  return {
    id: r.id,
    name: r.name,
    online: Number(r.online) === 1,
    lastSeen: r.last_seen?.toISOString() ?? null,
    state: parseState(r.last_state) as DeviceSummary['state'],
    stateAt: r.last_state_at?.toISOString() ?? null,
    lastSeq: r.last_seq === null ? null : Number(r.last_seq),
    latest: latest ?? {},
  };
}

export async function findDevice(db: Queryable, id: string): Promise<DeviceSummary | undefined> {
  const rows = (await db.query(`SELECT ${COLUMNS} FROM devices WHERE id = ?`, [id])) as DeviceRow[];
  const r = rows[0];
  if (!r) return undefined;
  return summary(r, (await latestValues(db, [r])).get(r.id));
}

export async function deviceExists(db: Queryable, id: string): Promise<boolean> {
  const rows = (await db.query('SELECT 1 AS x FROM devices WHERE id = ?', [id])) as unknown[];
  return rows.length > 0;
}

export interface DeviceListOptions {
  search?: string | undefined;
  online?: boolean | undefined;
  sort: DeviceSort;
  limit: number;
  cursor?: string | undefined;
}

/** Cursor: base64url of `[sortValue, id]` of the last row of the previous page (keyset paging). */
export async function listDevices(
  db: Queryable,
  o: DeviceListOptions,
): Promise<{ devices: DeviceSummary[]; next: string | null; total: number }> {
  const sort = SORTS[o.sort];
  const where: string[] = [];
  const params: unknown[] = [];
  if (o.search) {
    where.push('(id LIKE ? OR name LIKE ?)');
    const like = `%${likeEscape(o.search)}%`;
    params.push(like, like);
  }
  if (o.online !== undefined) {
    where.push('online = ?');
    params.push(o.online ? 1 : 0);
  }
  const filter = where.length ? ` WHERE ${where.join(' AND ')}` : '';
  const filterParams = [...params];
  if (o.cursor) {
    let decoded: unknown;
    try {
      decoded = JSON.parse(Buffer.from(o.cursor, 'base64url').toString('utf8'));
    } catch {
      decoded = undefined;
    }
    if (!Array.isArray(decoded) || decoded.length !== 2 || typeof decoded[1] !== 'string') {
      throw new RangeError('cursor');
    }
    const [value, id] = decoded as [string | number, string];
    const v = o.sort === 'lastSeen' ? new Date(Number(value)) : value;
    where.push(`(${sort.key} ${sort.desc ? '<' : '>'} ? OR (${sort.key} = ? AND id > ?))`);
    params.push(v, v, id);
  }
  params.push(o.limit + 1);
  const [rows, count] = (await Promise.all([
    db.query(
      `SELECT ${COLUMNS} FROM devices${where.length ? ` WHERE ${where.join(' AND ')}` : ''}` +
        ` ORDER BY ${sort.key} ${sort.desc ? 'DESC' : 'ASC'}, id ASC LIMIT ?`,
      params,
    ),
    db.query(`SELECT COUNT(*) AS n FROM devices${filter}`, filterParams),
  ])) as [DeviceRow[], { n: number }[]];
  const page = rows.slice(0, o.limit);
  const latest = await latestValues(db, page);
  const last = page[page.length - 1];
  return {
    devices: page.map((r) => summary(r, latest.get(r.id))),
    next:
      rows.length > o.limit && last
        ? Buffer.from(JSON.stringify([sort.value(last), last.id])).toString('base64url')
        : null,
    total: Number(count[0]?.n ?? 0),
  };
}

export async function renameDevice(db: Queryable, id: string, name: string | null): Promise<boolean> {
  const r = (await db.query('UPDATE devices SET name = ? WHERE id = ?', [name, id])) as {
    affectedRows: number;
  };
  if (r.affectedRows > 0) return true;
  return deviceExists(db, id); // same name again: 0 rows changed, still a known device
}
