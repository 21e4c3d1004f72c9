import { accountRows, formatAccountTable } from './account-table.js';
import { aclWarnings, type AclSummary } from './acl-check.js';
import type { ReloadOutcome } from './broker-reload.js';
import type { ServiceAccount } from './credentials.js';
import type { DeviceRegistryPort } from './device-registry.js';
import { deviceEnvBlock, serviceEnvBlock } from './env-block.js';
import { AccountExistsError } from './password-file.js';

/** The broker's accounts, as PasswordFile keeps them. */
export interface AccountStore {
  readonly file: string;
  users(): Promise<string[]>;
  set(user: string, password: string, opts: { mustBeNew: boolean }): Promise<{ created: boolean }>;
  remove(user: string): Promise<boolean>;
}

export interface ProvisioningDeps {
  accounts: AccountStore;
  /** Sends the broker SIGHUP, or says why not. */
  reload: () => ReloadOutcome;
  /** Undefined when DATABASE_URL is unset: the database steps are skipped (and said so). */
  registry: DeviceRegistryPort | undefined;
  /** The broker's ACL, when MOSQUITTO_ACL_FILE is set. */
  acl: AclSummary | undefined;
  /** MQTT_URL to print. */
  mqttUrl: string | undefined;
  /** Devices get MQTT_CLEAN_SESSION=false (a RabbitMQ cluster: sessions in quorum queues). */
  persistentSessions?: boolean;
  newPassword: () => string;
  now: () => Date;
  /** stdout: what the user copies (env blocks, the table). */
  out: (text: string) => void;
  /** stderr: what was done, warnings, errors. */
  note: (text: string) => void;
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));

/** Says what the reload did; false when a broker was named but could not be reloaded. */
function reportReload(deps: ProvisioningDeps, outcome: ReloadOutcome): boolean {
  switch (outcome.kind) {
    case 'reloaded':
      deps.note(`broker: reloaded (SIGHUP to pid ${outcome.pid} from ${outcome.source})`);
      return true;
    case 'no-pid':
      deps.note(
        'broker: NOT reloaded, no pid known (MOSQUITTO_PID_FILE, MOSQUITTO_PID or --pid). Reload it before ' +
          'the change counts: `kill -HUP <pid>` or `docker compose kill -s HUP mqttserver`',
      );
      return true;
    case 'immediate':
      deps.note('broker: the change applies at once (no reload needed)');
      return true;
    case 'failed':
      deps.note(`broker: NOT reloaded: ${outcome.reason}. Reload it by hand before the change counts`);
      return false;
  }
}

function warnAboutAcl(deps: ProvisioningDeps, account: { service?: string }): void {
  if (!deps.acl) return;
  for (const warning of aclWarnings(deps.acl, account)) deps.note(`warning: ${warning}`);
}

/** `add <id> [--rotate]`: a new account (or, with rotate, a new password) for a device. Exit code. */
export async function addDevice(deps: ProvisioningDeps, id: string, rotate: boolean): Promise<number> {
  warnAboutAcl(deps, {});
  const password = deps.newPassword();
  let created: boolean;
  try {
    ({ created } = await deps.accounts.set(id, password, { mustBeNew: !rotate }));
  } catch (err) {
    if (!(err instanceof AccountExistsError)) throw err;
    deps.note(
      `device ${id} already has credentials in ${deps.accounts.file}; nothing changed. ` +
        `To give it a new password (the old one stops working at the reload): add ${id} --rotate`,
    );
    return 1;
  }
  deps.note(
    `password file: ${created ? `added ${id} to` : `new password for ${id} in`} ${deps.accounts.file}`,
  );
  let ok = reportReload(deps, deps.reload());
  if (deps.registry) {
    try {
      await deps.registry.registerCredentials(id, id, deps.now());
      deps.note(`database: devices row ${id} now lists mqtt_username ${id}`);
    } catch (err) {
      ok = false;
      deps.note(`database: NOT registered: ${message(err)}. Fix it, then run: add ${id} --rotate`);
    }
  } else {
    deps.note('database: DATABASE_URL is not set, registration skipped');
  }
  // Printed even after a failed step: the credentials are in the password file and this is the only
  // time the password can be seen.
  deps.out(
    deviceEnvBlock({
      deviceId: id,
      password,
      mqttUrl: deps.mqttUrl,
      persistentSession: deps.persistentSessions ?? false,
    }),
  );
  return ok ? 0 : 1;
}

/** `remove <id>`: the device can no longer connect once the broker reloads (connected sessions are cut). */
export async function removeDevice(deps: ProvisioningDeps, id: string): Promise<number> {
  const removed = await deps.accounts.remove(id);
  let ok = true;
  if (removed) {
    deps.note(`password file: removed ${id} from ${deps.accounts.file}`);
    ok = reportReload(deps, deps.reload());
  } else {
    deps.note(`password file: ${id} is not in ${deps.accounts.file}`);
  }
  let inDatabase = false;
  if (deps.registry) {
    try {
      inDatabase = await deps.registry.revokeCredentials(id);
      deps.note(
        inDatabase
          ? `database: devices row ${id} now lists no credentials (mqtt_username NULL)`
          : `database: no devices row ${id}`,
      );
    } catch (err) {
      ok = false;
      deps.note(`database: NOT updated: ${message(err)}`);
    }
  } else {
    deps.note('database: DATABASE_URL is not set, skipped');
  }
  if (!removed && !inDatabase) {
    deps.note(`no such device: ${id}`);
    return 1;
  }
  return ok ? 0 : 1;
}

/** `list`: password-file accounts next to database devices. */
export async function listAccounts(deps: ProvisioningDeps): Promise<number> {
  const users = await deps.accounts.users();
  let devices;
  if (deps.registry) {
    devices = await deps.registry.list();
  } else {
    deps.note('database: DATABASE_URL is not set, showing the password file only');
  }
  deps.note(`password file: ${deps.accounts.file} (${users.length} accounts)`);
  deps.out(formatAccountTable(accountRows(users, devices), devices !== undefined));
  return 0;
}

/** `service <receiver|webadmin>`: (re)creates a service account with a fresh password. */
export async function resetServiceAccount(deps: ProvisioningDeps, account: ServiceAccount): Promise<number> {
  warnAboutAcl(deps, { service: account });
  const password = deps.newPassword();
  const { created } = await deps.accounts.set(account, password, { mustBeNew: false });
  deps.note(
    `password file: ${created ? `added ${account} to` : `new password for ${account} in`} ${deps.accounts.file}` +
      (created ? '' : `: running ${account} services are cut off at the reload until they get it`),
  );
  const ok = reportReload(deps, deps.reload());
  deps.out(serviceEnvBlock({ account, password, mqttUrl: deps.mqttUrl }));
  return ok ? 0 : 1;
}
