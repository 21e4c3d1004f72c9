import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, MariaDbServer, MosquittoServer, RedisServer } from '../src/harness/index.js';
import { assembleImage, type AssembledImage } from '../src/images/assemble.js';
import { ImageService } from '../src/images/image-service.js';
import { httpGet, nodeFlagsOf } from '../src/harness/node-service.js';
import { REPO_ROOT } from '../src/harness/repo-root.js';

/**
 * Each Node image's runtime stage, rebuilt without Docker from its Dockerfile (same COPY sources, its own
 * `npm ci --omit=dev --workspace=…`), started with the image's command from that folder: /health must
 * answer 200. A runtime import of a dev dependency, of another workspace, or of a file no COPY line takes
 * fails here, not on a device.
 */
const servers: { destroy(): Promise<void> }[] = [];
const dirs: string[] = [];
let redis: RedisServer;
let mosquitto: MosquittoServer;
let mariadb: MariaDbServer;

beforeAll(async () => {
  [redis, mosquitto, mariadb] = await Promise.all([
    RedisServer.start(),
    MosquittoServer.start(),
    MariaDbServer.start(),
  ]);
  servers.push(redis, mosquitto, mariadb);
}, 120_000);

afterAll(async () => {
  for (const s of servers.reverse()) await s.destroy().catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const log = process.env.TEST_LOG_LEVEL ? (line: string) => process.stderr.write(`${line}\n`) : undefined;

function assemble(dockerfile: string): AssembledImage {
  const image = assembleImage({ dockerfile: path.join(REPO_ROOT, dockerfile), context: REPO_ROOT, log });
  dirs.push(image.dir);
  return image;
}

async function expectHealthy(service: ImageService): Promise<unknown> {
  const deadline = Date.now() + 30_000;
  let last = { status: 0, body: '' };
  while (Date.now() < deadline) {
    last = await httpGet(service.healthUrl).catch(() => last);
    if (last.status === 200) return JSON.parse(last.body);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not healthy: ${last.status} ${last.body}`);
}

const cases: {
  dockerfile: string;
  label: string;
  workspace: string;
  env: () => Record<string, string> | Promise<Record<string, string>>;
  /** Production dependencies of other services that must not be in this image. */
  absent: string[];
}[] = [
  {
    dockerfile: 'device/sensor/Dockerfile.template',
    label: 'sensor-image',
    workspace: 'device/sensor',
    env: () => ({ REDIS_URL: redis.url, SENSOR_DRIVER: 'simulated', SENSOR_INTERVAL_MS: '200' }),
    absent: ['mqtt', 'mariadb', 'onoff'],
  },
  {
    dockerfile: 'device/mqtthandler/Dockerfile.template',
    label: 'mqtthandler-image',
    workspace: 'device/mqtthandler',
    env: () => ({ REDIS_URL: redis.url, MQTT_URL: mosquitto.url, DEVICE_ID: 'image-test' }),
    absent: ['i2c-bus', 'mariadb', 'onoff'],
  },
  {
    dockerfile: 'device/startstopbutton/Dockerfile.template',
    label: 'startstopbutton-image',
    workspace: 'device/startstopbutton',
    // No GPIO on this machine; the driver is loaded all the same (onoff is imported at start).
    env: () => ({ REDIS_URL: redis.url, BUTTON_DRIVER: 'none' }),
    absent: ['i2c-bus', 'mqtt', 'mariadb'],
  },
  {
    dockerfile: 'backend/receiver/Dockerfile',
    label: 'receiver-image',
    workspace: 'backend/receiver',
    env: () => ({
      DATABASE_URL: mariadb.databaseUrl('sf_image_test'),
      MQTT_URL: mosquitto.url,
      STATS_LOG_INTERVAL: '0',
    }),
    absent: ['i2c-bus', 'onoff', 'epoll'],
  },
  {
    dockerfile: 'backend/webadmin/Dockerfile',
    label: 'webadmin-image',
    workspace: 'backend/webadmin',
    // Healthy = its schema migrated on the private MariaDB; the broker is where live data comes from.
    env: async () => ({
      DATABASE_URL: mariadb.databaseUrl('sf_image_webadmin'),
      MQTT_URL: mosquitto.url,
      HTTP_PORT: String(await freePort()),
      HTTP_HOST: '127.0.0.1',
    }),
    absent: ['i2c-bus', 'onoff', 'epoll', 'esbuild', 'playwright-core'],
  },
];

describe('what each image ships is enough to run its service', () => {
  for (const c of cases) {
    it(`${c.dockerfile}: production dependencies only, and /health answers 200`, async () => {
      if (c.workspace === 'backend/receiver')
        await mariadb.query('CREATE DATABASE IF NOT EXISTS sf_image_test');
      if (c.workspace === 'backend/webadmin')
        await mariadb.query('CREATE DATABASE IF NOT EXISTS sf_image_webadmin');
      const image = assemble(c.dockerfile);
      const modules = path.join(image.dir, 'node_modules');
      // Dev tooling and other services' dependencies stay out of the image.
      for (const pkg of ['typescript', 'vitest', 'eslint', '@balena/compose', ...c.absent]) {
        expect(existsSync(path.join(modules, pkg)), `${pkg} in ${c.dockerfile}`).toBe(false);
      }
      expect(existsSync(path.join(image.dir, c.workspace, 'src')), 'TypeScript sources shipped').toBe(false);
      expect(existsSync(path.join(image.dir, c.workspace, 'dist/main.js'))).toBe(true);
      // The container's command runs the workspace with the same node flags as its start script.
      expect(image.command.at(-1)).toBe(`${c.workspace}/dist/main.js`);
      const flags = image.command.slice(image.command.indexOf('node') + 1, -1);
      expect(flags).toEqual(nodeFlagsOf(c.workspace as Parameters<typeof nodeFlagsOf>[0]));

      const service = await ImageService.start(image, {
        label: c.label,
        env: await c.env(),
        portVar: 'METRICS_PORT',
        log,
      });
      servers.push(service);
      const health = await expectHealthy(service);
      expect(health).toMatchObject({ ok: true });
      const metrics = await httpGet(service.healthUrl.replace('/health', '/metrics'));
      expect(metrics.body).toContain('sensorfleet_process_resident_memory_bytes');
      if (c.workspace === 'backend/webadmin') {
        // The browser bundle is in the image (built in its build stage) and served from it.
        expect(existsSync(path.join(image.dir, 'backend/webadmin/dist/public/app.css'))).toBe(true);
      }
      await service.stop();
    });
  }

  it('backend/mqttserver/Dockerfile: the provisioning CLI runs from the image with production dependencies only', () => {
    const image = assemble('backend/mqttserver/Dockerfile');
    for (const pkg of ['typescript', 'vitest', '@sensorfleet/tools', 'i2c-bus']) {
      expect(existsSync(path.join(image.dir, 'node_modules', pkg)), pkg).toBe(false);
    }
    // `device` in the container is this script: the CLI at /app with the container's paths.
    const wrapper = readFileSync(path.join(image.dir, '.image-root/usr/local/bin/device'), 'utf8');
    expect(wrapper).toContain('exec node /app/backend/mqttserver/dist/provisioning/main.js');
    expect(image.command).toEqual(['/usr/local/bin/mqttserver-entrypoint.sh']);
    const passwd = path.join(image.dir, 'passwd');
    writeFileSync(passwd, '');
    const out = execFileSync(process.execPath, ['backend/mqttserver/dist/provisioning/main.js', 'list'], {
      cwd: image.dir,
      encoding: 'utf8',
      env: { PATH: process.env.PATH, MOSQUITTO_PASSWORD_FILE: passwd, NODE_OPTIONS: '' },
    });
    expect(out).toMatch(/^ID\s+PASSWORD FILE/);
  });
});
