/**
 * Broker accounts of simulated devices, read from a file in any of three forms:
 * - JSON: `[{"id", "username"?, "password"}]` (or `{"devices": [...]}`), what the local stack writes;
 * - CSV: a header naming `id`, `password` and optionally `username`, then one device per line;
 * - the env blocks `npm run device -- add <id>` prints (`DEVICE_ID=…`, `MQTT_USERNAME=…`,
 *   `MQTT_PASSWORD=…`), pasted one after the other into a file.
 * `username` defaults to the id (a device's broker user name is its id).
 */
import { deviceIdProblem } from '@sensorfleet/mqttserver/provisioning/credentials';

export interface DeviceCredentials {
  id: string;
  username: string;
  password: string;
}

export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

function checked(list: Partial<DeviceCredentials>[], where: (i: number) => string): DeviceCredentials[] {
  const seen = new Set<string>();
  return list.map((c, i) => {
    const id = c.id ?? c.username;
    if (typeof id !== 'string') throw new CredentialsError(`${where(i)}: id is missing`);
    // The provisioning CLI's rule: the id is a topic level and the device's broker user name.
    const problem = deviceIdProblem(id);
    if (problem) throw new CredentialsError(`${where(i)}: ${problem}`);
    if (typeof c.password !== 'string' || c.password === '') {
      throw new CredentialsError(`${where(i)}: password is missing`);
    }
    const username = c.username ?? id;
    if (typeof username !== 'string' || username === '') {
      throw new CredentialsError(`${where(i)}: username must be a string`);
    }
    if (seen.has(id)) throw new CredentialsError(`${where(i)}: device ${id} appears twice`);
    seen.add(id);
    return { id, username, password: c.password };
  });
}

function fromJson(text: string): DeviceCredentials[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new CredentialsError(`not valid JSON: ${(err as Error).message}`);
  }
  const list = Array.isArray(data) ? data : (data as { devices?: unknown } | null)?.devices;
  if (!Array.isArray(list)) throw new CredentialsError('JSON must be an array of {id, username, password}');
  return checked(
    list.map((x) => (typeof x === 'object' && x !== null ? (x as Partial<DeviceCredentials>) : {})),
    (i) => `entry ${i + 1}`,
  );
}

function splitCsvLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted && ch === '"' && line[i + 1] === '"') {
      cur += '"'; // "" inside quotes is one quote
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
    } else if (ch === ',' && !quoted) {
      out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  out.push(cur);
  return out.map((f) => f.trim());
}

function fromCsv(text: string): DeviceCredentials[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const header = splitCsvLine(lines[0] ?? '').map((h) => h.toLowerCase());
  const col = (name: string) => header.indexOf(name);
  if (col('id') < 0 && col('username') < 0) throw new CredentialsError('CSV header must name an id column');
  if (col('password') < 0) throw new CredentialsError('CSV header must name a password column');
  const rows = lines.slice(1).map((line) => {
    const f = splitCsvLine(line);
    const get = (name: string) => (col(name) >= 0 && f[col(name)] ? f[col(name)] : undefined);
    return { id: get('id'), username: get('username'), password: get('password') };
  });
  return checked(
    rows.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined))),
    (i) => `CSV line ${i + 2}`,
  );
}

function fromEnvBlocks(text: string): DeviceCredentials[] {
  const found: Partial<DeviceCredentials>[] = [];
  let cur: Partial<DeviceCredentials> = {};
  const flush = () => {
    if (Object.keys(cur).length) found.push(cur);
    cur = {};
  };
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(DEVICE_ID|MQTT_USERNAME|MQTT_PASSWORD)=(.*)$/.exec(line);
    if (!m) continue;
    const field = ({ DEVICE_ID: 'id', MQTT_USERNAME: 'username', MQTT_PASSWORD: 'password' } as const)[
      m[1] as 'DEVICE_ID'
    ];
    // A field seen twice starts the next device's block.
    if (cur[field] !== undefined) flush();
    cur[field] = m[2]!.trim().replace(/^'(.*)'$/, '$1');
  }
  flush();
  if (!found.length) throw new CredentialsError('no DEVICE_ID / MQTT_PASSWORD lines found');
  return checked(found, (i) => `device block ${i + 1}`);
}

/** Parses a credentials file's text; the format follows the extension, else the content. */
export function parseCredentials(text: string, fileName = ''): DeviceCredentials[] {
  const ext = fileName.toLowerCase().split('.').pop();
  const trimmed = text.trimStart();
  if (ext === 'json' || trimmed.startsWith('[') || trimmed.startsWith('{')) return fromJson(text);
  if (ext === 'csv') return fromCsv(text);
  if (/^\s*(#.*\n\s*)*(DEVICE_ID|MQTT_URL|MQTT_USERNAME|MQTT_PASSWORD)=/m.test(text)) {
    return fromEnvBlocks(text);
  }
  return fromCsv(text);
}
