import { readFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, parseEnv } from '@sensorfleet/shared';
import { parseAcl, type AclSummary } from './acl-check.js';
import { reloadBroker } from './broker-reload.js';
import { parseArgs, USAGE, UsageError, type Command, type Invocation } from './cli-args.js';
import {
  addDevice,
  listAccounts,
  removeDevice,
  resetServiceAccount,
  type ProvisioningDeps,
} from './commands.js';
import { provisioningEnv } from './config.js';
import { generatePassword } from './credentials.js';
import { DeviceRegistry } from './device-registry.js';
import { mosquittoPasswdBinary } from './passwd-binary.js';
import { PasswordFile } from './password-file.js';
import { RabbitMqAccounts } from './rabbitmq-accounts.js';
import { rabbitMqDeviceIdProblem } from './rabbitmq-rights.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

const PROGRAM = 'device';

/** Options npm takes for itself when they come before `--` (it exports them as npm_config_*). */
const SWALLOWED_BY_NPM = {
  npm_config_rotate: '--rotate',
  npm_config_mqtt_url: '--mqtt-url',
  npm_config_pid: '--pid',
};

function checkNpmDidNotSwallow(environment: NodeJS.ProcessEnv, argv: string[]): void {
  for (const [variable, flag] of Object.entries(SWALLOWED_BY_NPM)) {
    const given = argv.some((a) => a === flag || a.startsWith(`${flag}=`));
    if (environment[variable] !== undefined && !given) {
      throw new UsageError(
        `npm kept ${flag} for itself: put \`--\` before the arguments (npm run device -- …)`,
      );
    }
  }
}

function dispatch(deps: ProvisioningDeps, command: Exclude<Command, { kind: 'help' }>): Promise<number> {
  switch (command.kind) {
    case 'add':
      return addDevice(deps, command.id, command.rotate);
    case 'remove':
      return removeDevice(deps, command.id);
    case 'list':
      return listAccounts(deps);
    case 'service':
      return resetServiceAccount(deps, command.account);
  }
}

/**
 * `npm run device -- …`: parses arguments (bad usage → usage text, exit 2) and the environment (a bad
 * variable is named, exit 1), builds the collaborators and runs one command. Returns the exit code.
 */
export async function runCli(argv: string[], environment: NodeJS.ProcessEnv, io: CliIo): Promise<number> {
  let inv: Invocation;
  try {
    checkNpmDidNotSwallow(environment, argv);
    inv = parseArgs(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.stderr(`${PROGRAM}: ${err.message}\n\n${USAGE}`);
    return 2;
  }
  if (inv.command.kind === 'help') {
    io.stdout(USAGE);
    return 0;
  }
  let config;
  try {
    config = parseEnv(provisioningEnv, environment);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    io.stderr(`${PROGRAM}: ${err.message}\n`);
    return 1;
  }
  // npm runs scripts from the repository root; relative paths mean where the user typed the command.
  const base = environment.INIT_CWD ?? process.cwd();
  const resolve = (p: string) => path.resolve(base, p);

  let acl: AclSummary | undefined;
  if (config.MOSQUITTO_ACL_FILE !== undefined) {
    try {
      acl = parseAcl(readFileSync(resolve(config.MOSQUITTO_ACL_FILE), 'utf8'));
    } catch (err) {
      io.stderr(`${PROGRAM}: MOSQUITTO_ACL_FILE: cannot read it (${(err as Error).message})\n`);
      return 1;
    }
  }
  const rabbit = config.PROVISIONING_BROKER === 'rabbitmq';
  if (!rabbit && config.MOSQUITTO_PASSWORD_FILE === undefined) {
    io.stderr(
      `${PROGRAM}: invalid configuration:\n  MOSQUITTO_PASSWORD_FILE: is required but not set (PROVISIONING_BROKER=mosquitto)\n`,
    );
    return 1;
  }
  if (rabbit && (inv.command.kind === 'add' || inv.command.kind === 'remove')) {
    const problem = rabbitMqDeviceIdProblem(inv.command.id);
    if (problem) {
      io.stderr(`${PROGRAM}: ${problem}\n`);
      return 2;
    }
  }
  const pidFile = config.MOSQUITTO_PID_FILE === undefined ? undefined : resolve(config.MOSQUITTO_PID_FILE);
  const pid = inv.pid ?? config.MOSQUITTO_PID;
  const registry = config.DATABASE_URL === undefined ? undefined : DeviceRegistry.open(config.DATABASE_URL);
  const deps: ProvisioningDeps = {
    accounts: rabbit
      ? new RabbitMqAccounts({
          command: config.RABBITMQCTL.split(/\s+/).filter(Boolean),
          node: config.RABBITMQ_NODE,
          intakeQueue: config.RABBITMQ_INTAKE_QUEUE,
        })
      : new PasswordFile(
          resolve(config.MOSQUITTO_PASSWORD_FILE!),
          config.MOSQUITTO_PASSWD_BIN ?? mosquittoPasswdBinary(),
        ),
    // RabbitMQ applies user and permission changes at once.
    reload: () =>
      rabbit
        ? { kind: 'immediate' }
        : reloadBroker({ ...(pid !== undefined ? { pid } : {}), ...(pidFile ? { pidFile } : {}) }),
    registry,
    acl,
    mqttUrl: inv.mqttUrl ?? config.PUBLIC_MQTT_URL,
    persistentSessions: rabbit,
    newPassword: generatePassword,
    now: () => new Date(),
    out: (text) => io.stdout(`${text}\n`),
    note: (text) => io.stderr(`${text}\n`),
  };
  try {
    return await dispatch(deps, inv.command);
  } catch (err) {
    io.stderr(`${PROGRAM}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    await registry?.close().catch(() => undefined);
  }
}
