import { existsSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parse as balenaParse } from '@balena/compose';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import type { EnvSpec } from '@sensorfleet/shared';
import { mqtthandlerEnv } from '@sensorfleet/mqtthandler/config';
import { sensorEnv } from '@sensorfleet/sensor/config';
import { startStopButtonEnv } from '@sensorfleet/startstopbutton/config';
import { renderBalenaCompose } from '../src/balena/device-compose.js';
import { contextFilter } from '../src/images/assemble.js';
import {
  BALENA_FORBIDDEN_KEYS,
  BALENA_PROVIDED_ENV,
  BALENA_SERVICE_KEYS,
  environmentOf,
  envProblems,
} from '../src/images/compose-rules.js';
import { parseDockerfile, stageSettings } from '../src/images/dockerfile.js';
import { REPO_ROOT } from '../src/harness/repo-root.js';

/**
 * The device release as balena sees it: docker-compose.device.yml through balena's own parser, the keys
 * its supervisor supports, the hardware access each service needs, the env every service requires, the
 * volumes that hold the device's state, the Dockerfiles and their livepush directives, balena.yml.
 */
type Service = {
  build?: { context: string; dockerfile?: string } | string;
  environment?: Record<string, string>;
  volumes?: string[];
  labels?: Record<string, string>;
  devices?: string[];
  cap_add?: string[];
  privileged?: boolean;
  restart?: string;
  [key: string]: unknown;
};
const read = (rel: string) => readFileSync(path.join(REPO_ROOT, rel), 'utf8');
const raw = parseYaml(read('docker-compose.device.yml')) as {
  version: string;
  services: Record<string, Service>;
  volumes: Record<string, unknown>;
  [key: string]: unknown;
};
const services = raw.services;

function dockerfileOf(s: Service): string {
  const build = typeof s.build === 'string' ? { context: s.build } : s.build!;
  const context = path.join(REPO_ROOT, build.context);
  const own = build.dockerfile ? path.join(context, build.dockerfile) : path.join(context, 'Dockerfile');
  return existsSync(own) || build.dockerfile ? own : path.join(context, 'Dockerfile.template');
}

const ENV_SCHEMAS: Record<string, EnvSpec> = {
  sensor: sensorEnv,
  mqtthandler: mqtthandlerEnv,
  startstopbutton: startStopButtonEnv,
};

