import { execFile } from 'node:child_process';
import type { AccountStore } from './commands.js';
import { isServiceAccount } from './credentials.js';
import { AccountExistsError } from './password-file.js';
import { deviceRights, rightsCommands, serviceRights } from './rabbitmq-rights.js';

export interface RabbitMqAccountsOptions {
  /** The `rabbitmqctl` command, split into words (e.g. `docker compose exec -T rabbitmq-1 rabbitmqctl`). */
  command: string[];
  /** Erlang node to talk to (`-n`), when not the CLI's default. */
  node?: string | undefined;
  intakeQueue?: string | undefined;
  env?: NodeJS.ProcessEnv;
}

/**
 * Broker accounts on a RabbitMQ cluster, through `rabbitmqctl` (users and permissions are cluster-wide,
 * any node will do, and a change counts at once: no reload). Every set() also (re)writes the account's
 * permissions (rabbitmq-rights.ts), so an account never exists without its confinement for longer than
 * the two commands take, and a rotate repairs rights changed by hand.
 */
export class RabbitMqAccounts implements AccountStore {
  readonly file: string;

  constructor(private readonly opts: RabbitMqAccountsOptions) {
    if (opts.command.length === 0) throw new Error('RABBITMQCTL is empty');
    this.file = `RabbitMQ users (${opts.command.join(' ')}${opts.node ? ` -n ${opts.node}` : ''})`;
  }

  private run(args: string[]): Promise<string> {
    const [cmd, ...pre] = this.opts.command;
    const all = [...pre, ...(this.opts.node ? ['-n', this.opts.node] : []), ...args];
    return new Promise((resolve, reject) => {
      execFile(
        cmd!,
        all,
        { env: { ...process.env, ...this.opts.env }, maxBuffer: 16 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (err) {
            // Never echo the arguments: `add_user` carries the password.
            reject(new Error(`rabbitmqctl ${args[0]} failed: ${(stderr || stdout || err.message).trim()}`));
          } else resolve(stdout);
        },
      );
    });
  }

  async users(): Promise<string[]> {
    const out = await this.run(['list_users', '--quiet', '--formatter', 'json']);
    return (JSON.parse(out) as { user: string }[]).map((u) => u.user).sort();
  }

  async set(user: string, password: string, opts: { mustBeNew: boolean }): Promise<{ created: boolean }> {
    const exists = (await this.users()).includes(user);
    if (exists && opts.mustBeNew) throw new AccountExistsError(user, this.file);
    // The password travels as an argument of a local process (RabbitMQ's CLI has no stdin form in 3.10).
    await this.run(exists ? ['change_password', user, password] : ['add_user', user, password]);
    const rights = isServiceAccount(user) ? serviceRights(user, this.opts.intakeQueue) : deviceRights(user);
    for (const args of rightsCommands(user, rights)) await this.run(args);
    return { created: !exists };
  }

  async remove(user: string): Promise<boolean> {
    if (!(await this.users()).includes(user)) return false;
    await this.run(['delete_user', user]);
    return true;
  }
}
