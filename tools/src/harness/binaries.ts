import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/** sbin dirs are often missing from a non-root PATH, but Debian puts mosquitto and mariadbd there. */
const EXTRA_DIRS = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * Absolute path of a server binary: `$<envVar>` when set, else the first executable `name` on PATH or
 * in the usual system dirs. Falls back to the bare name (spawn then reports ENOENT clearly).
 */
export function findBinary(name: string, envVar: string): string {
  const override = process.env[envVar];
  if (override) return override;
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return name;
}
