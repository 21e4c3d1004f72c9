/**
 * The power-cut shim (power-cut/power-cut.c): an LD_PRELOAD library that holds a process's writes to the
 * files under one directory in its own memory until they are fsynced, so a kill -9 loses what a power cut
 * would. Built here from its source with the machine's C compiler (`$CC`, else `cc`) on first use and
 * cached by the source's hash under the harness base dir, so every test process shares one build.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './repo-root.js';
import { harnessBase } from './run-root.js';

export const POWER_CUT_SOURCE = path.join(REPO_ROOT, 'tools/src/harness/power-cut/power-cut.c');

let built: string | undefined;

/** Absolute path of the compiled shim (compiles it if this source has no build yet). */
export function powerCutLibrary(): string {
  if (built && existsSync(built)) return built;
  const source = readFileSync(POWER_CUT_SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = path.join(harnessBase(), 'power-cut');
  const lib = path.join(dir, `power-cut-${hash}.so`);
  if (!existsSync(lib)) {
    mkdirSync(dir, { recursive: true });
    // Another test process may build the same file at the same time: build aside, rename into place.
    const tmp = `${lib}.${process.pid}.tmp`;
    const cc = process.env.CC || 'cc';
    try {
      execFileSync(
        cc,
        ['-O2', '-Wall', '-shared', '-fPIC', '-o', tmp, POWER_CUT_SOURCE, '-ldl', '-lpthread'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      renameSync(tmp, lib);
    } catch (err) {
      rmSync(tmp, { force: true });
      const stderr = (err as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new Error(`cannot build the power-cut shim with ${cc}: ${(err as Error).message}\n${stderr}`);
    }
  }
  built = lib;
  return lib;
}

/** Env that runs a process under the shim, holding writes under `dir` (absolute) until synced. */
export function powerCutEnv(dir: string): NodeJS.ProcessEnv {
  const preload = [powerCutLibrary(), process.env.LD_PRELOAD].filter(Boolean).join(':');
  return { LD_PRELOAD: preload, POWER_CUT_DIR: path.resolve(dir) };
}
