/**
 * `npm run device:push -- <fleet | device-ip | xxxx.local> [balena push options]`
 *
 * Generates the git-ignored docker-compose.yml from docker-compose.device.yml and runs `balena push`
 * from the repository root, so the build context is the whole repository (the Node images need the
 * lockfile and shared/) minus what .dockerignore keeps out (backend, tools, node_modules, .data, test
 * output). A device address (local mode) builds on the device and starts livepush; a fleet name builds
 * a release on balena's builders.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../harness/repo-root.js';
import { writeBalenaCompose } from './device-compose.js';

const INSTALL_HINT = `balena CLI not found on PATH. Install it, then run this again:
  - standalone (recommended): download the zip for your OS from the balena-cli releases page on GitHub,
    unpack it and put its bin/ folder on PATH;
  - or with npm (Node 20+): npm install --global balena-cli
Then: balena login, and for a device on your desk in local mode: sudo balena scan (finds xxxx.local).`;

function onPath(bin: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => dir && existsSync(path.join(dir, bin)));
}

const [target, ...rest] = process.argv.slice(2);
if (!target || target.startsWith('-')) {
  process.stderr.write(
    'usage: npm run device:push -- <fleet | device-ip | xxxx.local> [balena push options]\n' +
      '  e.g. npm run device:push -- 6076a30.local     (local mode: build on the device, livepush)\n' +
      '       npm run device:push -- myorg/sensorfleet (a release for the fleet)\n',
  );
  process.exit(2);
}

const compose = writeBalenaCompose(REPO_ROOT);
process.stderr.write(
  `device:push: wrote ${path.relative(process.cwd(), compose) || compose} from docker-compose.device.yml\n`,
);
if (!onPath('balena')) {
  process.stderr.write(`${INSTALL_HINT}\n`);
  process.exit(127);
}
const r = spawnSync('balena', ['push', target, ...rest], { cwd: REPO_ROOT, stdio: 'inherit' });
process.exit(r.status ?? 1);
