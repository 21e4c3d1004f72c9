import type { RegisteredDevice } from './device-registry.js';
import { isServiceAccount } from './credentials.js';

/** One line per account or device: what the broker accepts next to what the database believes. */
export interface AccountRow {
  id: string;
  inPasswordFile: boolean;
  device: RegisteredDevice | undefined;
  note: string;
}

function noteFor(
  id: string,
  inPasswordFile: boolean,
  device: RegisteredDevice | undefined,
  databaseRead: boolean,
): string {
  if (isServiceAccount(id)) return 'service account';
  if (!databaseRead) return '';
  if (!device) return 'not registered in the database';
  if (inPasswordFile && device.mqttUsername === null) return 'database lists no credentials';
  if (inPasswordFile && device.mqttUsername !== id) return `database lists username ${device.mqttUsername}`;
  if (!inPasswordFile && device.mqttUsername !== null) return 'database lists credentials the broker lacks';
  if (!inPasswordFile) return 'no credentials (cannot connect)';
  return '';
}

export function accountRows(users: string[], devices: RegisteredDevice[] | undefined): AccountRow[] {
  const byId = new Map((devices ?? []).map((d) => [d.id, d]));
  const ids = [...new Set([...users, ...byId.keys()])].sort((a, b) => a.localeCompare(b));
  return ids.map((id) => {
    const inPasswordFile = users.includes(id);
    const device = byId.get(id);
    const note = noteFor(id, inPasswordFile, device, devices !== undefined);
    return { id, inPasswordFile, device, note };
  });
}

const time = (d: Date | null | undefined): string => (d ? d.toISOString().slice(0, 19) + 'Z' : '—');

/** A plain aligned table (no colours: it is often piped or pasted into tickets). */
export function formatAccountTable(rows: AccountRow[], withDatabase: boolean): string {
  const header = withDatabase
    ? ['ID', 'PASSWORD FILE', 'DB USERNAME', 'CREDENTIALS CREATED', 'LAST SEEN', 'ONLINE', 'NOTE']
    : ['ID', 'PASSWORD FILE', 'NOTE'];
  const cells = rows.map((r) => {
    const inFile = r.inPasswordFile ? 'yes' : 'no';
    if (!withDatabase) return [r.id, inFile, r.note];
    const d = r.device;
    return [
      r.id,
      inFile,
      d?.mqttUsername ?? '—',
      time(d?.credentialsCreatedAt),
      time(d?.lastSeen),
      d ? (d.online ? 'yes' : 'no') : '—',
      r.note,
    ];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) =>
    c
      .map((v, i) => v.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(header), ...cells.map(line)].join('\n');
}
