import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '@sensorfleet/shared';
import { ButtonService, type ButtonServiceConfig } from '../src/button-service.js';
import { FakeClock } from './support/fake-clock.js';
import { EmulatedGpioBoard } from './support/gpio-emulator.js';
import { MemoryMeasuringControl } from './support/memory-control.js';

const log = createLogger('test', 'silent', { pretty: false });
const CONFIG: ButtonServiceConfig = {
  BUTTON_DRIVER: 'gpio',
  BUTTON_GPIO: 17,
  BUTTON_ACTIVE_LOW: true,
  BUTTON_DEBOUNCE_MS: 0,
  LED_GPIO: 27,
  LED_ACTIVE_LOW: false,
  GPIO_CHIP_LABEL: undefined,
};

const cleanup: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A fake /sys/class/gpio of a Pi 4 on a 6.6 kernel (main chip at base 512). */
async function pi4Sysfs(): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'button-service-sysfs-'));
  cleanup.push(() => rm(root, { recursive: true, force: true }));
  const chip = path.join(root, 'gpiochip512');
  await mkdir(chip);
  await writeFile(path.join(chip, 'base'), '512\n');
  await writeFile(path.join(chip, 'ngpio'), '58\n');
  await writeFile(path.join(chip, 'label'), 'pinctrl-bcm2711\n');
  return root;
}

function service(
  config: Partial<ButtonServiceConfig>,
  opts: { sysfsRoot?: string; accessible?: boolean } = {},
) {
  const board = new EmulatedGpioBoard(new FakeClock());
  const control = new MemoryMeasuringControl();
  let loaded = false;
  const svc = new ButtonService({
    config: { ...CONFIG, ...config },
    control,
    log,
    sysfsRoot: opts.sysfsRoot,
    loadGpio: async () => {
      loaded = true;
      return { factory: board.factory, isAccessible: () => opts.accessible ?? true };
    },
  });
  cleanup.push(() => svc.stop());
  return { svc, board, control, loaded: () => loaded };
}

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

describe('ButtonService', () => {
  it('idles with BUTTON_DRIVER=none: no GPIO touched, status says disabled', async () => {
    const { svc, loaded } = service({ BUTTON_DRIVER: 'none' });
    await svc.start();
    expect(loaded()).toBe(false);
    expect(svc.status).toEqual({
      driver: 'none',
      state: 'disabled',
      presses: 0,
      toggles: 0,
      toggleErrors: 0,
    });
  });

  it('maps BCM to sysfs numbers, toggles measuring on a press and drives the LED', async () => {
    const { svc, board, control } = service({}, { sysfsRoot: await pi4Sysfs() });
    await svc.start();
    expect(svc.status).toMatchObject({
      state: 'ready',
      button: { bcm: 17, sysfs: 529, chip: 'pinctrl-bcm2711' },
      led: { bcm: 27, sysfs: 539 },
    });
    await board.line(529).press();
    await tick();
    await board.line(529).release();
    await tick();
    expect(control.history).toEqual([true]);
    expect(svc.status).toMatchObject({ presses: 1, toggles: 1, toggleErrors: 0 });
    await svc.stop();
    expect(board.line(529).exported).toBe(false);
    expect(board.line(539).exported).toBe(false);
  });

  it('counts a press whose toggle fails (Redis down) as a toggle error', async () => {
    const { svc, board, control } = service({ LED_GPIO: undefined }, { sysfsRoot: await pi4Sysfs() });
    await svc.start();
    control.failToggles = 1;
    await board.line(529).press();
    await tick();
    expect(svc.status).toMatchObject({ presses: 1, toggles: 0, toggleErrors: 1 });
  });

  it('refuses to start with a clear error when the GPIO is not accessible, releasing the LED', async () => {
    const root = await pi4Sysfs();
    const { svc, board } = service({}, { sysfsRoot: root, accessible: false });
    await expect(svc.start()).rejects.toThrow(/GPIO not accessible \(LED, sysfs GPIO 539\).*privileged/);
    const noLed = service({ LED_GPIO: undefined }, { sysfsRoot: root, accessible: false });
    await expect(noLed.svc.start()).rejects.toThrow(/GPIO not accessible \(button, sysfs GPIO 529\)/);
    expect(board.opened).toEqual([]);
    // the LED opened before the button failed is released again
    const busy = service({}, { sysfsRoot: root });
    busy.board.failExport(529, 'EBUSY');
    await expect(busy.svc.start()).rejects.toThrow(/already claimed/);
    expect(busy.board.line(539).exported).toBe(false);
  });

  it('refuses to start when there is no sysfs GPIO at all', async () => {
    const { svc } = service({}, { sysfsRoot: path.join(tmpdir(), 'no-such-gpio-root') });
    await expect(svc.start()).rejects.toThrow(
      /not found: the container needs the io.balena.features.sysfs label/,
    );
    expect(svc.status.state).toBe('stopped');
  });
});
