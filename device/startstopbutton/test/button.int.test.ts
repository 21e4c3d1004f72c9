import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger, MeasuringStateStore, OutboxStore } from '@sensorfleet/shared';
import {
  DeviceRig,
  freePort,
  httpGet,
  NodeService,
  RedisServer,
  REPO_ROOT,
  sleep,
  waitFor,
} from '@sensorfleet/tools/harness';
import { ButtonService } from '../src/button-service.js';
import { RedisMeasuringControl } from '../src/redis-measuring-control.js';
import { FakeClock } from './support/fake-clock.js';
import { EmulatedGpioBoard } from './support/gpio-emulator.js';

/**
 * The start/stop button service: as a process (disabled, or refusing to run without GPIO access), and with
 * emulated GPIO lines against real Redis and the real sensor process.
 */
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn().catch(() => {});
});

/** Runs the service's main.js to its exit; returns its exit code and everything it wrote. */
function runToExit(
  env: Record<string, string>,
  timeoutMs = 15_000,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'device/startstopbutton/dist/main.js')], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`startstopbutton did not exit within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('startstopbutton service', () => {
  it('idles with BUTTON_DRIVER=none: healthy, says disabled, serves metrics, stops on SIGTERM', async () => {
    const svc = await NodeService.start('device/startstopbutton', {
      env: { BUTTON_DRIVER: 'none', LOG_LEVEL: 'warn', REDIS_URL: 'redis://127.0.0.1:1' }, // Redis not needed
    });
    cleanup.push(() => svc.stop());
    const health = await httpGet(svc.healthUrl);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({
      ok: true,
      checks: { button: { ok: true, detail: { driver: 'none', state: 'disabled' } } },
    });
    const metrics = await httpGet(`http://127.0.0.1:${svc.port}/metrics`);
    for (const name of ['presses', 'toggles', 'toggle_errors']) {
      expect(metrics.body).toMatch(
        new RegExp(`^sensorfleet_button_${name}_total\\{service="startstopbutton"\\} 0$`, 'm'),
      );
    }
    const started = Date.now();
    await svc.stop(); // SIGTERM, waits for the exit
    expect(Date.now() - started).toBeLessThan(5000);
    expect(svc.running).toBe(false);
  });

  it('exits non-zero with a clear error when the GPIO is not accessible', async () => {
    const redis = await RedisServer.start();
    cleanup.push(() => redis.destroy());
    const { code, output } = await runToExit({
      BUTTON_DRIVER: 'gpio',
      BUTTON_GPIO: '17',
      REDIS_URL: redis.url,
      METRICS_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
    });
    expect(code).not.toBe(0);
    // this machine has no /sys/class/gpio (a container without the sysfs label / privileged)
    expect(output).toMatch(/GPIO not accessible: .*\/sys\/class\/gpio/);
    expect(output).toMatch(/privileged|io\.balena\.features\.sysfs/);
  });

  it('names the bad variable and exits 1 on an invalid configuration', async () => {
    const { code, output } = await runToExit({ BUTTON_DRIVER: 'gpio', BUTTON_GPIO: 'seventeen' });
    expect(code).toBe(1);
    expect(output).toMatch(/BUTTON_GPIO: must be an integer/);
  });

  it('a press on the (emulated) button stops the real sensor process within one interval, another starts it', async () => {
    const rig = await DeviceRig.start({ backend: false, sensor: { SENSOR_INTERVAL_MS: '500' } });
    cleanup.push(() => rig.close());
    const root = await mkdtemp(path.join(tmpdir(), 'button-sysfs-'));
    cleanup.push(() => rm(root, { recursive: true, force: true }));
    await mkdir(path.join(root, 'gpiochip512'));
    await writeFile(path.join(root, 'gpiochip512/base'), '512\n');
    await writeFile(path.join(root, 'gpiochip512/ngpio'), '58\n');
    await writeFile(path.join(root, 'gpiochip512/label'), 'pinctrl-bcm2711\n');
    const board = new EmulatedGpioBoard(new FakeClock());
    const button = new ButtonService({
      config: {
        BUTTON_DRIVER: 'gpio',
        BUTTON_GPIO: 17,
        BUTTON_ACTIVE_LOW: true,
        BUTTON_DEBOUNCE_MS: 20,
        LED_GPIO: 27,
        LED_ACTIVE_LOW: false,
        GPIO_CHIP_LABEL: undefined,
      },
      control: new RedisMeasuringControl(
        new MeasuringStateStore(rig.redis, { running: true, intervalMs: 1000 }),
        new OutboxStore(rig.redis),
      ),
      log: createLogger('test', 'silent', { pretty: false }),
      loadGpio: async () => ({ factory: board.factory, isAccessible: () => true }),
      sysfsRoot: root,
    });
    await button.start();
    cleanup.push(() => button.stop());
    const line = board.line(529);
    const click = async () => {
      await line.press();
      await sleep(80);
      await line.release();
      await sleep(80);
    };

    await waitFor('readings', 10_000, async () => ((await rig.outbox.lastSeq()) >= 2 ? true : 'measuring'));
    await click();
    expect(await rig.measuring.get()).toMatchObject({ running: false, updatedBy: 'button' });
    const stoppedAt = Date.now();
    await sleep(1200);
    const newest = await rig.outbox.readRange((await rig.outbox.lastSeq()) - 1, '+', 1);
    expect(Date.parse(newest[0]!.ts)).toBeLessThanOrEqual(stoppedAt + 500);

    const lastBefore = await rig.outbox.lastSeq();
    await click();
    expect((await rig.measuring.get()).running).toBe(true);
    await waitFor('a reading within one interval of the press', 500, async () =>
      (await rig.outbox.lastSeq()) > lastBefore ? true : 'stopped',
    );
    expect(button.status).toMatchObject({ presses: 2, toggles: 2, toggleErrors: 0 });
    // LED: readings are waiting (no backend acks them), so it blinks
    await sleep(1200);
    const levels = board.line(539).levels;
    expect(levels.filter((l) => l === 1).length).toBeGreaterThanOrEqual(1);
    expect(levels.filter((l) => l === 0).length).toBeGreaterThanOrEqual(1);
  });
});
