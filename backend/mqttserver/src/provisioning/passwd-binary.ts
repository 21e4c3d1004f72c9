import { accessSync, constants } from 'node:fs';
import path from 'node:path';

/**
 * `mosquitto_passwd` from PATH, else from /usr/bin (where Debian and the broker image put it, in case
 * PATH is bare). The bare name when neither has it, so spawning it fails with ENOENT naming the tool.
 */
export function mosquittoPasswdBinary(pathVariable = process.env.PATH ?? ''): string {
  const dirs = [...pathVariable.split(path.delimiter).filter(Boolean), '/usr/bin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'mosquitto_passwd');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return 'mosquitto_passwd';
}
