/** `npm run fleet -- …` arguments, checked: every problem names its flag. */
export interface FleetArgs {
  devices: number | undefined;
  /** Readings per second per device. */
  rate: number;
  url: string;
  credentials: string | undefined;
  ca: string | undefined;
  redis: string | undefined;
  prefix: string;
  metricsPort: number | undefined;
  /** Longest a live reading waits to be batched (mqtthandler's MQTT_BATCH_MAX_WAIT_MS); default per rate. */
  batchWaitMs: number | undefined;
  help: boolean;
}

export class FleetUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FleetUsageError';
  }
}

export const FLEET_USAGE = `usage: npm run fleet -- --url <mqtt-url> [options]

Simulated devices in one process, each with the real device outbox (Redis) and the real mqtthandler
forwarding and ack logic, its own broker account and its own MQTT connection.

  --url <url>            the broker's device listener (mqtt:// mqtts:// ws:// wss://), required
  --credentials <file>   broker accounts: JSON [{id, username, password}], CSV (id,username,password)
                         or the output of \`npm run device -- add <id>\` pasted into a file
  --devices <n>          how many devices (default: all in --credentials, else 10)
  --rate <hz>            readings per second per device (default 1; 0.01 … 100)
  --ca <file>            CA certificate to trust for mqtts:// and wss://
  --redis <url>          Redis for the outboxes (default: a private one under the system temp dir)
  --prefix <text>        device id prefix without --credentials (default sim-: sim-0001, …)
  --metrics-port <port>  serve /health and /metrics (fleet totals) on 127.0.0.1:<port>
  --batch-wait <ms>      longest a live reading waits to be batched with others (the mqtthandler's
                         MQTT_BATCH_MAX_WAIT_MS; default: the reading interval, 200 … 1000)
  -h, --help             this text
`;

const URL_PROTOCOLS = ['mqtt:', 'mqtts:', 'ws:', 'wss:'];

function number(flag: string, raw: string, min: number, max: number, integer: boolean): number {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
    throw new FleetUsageError(
      `${flag} must be ${integer ? 'an integer' : 'a number'} from ${min} to ${max} (got ${raw})`,
    );
  }
  return n;
}

/** argv after the script name (npm's `--` already removed). Throws FleetUsageError. */
export function parseFleetArgs(argv: string[]): FleetArgs {
  const values = new Map<string, string>();
  let help = false;
  const flags = [
    '--url',
    '--credentials',
    '--devices',
    '--rate',
    '--ca',
    '--redis',
    '--prefix',
    '--metrics-port',
    '--batch-wait',
  ];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-h' || arg === '--help') {
      help = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const [flag, inline] = arg.startsWith('--') && eq > 0 ? [arg.slice(0, eq), arg.slice(eq + 1)] : [arg];
    if (!flags.includes(flag!)) throw new FleetUsageError(`unknown argument ${arg}`);
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      throw new FleetUsageError(`${flag} needs a value`);
    }
    if (values.has(flag!)) throw new FleetUsageError(`${flag} given twice`);
    values.set(flag!, value);
  }
  const url = values.get('--url');
  if (help) {
    return {
      devices: undefined,
      rate: 1,
      url: url ?? '',
      credentials: undefined,
      ca: undefined,
      redis: undefined,
      prefix: 'sim-',
      metricsPort: undefined,
      batchWaitMs: undefined,
      help,
    };
  }
  if (url === undefined) throw new FleetUsageError('--url is required (e.g. --url mqtts://broker:8883)');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new FleetUsageError(`--url must be a URL like mqtts://broker.example.com:8883 (got ${url})`);
  }
  if (!URL_PROTOCOLS.includes(parsed.protocol)) {
    throw new FleetUsageError(`--url must use ${URL_PROTOCOLS.join(' ')} (got ${parsed.protocol})`);
  }
  const redis = values.get('--redis');
  if (redis !== undefined && !/^rediss?:\/\/[^\s]+$/.test(redis)) {
    throw new FleetUsageError(`--redis must be a URL like redis://127.0.0.1:6379 (got ${redis})`);
  }
  const prefix = values.get('--prefix') ?? 'sim-';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,40}$/.test(prefix)) {
    throw new FleetUsageError(`--prefix must be 1-41 of letters, digits, . _ - (got ${prefix})`);
  }
  const devices = values.get('--devices');
  const rate = values.get('--rate');
  const metricsPort = values.get('--metrics-port');
  const batchWait = values.get('--batch-wait');
  const ca = values.get('--ca');
  if (ca !== undefined && !/^(mqtts|wss):$/.test(parsed.protocol)) {
    throw new FleetUsageError(`--ca only applies to mqtts:// or wss:// (got ${parsed.protocol})`);
  }
  return {
    devices: devices === undefined ? undefined : number('--devices', devices, 1, 100_000, true),
    rate: rate === undefined ? 1 : number('--rate', rate, 0.01, 100, false),
    url,
    credentials: values.get('--credentials'),
    ca,
    redis,
    prefix,
    metricsPort:
      metricsPort === undefined ? undefined : number('--metrics-port', metricsPort, 1, 65535, true),
    batchWaitMs: batchWait === undefined ? undefined : number('--batch-wait', batchWait, 1, 60_000, true),
    help,
  };
}
