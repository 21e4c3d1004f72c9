import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Pool } from 'mariadb';
import { AuditLog } from '../audit-log.js';
import { ApiTokenStore } from '../auth/api-token-store.js';
import { hashPassword } from '../auth/passwords.js';
import { isRole, ROLES, type Role } from '../auth/roles.js';
import { UserExistsError, UserStore } from '../auth/user-store.js';
import { USERNAME_PATTERN } from '@sensorfleet/shared/schemas/webadmin-api';

export const USAGE = `usage: npm run user -- <command>
  add <name> [--role viewer|operator|admin] [--generate]   new account (password from stdin or a prompt)
  reset <name> [--generate]                                new password; ends the user's sessions
  remove <name>                                            removes the user, its sessions and tokens
  role <name> <viewer|operator|admin>                      changes the role
  list                                                     users and API tokens
  token <name> [--label L]                                 new API token (printed once, last line of stdout)
  revoke <token-id>                                        deletes an API token
env: DATABASE_URL`;

export class UsageError extends Error {}

export interface CliIo {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable;
  stderr: Writable;
}

export interface ParsedArgs {
  command: string;
  positional: string[];
  flags: Map<string, string | true>;
}

const VALUE_FLAGS = new Set(['role', 'label']);
const BOOL_FLAGS = new Set(['generate']);

export function parseArgs(argv: string[]): ParsedArgs {
  const [command, ...rest] = argv;
  if (!command) throw new UsageError('no command given');
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) {
      positional.push(a);
      continue;
    }
    const name = m[1]!;
    if (BOOL_FLAGS.has(name)) flags.set(name, true);
    else if (VALUE_FLAGS.has(name)) {
      const value = m[2] ?? rest[++i];
      if (value === undefined) throw new UsageError(`--${name} needs a value`);
      flags.set(name, value);
    } else throw new UsageError(`unknown option --${name}`);
  }
  return { command, positional, flags };
}

const usernameRegex = new RegExp(USERNAME_PATTERN);

function nameArg(args: ParsedArgs): string {
  const name = args.positional[0];
  if (!name) throw new UsageError(`${args.command} needs a user name`);
  if (!usernameRegex.test(name)) throw new UsageError(`user name must match ${USERNAME_PATTERN}`);
  return name;
}

function roleOf(v: string | true | undefined, fallback: Role): Role {
  if (v === undefined) return fallback;
  if (v === true || !isRole(v)) throw new UsageError(`role must be one of ${ROLES.join(', ')}`);
  return v;
}

/** 18 random bytes, base64url: 24 characters, no ambiguity about where it ends. */
export const generatePassword = (): string => randomBytes(18).toString('base64url');

/** First line of a piped stdin; a prompt without echo on a terminal. */
async function readPassword(io: CliIo, prompt: string): Promise<string> {
  if (!io.stdin.isTTY) {
    const rl = createInterface({ input: io.stdin, crlfDelay: Infinity });
    for await (const line of rl) {
      rl.close();
      return line;
    }
    return '';
  }
  const stdin = io.stdin as NodeJS.ReadStream;
  io.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let text = '';
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          stdin.setRawMode(false);
          stdin.pause();
          stdin.off('data', onData);
          io.stderr.write('\n');
          return resolve(text);
        }
        if (ch === '\u0003') {
          stdin.setRawMode(false);
          return reject(new UsageError('cancelled'));
        }
        if (ch === '\u007f') text = text.slice(0, -1);
        else text += ch;
      }
    };
    stdin.on('data', onData);
  });
}

async function newPassword(io: CliIo, args: ParsedArgs): Promise<{ password: string; generated: boolean }> {
  if (args.flags.has('generate')) return { password: generatePassword(), generated: true };
  const password = await readPassword(io, 'password: ');
  if (password.length < 8) throw new UsageError('the password must have at least 8 characters');
  if (io.stdin.isTTY) {
    const again = await readPassword(io, 'again: ');
    if (again !== password) throw new UsageError('the passwords differ');
  }
  return { password, generated: false };
}

