import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import {
  DEVICE_REDIS_CONF,
  EntrypointServer,
  findBinary,
  harnessRoot,
  redisCommand,
  REPO_ROOT,
} from '@sensorfleet/tools/harness';

/**
 * The image's sensorfleet-entrypoint.sh as the container runs it, with the real redis-server and the
 * shipped redis.conf: only the paths (REDIS_CONF_TEMPLATE, REDIS_RENDERED_CONF, REDIS_DATA_DIR) point at
 * a temp dir, and the CMD gives a free port on 127.0.0.1.
 */
const ENTRYPOINT = path.join(REPO_ROOT, 'device/redis/docker-entrypoint.sh');
const work = mkdtempSync(path.join(harnessRoot(), 'redis-entrypoint-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * PATH as in the image: redis-server, and a `docker-entrypoint.sh` standing in for the official image's
 * (which only drops root privileges and hands /data to user redis before it execs its arguments).
 */
const bin = path.join(work, 'bin');
mkdirSync(bin);
symlinkSync(findBinary('redis-server', 'REDIS_SERVER_BIN'), path.join(bin, 'redis-server'));
writeFileSync(path.join(bin, 'docker-entrypoint.sh'), '#!/bin/sh\nexec "$@"\n', { mode: 0o755 });
const PATH = `${bin}${path.delimiter}${process.env.PATH ?? ''}`;

const envFor = (dir: string, extra: Record<string, string> = {}) => ({
  PATH,
  REDIS_CONF_TEMPLATE: DEVICE_REDIS_CONF,
  REDIS_RENDERED_CONF: path.join(dir, 'redis.conf'),
  REDIS_DATA_DIR: path.join(dir, 'data'),
  ...extra,
});

const servers: EntrypointServer[] = [];
afterAll(() => Promise.all(servers.map((s) => s.destroy())));

describe('device/redis docker-entrypoint.sh', () => {
  it('runs redis-server with the shipped redis.conf plus the fsync policy, memory limit and dir from the env', async () => {
    const server = await EntrypointServer.start({
      kind: 'redis-entrypoint',
      script: ENTRYPOINT,
      args: (port) => ['--port', String(port), '--bind', '127.0.0.1'],
      env: (dir) => envFor(dir, { REDIS_APPENDFSYNC: 'always', REDIS_MAXMEMORY: '64mb' }),
      ready: async (port) => (await redisCommand(port, ['PING'])) === 'PONG',
    });
    servers.push(server);
    const redis = new Redis(`redis://127.0.0.1:${server.port}`, { maxRetriesPerRequest: 1 });
    try {
      const config = async (name: string) => ((await redis.config('GET', name)) as string[])[1];
      // from the environment
      expect(await config('appendfsync')).toBe('always');
      expect(await config('maxmemory')).toBe(String(64 * 2 ** 20));
      expect(await config('dir')).toBe(path.join(server.dir, 'data'));
      // from the shipped file
      expect(await config('appendonly')).toBe('yes');
      expect(await config('save')).toBe('');
      expect(await config('maxmemory-policy')).toBe('noeviction');
      expect(await config('aof-use-rdb-preamble')).toBe('yes');
      expect(await config('auto-aof-rewrite-min-size')).toBe(String(64 * 2 ** 20));
      await redis.set('entrypoint:key', 'kept');
      expect(existsSync(path.join(server.dir, 'data', 'appendonlydir'))).toBe(true);
    } finally {
      redis.disconnect();
    }
    // the rendered config is the shipped file with the three lines appended
    const rendered = readFileSync(path.join(server.dir, 'redis.conf'), 'utf8');
    expect(rendered.startsWith(readFileSync(DEVICE_REDIS_CONF, 'utf8'))).toBe(true);
    expect(readFileSync(server.outputLog, 'utf8')).toMatch(/redis: appendfsync always, maxmemory 64mb, dir /);
  });

  it('defaults to everysec and no memory limit', async () => {
    const server = await EntrypointServer.start({
      kind: 'redis-entrypoint',
      script: ENTRYPOINT,
      args: (port) => ['--port', String(port), '--bind', '127.0.0.1'],
      env: (dir) => envFor(dir),
      ready: async (port) => (await redisCommand(port, ['PING'])) === 'PONG',
    });
    servers.push(server);
    const redis = new Redis(`redis://127.0.0.1:${server.port}`, { maxRetriesPerRequest: 1 });
    try {
      expect(await redis.config('GET', 'appendfsync')).toEqual(['appendfsync', 'everysec']);
      expect(await redis.config('GET', 'maxmemory')).toEqual(['maxmemory', '0']);
    } finally {
      redis.disconnect();
    }
  });

  it.each([
    [{ REDIS_APPENDFSYNC: 'sometimes' }, /REDIS_APPENDFSYNC must be everysec or always \(got 'sometimes'\)/],
    [{ REDIS_MAXMEMORY: 'lots' }, /REDIS_MAXMEMORY must be a size like 256mb or 0 \(got 'lots'\)/],
    [{ REDIS_DATA_DIR: 'data' }, /REDIS_DATA_DIR must be an absolute path/],
  ])('refuses %o with a message naming the variable, before starting Redis', (bad, message) => {
    const dir = mkdtempSync(path.join(work, 'bad-'));
    const r = spawnSync('sh', [ENTRYPOINT], {
      cwd: dir,
      env: { ...process.env, ...envFor(dir), ...bad },
      encoding: 'utf8',
      timeout: 10_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(existsSync(path.join(dir, 'redis.conf'))).toBe(false);
  });
});
