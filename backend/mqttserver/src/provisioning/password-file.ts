import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, open, readFile, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { withFileLock } from './file-lock.js';

export class AccountExistsError extends Error {
  constructor(
    readonly user: string,
    readonly file: string,
  ) {
    super(`${user} already has a password in ${file}`);
    this.name = 'AccountExistsError';
  }
}

/** User names of a Mosquitto password file (`user:hash` lines). */
export function passwordFileUsers(text: string): string[] {
  const users: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    users.push(colon < 0 ? line : line.slice(0, colon));
  }
  return users;
}

/** Runs mosquitto_passwd; the password (if any) goes through stdin, never the command line. */
function mosquittoPasswd(bin: string, args: string[], password?: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (err) =>
      reject(new Error(`cannot run ${bin} (${err.message}); install mosquitto or set MOSQUITTO_PASSWD_BIN`)),
    );
    child.on('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${bin} ${args[0]} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`));
    });
    // Without -b, mosquitto_passwd asks twice; from a pipe it reads both answers from stdin.
    child.stdin.on('error', () => undefined); // it may exit before reading (reported by 'close')
    child.stdin.end(password === undefined ? '' : `${password}\n${password}\n`);
  });
}

/**
 * The broker's password file. Hashes are made by `mosquitto_passwd` (PBKDF2-SHA512, the format the
 * broker checks); the plain password is only ever passed to it on stdin.
 *
 * mosquitto_passwd rewrites a file in place, so a broker reloading at that moment could read half a file.
 * Every change is therefore made on a copy next to the file, flushed, and renamed over it (readers see
 * the old or the new file, never a mix; a failed change leaves the file untouched), all under
 * `<file>.lock` so concurrent commands cannot lose each other's changes.
 */
export class PasswordFile {
  constructor(
    readonly file: string,
    private readonly bin: string,
  ) {}

  async users(): Promise<string[]> {
    try {
      return passwordFileUsers(await readFile(this.file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  /**
   * Sets `user`'s password (creating the file if needed). With `mustBeNew`, refuses an existing user
   * (decided under the lock, so two concurrent adds of one id cannot both succeed).
   */
  async set(user: string, password: string, opts: { mustBeNew: boolean }): Promise<{ created: boolean }> {
    return this.edit(async (copy, before) => {
      const exists = before.includes(user);
      if (exists && opts.mustBeNew) throw new AccountExistsError(user, this.file);
      await mosquittoPasswd(this.bin, [copy, user], password);
      return { write: true, value: { created: !exists } };
    });
  }

  /** Deletes `user`; false when there was no such user (the file is then left as it was). */
  async remove(user: string): Promise<boolean> {
    return this.edit(async (copy, before) => {
      if (!before.includes(user)) return { write: false, value: false };
      await mosquittoPasswd(this.bin, ['-D', copy, user]);
      return { write: true, value: true };
    });
  }

  private async edit<T>(
    change: (copy: string, usersBefore: string[]) => Promise<{ write: boolean; value: T }>,
  ): Promise<T> {
    const dir = path.dirname(this.file);
    const dirInfo = await stat(dir).catch(() => undefined);
    if (!dirInfo?.isDirectory()) throw new Error(`${dir} (the folder of the password file) does not exist`);
    return withFileLock(`${this.file}.lock`, async () => {
      let original: Buffer | undefined;
      try {
        original = await readFile(this.file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
      const info = original ? await stat(this.file) : undefined;
      const uid = process.getuid?.();
      if (info && uid !== undefined && uid !== 0 && info.uid !== uid) {
        // The replacement would belong to us, and the broker's user (e.g. mosquitto) could not read it.
        throw new Error(
          `${this.file} belongs to uid ${info.uid} and this is uid ${uid}: run as root or as uid ${info.uid}`,
        );
      }
      const copy = path.join(dir, `.${path.basename(this.file)}.${randomBytes(6).toString('hex')}.tmp`);
      try {
        const handle = await open(copy, 'wx', 0o600);
        try {
          if (original) await handle.writeFile(original);
        } finally {
          await handle.close();
        }
        const result = await change(copy, passwordFileUsers(original?.toString('utf8') ?? ''));
        if (!result.write) return result.value;
        // Keep the file's owner and mode: the broker (often another user, e.g. `mosquitto`) must read it.
        if (info) {
          await chmod(copy, info.mode & 0o777);
          if (process.getuid?.() === 0) await chown(copy, info.uid, info.gid);
        }
        const flush = await open(copy, 'r');
        try {
          await flush.sync();
        } finally {
          await flush.close();
        }
        await rename(copy, this.file);
        await syncDir(dir);
        return result.value;
      } finally {
        await rm(copy, { force: true });
      }
    });
  }
}

/** Makes a rename durable (best effort: not every file system lets a directory be opened). */
async function syncDir(dir: string): Promise<void> {
  try {
    const handle = await open(dir, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  } catch {
    // ignore
  }
}