/** Runs one CLI command against the database; returns the exit code. */
export async function runUserCli(argv: string[], pool: Pool, io: CliIo): Promise<number> {
  const args = parseArgs(argv);
  const users = new UserStore(pool);
  const tokens = new ApiTokenStore(pool);
  const audit = new AuditLog(pool);
  const say = (s: string) => io.stderr.write(`${s}\n`);
  const actor = 'cli';
  switch (args.command) {
    case 'add': {
      const name = nameArg(args);
      const role = roleOf(args.flags.get('role'), 'viewer');
      const { password, generated } = await newPassword(io, args);
      try {
        await users.add(name, await hashPassword(password), role);
      } catch (err) {
        if (err instanceof UserExistsError) throw new UsageError(`user ${name} exists (reset it instead)`);
        throw err;
      }
      await audit.record({ actor, action: 'user_add', target: name, detail: { role } });
      say(`user ${name} added with role ${role}`);
      if (generated) {
        say('its password (shown once):');
        io.stdout.write(`${password}\n`);
      }
      return 0;
    }
    case 'reset': {
      const name = nameArg(args);
      if (!(await users.find(name))) throw new UsageError(`no user ${name}`);
      const { password, generated } = await newPassword(io, args);
      await users.setPassword(name, await hashPassword(password), { endSessions: true });
      await audit.record({ actor, action: 'user_reset', target: name });
      say(`password of ${name} changed; its sessions ended`);
      if (generated) {
        say('the new password (shown once):');
        io.stdout.write(`${password}\n`);
      }
      return 0;
    }
    case 'remove': {
      const name = nameArg(args);
      if (!(await users.remove(name))) throw new UsageError(`no user ${name}`);
      await audit.record({ actor, action: 'user_remove', target: name });
      say(`user ${name} removed, with its sessions and API tokens`);
      return 0;
    }
    case 'role': {
      const name = nameArg(args);
      const role = roleOf(args.positional[1] ?? true, 'viewer');
      if (!(await users.setRole(name, role))) throw new UsageError(`no user ${name}`);
      await audit.record({ actor, action: 'user_role', target: name, detail: { role } });
      say(`${name} is now ${role}`);
      return 0;
    }
    case 'list': {
      const all = await users.list();
      const lines = [['user', 'role', 'created', 'last login', 'sessions', 'tokens']];
      for (const u of all)
        lines.push([
          u.username,
          u.role,
          u.createdAt,
          u.lastLoginAt ?? '—',
          String(u.sessions),
          String(u.tokens),
        ]);
      const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => l[i]!.length)));
      for (const l of lines)
        io.stdout.write(
          `${l
            .map((c, i) => c.padEnd(widths[i]!))
            .join('  ')
            .trimEnd()}\n`,
        );
      const list = await tokens.list();
      if (list.length) {
        io.stdout.write('\n');
        for (const t of list)
          io.stdout.write(
            `${t.id}  ${t.username}  ${t.label ?? ''}  created ${t.createdAt}  last used ${t.lastUsedAt ?? '—'}\n`,
          );
      }
      return 0;
    }
    case 'token': {
      const name = nameArg(args);
      if (!(await users.find(name))) throw new UsageError(`no user ${name}`);
      const label = args.flags.get('label');
      const created = await tokens.create(name, typeof label === 'string' ? label : undefined);
      await audit.record({ actor, action: 'token_add', target: name, detail: { id: created.id } });
      say(`API token ${created.id} for ${name} (acts with ${name}'s role). It is shown once; store it now.`);
      say(`use: curl -H "Authorization: Bearer <token>" …   revoke: npm run user -- revoke ${created.id}`);
      io.stdout.write(`${created.token}\n`);
      return 0;
    }
    case 'revoke': {
      const id = args.positional[0];
      if (!id) throw new UsageError('revoke needs a token id (see `list`)');
      if (!(await tokens.revoke(id))) throw new UsageError(`no token ${id}`);
      await audit.record({ actor, action: 'token_revoke', target: id });
      say(`token ${id} revoked`);
      return 0;
    }
    default:
      throw new UsageError(`unknown command ${args.command}`);
  }
}
