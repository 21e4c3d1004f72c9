import { deviceIdProblem, isServiceAccount, SERVICE_ACCOUNTS, type ServiceAccount } from './credentials.js';

export type Command =
  | { kind: 'add'; id: string; rotate: boolean }
  | { kind: 'remove'; id: string }
  | { kind: 'list' }
  | { kind: 'service'; account: ServiceAccount }
  | { kind: 'help' };

export interface Invocation {
  command: Command;
  /** --mqtt-url: overrides PUBLIC_MQTT_URL. */
  mqttUrl?: string;
  /** --pid: overrides MOSQUITTO_PID and MOSQUITTO_PID_FILE. */
  pid?: number;
}

/** Bad usage: main prints the message and the usage text and exits 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export const USAGE = `usage: npm run device -- <command> [options]

commands:
  add <id> [--rotate]     create broker credentials for device <id> (its MQTT username is its id),
                          reload the broker, register it in MariaDB and print its balena variables;
                          --rotate replaces the password of an existing device
  remove <id>             delete the device's credentials, reload the broker (its connection is cut),
                          and set its mqtt_username to NULL in MariaDB
  list                    accounts in the password file next to devices in MariaDB
  service <${SERVICE_ACCOUNTS.join('|')}>
                          (re)create a service account with a new password and print it

options:
  --mqtt-url <url>        MQTT_URL to print (default: PUBLIC_MQTT_URL)
  --pid <pid>             broker process to reload (default: MOSQUITTO_PID, else MOSQUITTO_PID_FILE)
  -h, --help              this text

environment:
  PROVISIONING_BROKER (mosquitto|rabbitmq), MOSQUITTO_PASSWORD_FILE (required for mosquitto),
  RABBITMQCTL, RABBITMQ_NODE, RABBITMQ_INTAKE_QUEUE (rabbitmq), MOSQUITTO_ACL_FILE, MOSQUITTO_PID_FILE, MOSQUITTO_PID,
  PUBLIC_MQTT_URL, DATABASE_URL (registration is skipped without it), MOSQUITTO_PASSWD_BIN
  (see backend/mqttserver/README.md)
`;

const URL_PROTOCOLS = ['mqtt:', 'mqtts:', 'ws:', 'wss:'];

function checkUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new UsageError(`--mqtt-url must be a URL like mqtts://broker.example.com:8883 (got ${raw})`);
  }
  if (!URL_PROTOCOLS.includes(u.protocol)) {
    throw new UsageError(`--mqtt-url must use ${URL_PROTOCOLS.join(' ')} (got ${u.protocol})`);
  }
  return raw;
}

function checkPid(raw: string): number {
  if (!/^\d+$/.test(raw) || Number(raw) < 1) throw new UsageError(`--pid must be a process id (got ${raw})`);
  return Number(raw);
}

function deviceId(raw: string | undefined, command: string): string {
  if (raw === undefined) throw new UsageError(`${command} needs a device id`);
  const problem = deviceIdProblem(raw);
  if (problem) throw new UsageError(problem);
  return raw;
}

/** argv after the script name (npm's `--` already removed). Throws UsageError. */
export function parseArgs(argv: string[]): Invocation {
  const positional: string[] = [];
  const flags = {
    rotate: false,
    help: false,
    mqttUrl: undefined as string | undefined,
    pid: undefined as number | undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined || next.startsWith('-')) throw new UsageError(`${name} needs a value`);
      return next;
    };
    if (name === '--rotate' && inline === undefined) flags.rotate = true;
    else if ((name === '-h' || name === '--help') && inline === undefined) flags.help = true;
    else if (name === '--mqtt-url') flags.mqttUrl = checkUrl(value());
    else if (name === '--pid') flags.pid = checkPid(value());
    else if (name === '--') continue;
    else if (name.startsWith('-')) throw new UsageError(`unknown option ${arg}`);
    else positional.push(arg);
  }
  const common = {
    ...(flags.mqttUrl !== undefined ? { mqttUrl: flags.mqttUrl } : {}),
    ...(flags.pid !== undefined ? { pid: flags.pid } : {}),
  };
  const [verb, ...rest] = positional;
  if (flags.help || verb === 'help') return { command: { kind: 'help' }, ...common };
  if (verb === undefined) throw new UsageError('no command given');
  const extra = (allowed: number) => {
    if (rest.length > allowed) throw new UsageError(`unexpected argument ${rest[allowed]}`);
  };
  if (flags.rotate && verb !== 'add') throw new UsageError('--rotate only goes with add');
  switch (verb) {
    case 'add':
      extra(1);
      return { command: { kind: 'add', id: deviceId(rest[0], 'add'), rotate: flags.rotate }, ...common };
    case 'remove':
      extra(1);
      return { command: { kind: 'remove', id: deviceId(rest[0], 'remove') }, ...common };
    case 'list':
      extra(0);
      return { command: { kind: 'list' }, ...common };
    case 'service': {
      extra(1);
      const account = rest[0];
      if (account === undefined || !isServiceAccount(account)) {
        throw new UsageError(
          `service needs one of ${SERVICE_ACCOUNTS.join(', ')} (got ${account ?? 'nothing'})`,
        );
      }
      return { command: { kind: 'service', account }, ...common };
    }
    default:
      throw new UsageError(`unknown command ${verb}`);
  }
}
