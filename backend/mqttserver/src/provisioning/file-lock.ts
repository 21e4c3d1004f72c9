import { open, readFile, stat, unlink } from 'node:fs/promises';
import { hostname } from 'node:os';

interface LockOwner {
  pid: number;
  host: string;
  since: string;
}

export class LockTimeoutError extends Error {
  constructor(
    readonly lockFile: string,
    holder: string,
  ) {
    super(
      `${lockFile} is held by ${holder}; if no such process is editing the accounts any more, delete the lock file`,
    );
    this.name = 'LockTimeoutError';
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(lockFile: string): Promise<{ text: string; owner?: LockOwner } | undefined> {
  let text: string;
  try {
    text = await readFile(lockFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    return { text, owner: JSON.parse(text) as LockOwner };
  } catch {
    return { text }; // being written this instant, or damaged
  }
}

/** A lock file nobody finished writing (its writer died at once) is stale after a while. */
async function olderThan(file: string, ms: number): Promise<boolean> {
  try {
    return Date.now() - (await stat(file)).mtimeMs > ms;
  } catch {
    return false;
  }
}

/**
 * Runs `fn` while holding `lockFile` (created with O_EXCL, so exactly one process wins), so concurrent
 * `npm run device` commands edit the password file one after the other. A lock left by a process of this
 * host that no longer exists is taken over; anything else is waited for up to `timeoutMs`.
 */
export async function withFileLock<T>(
  lockFile: string,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  const me: LockOwner = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  for (let attempt = 0; ; attempt++) {
    try {
      const handle = await open(lockFile, 'wx', 0o600);
      try {
        await handle.writeFile(JSON.stringify(me) + '\n');
      } finally {
        await handle.close();
      }
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const current = await readOwner(lockFile);
    if (current === undefined) continue; // released between our open and read
    const owner = current.owner;
    if (owner ? owner.host === me.host && !alive(owner.pid) : await olderThan(lockFile, 30_000)) {
      // Only remove the very lock we judged stale: another process may have taken it over meanwhile.
      const again = await readOwner(lockFile);
      if (again?.text === current.text) await unlink(lockFile).catch(() => undefined);
      continue;
    }
    if (Date.now() > deadline) {
      throw new LockTimeoutError(
        lockFile,
        owner ? `pid ${owner.pid} on ${owner.host} since ${owner.since}` : 'an unknown process',
      );
    }
    await sleep(Math.min(200, 20 + attempt * 10));
  }
  try {
    return await fn();
  } finally {
    await unlink(lockFile).catch(() => undefined);
  }
}
