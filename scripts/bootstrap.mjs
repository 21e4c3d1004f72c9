#!/usr/bin/env node
// Dependency-free set-up run by `npm start`, `npm test` and `npm run bench`: installs the Debian packages
// of the servers the stack and the tests start privately, runs `npm ci` when node_modules is missing or
// stale, and builds. Idempotent and quick when nothing changed.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');
const say = (msg) => quiet || process.stderr.write(`[bootstrap] ${msg}\n`);

// The services take node:http from process.getBuiltinModule (shared/src/health-endpoint.ts), new in 20.16:
// on an older node they would die at start-up with "getBuiltinModule is not a function".
if (typeof process.getBuiltinModule !== 'function') {
  process.stderr.write(
    `[bootstrap] Node ${process.versions.node} is too old: this project needs Node 20.16 or later\n`,
  );
  process.exit(1);
}

// binary → Debian package that provides it
const NEEDED = [
  ['redis-server', 'redis-server'],
  ['mosquitto', 'mosquitto'],
  ['mosquitto_passwd', 'mosquitto'],
  ['mariadbd', 'mariadb-server'],
  ['mariadb-install-db', 'mariadb-server'],
  ['openssl', 'openssl'],
  // The dashboard tests evaluate every Grafana query against a real Prometheus; the backend compose
  // check runs `docker-compose config` (no Docker engine needed for that).
  ['prometheus', 'prometheus'],
  ['docker-compose', 'docker-compose'],
  // The web admin's browser tests drive Debian's Chromium (never a downloaded browser build); only
  // `npm test` (--test) needs it, so `npm start` does not pull a browser in.
  ['chromium', 'chromium', 'test'],
  // The backend dashboards' MariaDB panels are evaluated against the real exporter's metrics.
  ['prometheus-mysqld-exporter', 'prometheus-mysqld-exporter', 'test'],
  // The clock-jump test and drill 10 preload libfaketime into the sensor (the `faketime` binary comes
  // with it); the partition test and drill 6 build network namespaces and cut them with `ip` and `tc`
  // (as root). `npm run drill` (--drill) needs them too.
  ['faketime', 'faketime', 'test drill'],
  // The power-cut test and drill 5 preload a shim the harness compiles from its C source
  // (tools/src/harness/power-cut/): a C compiler and libc headers.
  ['cc', 'gcc', 'test drill'],
  ['/usr/include/stdio.h', 'libc6-dev', 'test drill'],
  ['ip', 'iproute2', 'test drill'],
  ['tc', 'iproute2', 'test drill'],
  // The Galera cluster tests: the wsrep provider (a library, so checked by path) and rsync for the
  // state snapshot transfer to a joining node.
  ['/usr/lib/galera/libgalera_smm.so', 'galera-4', 'test'],
  ['rsync', 'rsync', 'test'],
  // The scale-out tests start a private 3-node RabbitMQ cluster (tools/src/harness/rabbitmq.ts) from
  // the package's scripts; the system broker the package also starts is left alone.
  ['rabbitmq-server', 'rabbitmq-server', 'test'],
];

function onPath(bin) {
  if (path.isAbsolute(bin)) return existsSync(bin);
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/sbin', '/usr/local/bin'];
  return dirs.some((d) => d && existsSync(path.join(d, bin)));
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, ...opts });
  if (r.status !== 0) {
    process.stderr.write(`[bootstrap] failed: ${cmd} ${args.join(' ')} (exit ${r.status ?? r.signal})\n`);
    process.exit(r.status || 1);
  }
}

const forTests = process.argv.includes('--test');
const forDrill = process.argv.includes('--drill');
// `only`: the runs that need the package (`test`, `drill`); none = every run.
const wanted = (only) =>
  only === undefined ||
  (forTests && only.split(' ').includes('test')) ||
  (forDrill && only.split(' ').includes('drill'));
const missing = [
  ...new Set(NEEDED.filter(([bin, , only]) => wanted(only) && !onPath(bin)).map(([, pkg]) => pkg)),
];
if (missing.length) {
  const isRoot = process.getuid?.() === 0;
  const sudo = isRoot ? [] : onPath('sudo') ? ['sudo'] : undefined;
  if (!sudo) {
    process.stderr.write(
      `[bootstrap] missing Debian packages: ${missing.join(' ')}\n` +
        `  install them as root: apt-get update && apt-get install -y ${missing.join(' ')}\n`,
    );
    process.exit(1);
  }
  say(`installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const cmd = (args) => (sudo.length ? ['sudo', ['-E', ...args]] : [args[0], args.slice(1)]);
  run(...cmd(['apt-get', 'update', '-q']), { env });
  // The packages' own services are not needed (we start private instances); policy-rc.d may keep them off.
  run(...cmd(['apt-get', 'install', '-y', '-q', '--no-install-recommends', ...missing]), { env });
}

const lock = path.join(root, 'package-lock.json');
const installed = path.join(root, 'node_modules', '.package-lock.json');
const mtime = (f) => (existsSync(f) ? statSync(f).mtimeMs : 0);
if (!existsSync(installed) || mtime(lock) > mtime(installed)) {
  say('installing npm dependencies (npm ci)');
  run('npm', ['ci', '--no-audit', '--no-fund']);
}

say('building (tsc -b, web admin bundle)');
run(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-b'], {});
run(process.execPath, [path.join(root, 'backend', 'webadmin', 'scripts', 'bundle-web.mjs')], {});