describe('docker-compose.device.yml in balena’s dialect', () => {
  it('is accepted by balena’s own compose parser (@balena/compose 7) as file format 2.4', () => {
    const composition = balenaParse.normalize(raw);
    expect(composition.version).toBe('2.4');
    expect(Object.keys(composition.services).sort()).toEqual(
      ['grafana', 'mqtthandler', 'prometheus', 'redis', 'sensor', 'startstopbutton'].sort(),
    );
    // What `npm run device:push` writes is the same composition.
    expect(balenaParse.normalize(parseYaml(renderBalenaCompose(read('docker-compose.device.yml'))))).toEqual(
      composition,
    );
  });

  it('uses only keys balena supports, named volumes only, restart: always everywhere', () => {
    for (const key of BALENA_FORBIDDEN_KEYS) expect(raw, `top-level ${key}`).not.toHaveProperty(key);
    for (const [name, s] of Object.entries(services)) {
      for (const key of Object.keys(s)) expect(BALENA_SERVICE_KEYS.has(key), `${name}.${key}`).toBe(true);
      expect(s.restart, `${name}.restart`).toBe('always');
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0]!;
        expect(source.startsWith('/') || source.startsWith('.'), `${name}: bind mount ${v}`).toBe(false);
        expect(raw.volumes, `${name}: volume ${source} declared`).toHaveProperty(source);
      }
    }
  });

  it('gives the sensor I2C (device, SYS_RAWIO, kernel modules) and the button GPIO (privileged, sysfs)', () => {
    const sensor = services.sensor!;
    expect(sensor.devices).toContain('/dev/i2c-1:/dev/i2c-1');
    expect(sensor.cap_add).toEqual(expect.arrayContaining(['SYS_RAWIO', 'SYS_MODULE']));
    expect(sensor.labels?.['io.balena.features.kernel-modules']).toBe('1');
    expect(sensor.privileged).toBeUndefined();
    expect(read('device/sensor/docker-entrypoint.sh')).toContain('modprobe i2c-dev');
    const button = services.startstopbutton!;
    expect(button.privileged).toBe(true);
    expect(button.labels?.['io.balena.features.sysfs']).toBe('1');
    // Only the dashboard is reachable from outside the device.
    const published = Object.entries(services).filter(([, s]) => s.ports);
    expect(published.map(([n]) => n)).toEqual(['grafana']);
  });

  it('gives every variable a service requires a value (balena device variables override them)', () => {
    for (const [name, spec] of Object.entries(ENV_SCHEMAS)) {
      const env = { ...BALENA_PROVIDED_ENV, ...environmentOf(services[name]!) };
      // DEVICE_ID's default is computed from BALENA_DEVICE_UUID when the schema is imported.
      expect(envProblems(spec, env, { DEVICE_ID: env.BALENA_DEVICE_UUID })).toEqual([]);
      // The metrics port the compose file sets is the one the device Prometheus scrapes.
      const port = environmentOf(services[name]!).METRICS_PORT;
      expect(read('device/prometheus/prometheus.yml')).toContain(`'${name}:${port}'`);
    }
  });

  it('keeps the outbox AOF, the Prometheus TSDB and Grafana’s database on named volumes', () => {
    expect(services.redis!.volumes).toContain('redis-data:/data');
    // The entrypoint sets the data dir (REDIS_DATA_DIR, default /data); the compose file keeps the default.
    expect(read('device/redis/docker-entrypoint.sh')).toContain('data="${REDIS_DATA_DIR:-/data}"');
    expect(environmentOf(services.redis!).REDIS_DATA_DIR ?? '/data').toBe('/data');
    expect(read('device/redis/redis.conf')).toMatch(/^appendonly yes$/m);
    expect(services.prometheus!.volumes).toContain('prometheus-data:/prometheus');
    expect(read('device/prometheus/Dockerfile')).toContain('--storage.tsdb.path=/prometheus');
    expect(read('device/prometheus/Dockerfile')).toMatch(/--storage\.tsdb\.retention\.size=\d+MB/);
    expect(services.grafana!.volumes).toContain('grafana-data:/var/lib/grafana');
  });

  it('builds every service from a Dockerfile that exists, with livepush directives on the Node services', () => {
    for (const [name, s] of Object.entries(services)) {
      const file = dockerfileOf(s);
      expect(existsSync(file), `${name}: ${file}`).toBe(true);
      const df = parseDockerfile(readFileSync(file, 'utf8'), file);
      if (!(name in ENV_SCHEMAS)) continue;
      expect(path.basename(file)).toBe('Dockerfile.template');
      expect(df.stages[0]!.base).toBe('node:24-bookworm-slim');
      expect(df.stages.at(-1)!.base).toBe('node:24-bookworm-slim');
      const live = df.liveDirectives.find((d) => d.directive === 'dev-cmd-live');
      // In a stage before the last: livepush then runs that stage (dev dependencies, tsc) and skips the rest.
      expect(live, `${name}: #dev-cmd-live`).toBeDefined();
      expect(live!.stage).toBeLessThan(df.stages.length - 1);
      expect(live!.value).toMatch(/tsc -b -w/);
      expect(live!.value).toMatch(/node --watch/);
      const runtime = stageSettings(df, df.stages.at(-1)!);
      expect(runtime.entrypoint.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
      expect(runtime.healthcheck?.join(' ')).toContain('/health');
      // Root only where the hardware needs it (README "Images" says why).
      expect(runtime.user, name).toBe(name === 'mqtthandler' ? 'node' : undefined);
    }
  });

  it('pushes the device sources only: .dockerignore keeps backend, tools, node_modules, data and test output out', () => {
    const inContext = contextFilter(path.join(REPO_ROOT, 'device/sensor/Dockerfile.template'), REPO_ROOT);
    for (const out of [
      'backend/receiver/src/main.ts',
      'tools/src/harness/index.ts',
      'node_modules/ioredis/package.json',
      'device/sensor/node_modules/x/index.js',
      'device/sensor/dist/main.js',
      '.data/redis/appendonlydir/appendonly.aof.1.incr.aof',
      'device/sensor/test/bme280-source.test.ts',
      'coverage/index.html',
      '.env',
    ]) {
      expect(inContext(out), out).toBe(false);
    }
    for (const kept of [
      'docker-compose.yml',
      'balena.yml',
      'package-lock.json',
      'device/sensor/src/main.ts',
    ]) {
      expect(inContext(kept), kept).toBe(true);
    }
    const ignored = execFileSync('git', ['check-ignore', 'docker-compose.yml'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(ignored.trim()).toBe('docker-compose.yml');
  });

  it('balena.yml names the fleet, its device types and defaults for the application variables', () => {
    const meta = parseYaml(read('balena.yml')) as {
      version: string;
      slug: string;
      name: string;
      type: string;
      description: string;
      data: {
        defaultDeviceType: string;
        supportedDeviceTypes: string[];
        applicationEnvironmentVariables: Record<string, string>[];
      };
    };
    expect(meta).toMatchObject({ version: '2', slug: 'sensorfleet', type: 'sw.application' });
    expect(meta.description.length).toBeGreaterThan(20);
    expect(meta.data.supportedDeviceTypes).toEqual(
      expect.arrayContaining([
        'raspberrypi3-64',
        'raspberrypi0-2w-64',
        'raspberrypi4-64',
        'raspberrypi5',
        'jetson-orin-nano-devkit-nvme',
      ]),
    );
    expect(meta.data.supportedDeviceTypes).toContain(meta.data.defaultDeviceType);
    // Every application variable is one some device service reads, with a value its schema accepts.
    const vars = Object.assign({}, ...meta.data.applicationEnvironmentVariables) as Record<string, string>;
    const known = new Set([
      ...Object.values(ENV_SCHEMAS).flatMap((s) => Object.keys(s)),
      'REDIS_APPENDFSYNC',
    ]);
    for (const [name, value] of Object.entries(vars)) {
      expect(known.has(name), name).toBe(true);
      for (const spec of Object.values(ENV_SCHEMAS)) {
        if (name in spec) expect(() => spec[name]!.parse(value), `${name}=${value}`).not.toThrow();
      }
    }
  });
});
