import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { listGpioChips, resolveSysfsGpio } from '../src/gpio-numbering.js';

type FakeChip = [base: number, ngpio: number, label: string];

const roots: string[] = [];

/** Builds a fake /sys/class/gpio with export/unexport files and one gpiochipN dir per chip. */
async function fakeSysfs(chips: FakeChip[]): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'fake-sysfs-gpio-'));
  roots.push(root);
  await writeFile(path.join(root, 'export'), '');
  await writeFile(path.join(root, 'unexport'), '');
  for (const [base, ngpio, label] of chips) {
    const dir = path.join(root, `gpiochip${base}`);
    await mkdir(dir);
    await writeFile(path.join(dir, 'base'), `${base}\n`);
    await writeFile(path.join(dir, 'ngpio'), `${ngpio}\n`);
    await writeFile(path.join(dir, 'label'), `${label}\n`);
  }
  return root;
}

afterEach(async () => {
  await Promise.all(roots.splice(0).map((r) => rm(r, { recursive: true, force: true })));
});

const PI4_KERNEL_6_6: FakeChip[] = [
  [512, 58, 'pinctrl-bcm2711'],
  [570, 8, 'raspberrypi-exp-gpio'],
];
const PI5: FakeChip[] = [
  [512, 32, 'gpio-brcmstb@107d508500'],
  [544, 4, 'gpio-brcmstb@107d508520'],
  [548, 17, 'gpio-brcmstb@107d517c00'],
  [565, 6, 'gpio-brcmstb@107d517c20'],
  [571, 54, 'pinctrl-rp1'],
];
const PI3_OLD_KERNEL: FakeChip[] = [
  [0, 54, 'pinctrl-bcm2835'],
  [504, 8, 'raspberrypi-exp-gpio'],
];

describe('resolveSysfsGpio', () => {
  it('Pi 4 on kernel >= 6.6: BCM 17 is sysfs 529 on pinctrl-bcm2711, not the expander', async () => {
    const root = await fakeSysfs(PI4_KERNEL_6_6);
    await expect(resolveSysfsGpio(17, { sysfsRoot: root })).resolves.toEqual({
      sysfsNumber: 529,
      chip: { name: 'gpiochip512', base: 512, ngpio: 58, label: 'pinctrl-bcm2711' },
    });
  });

  it('Pi 5: uses the RP1 (base 571) although the BCM2712 chips have lower bases', async () => {
    const root = await fakeSysfs(PI5);
    const r = await resolveSysfsGpio(17, { sysfsRoot: root });
    expect(r.sysfsNumber).toBe(588);
    expect(r.chip.label).toBe('pinctrl-rp1');
  });

  it('old kernel (base 0): the sysfs number is the BCM number', async () => {
    const root = await fakeSysfs(PI3_OLD_KERNEL);
    const r = await resolveSysfsGpio(17, { sysfsRoot: root });
    expect(r).toEqual({
      sysfsNumber: 17,
      chip: { name: 'gpiochip0', base: 0, ngpio: 54, label: 'pinctrl-bcm2835' },
    });
  });

  it('Jetson Orin: the main tegra234-gpio controller, not the always-on one', async () => {
    const root = await fakeSysfs([
      [316, 32, 'tegra234-gpio-aon'],
      [348, 164, 'tegra234-gpio'],
    ]);
    const r = await resolveSysfsGpio(43, { sysfsRoot: root });
    expect(r.sysfsNumber).toBe(391);
    expect(r.chip.label).toBe('tegra234-gpio');
  });

  it('Jetson Nano: tegra-gpio', async () => {
    const root = await fakeSysfs([
      [0, 256, 'tegra-gpio'],
      [504, 8, 'max77620-gpio'],
    ]);
    const r = await resolveSysfsGpio(79, { sysfsRoot: root });
    expect(r.sysfsNumber).toBe(79);
    expect(r.chip.name).toBe('gpiochip0');
  });

  it('unknown board: falls back to the chip with the lowest base', async () => {
    const root = await fakeSysfs([
      [600, 16, 'some-expander'],
      [400, 32, 'vendor-soc-gpio'],
    ]);
    const r = await resolveSysfsGpio(5, { sysfsRoot: root });
    expect(r.sysfsNumber).toBe(405);
    expect(r.chip.label).toBe('vendor-soc-gpio');
  });

  it('an explicit chipLabel is matched exactly', async () => {
    const root = await fakeSysfs(PI4_KERNEL_6_6);
    const r = await resolveSysfsGpio(2, { sysfsRoot: root, chipLabel: 'raspberrypi-exp-gpio' });
    expect(r.sysfsNumber).toBe(572);
    await expect(resolveSysfsGpio(2, { sysfsRoot: root, chipLabel: 'pinctrl-bcm' })).rejects.toThrow(
      /no GPIO chip labelled 'pinctrl-bcm'.*available: gpiochip512 'pinctrl-bcm2711'.*raspberrypi-exp-gpio/,
    );
  });

  it('rejects a line beyond the chip with the range in the message', async () => {
    const root = await fakeSysfs(PI4_KERNEL_6_6);
    await expect(resolveSysfsGpio(57, { sysfsRoot: root })).resolves.toMatchObject({ sysfsNumber: 569 });
    await expect(resolveSysfsGpio(58, { sysfsRoot: root })).rejects.toThrow(
      /GPIO line 58 is out of range for gpiochip512 \('pinctrl-bcm2711', 58 lines: 0\.\.57\)/,
    );
  });

  it('rejects negative or fractional numbers', async () => {
    const root = await fakeSysfs(PI4_KERNEL_6_6);
    await expect(resolveSysfsGpio(-1, { sysfsRoot: root })).rejects.toThrow(/not valid/);
    await expect(resolveSysfsGpio(1.5, { sysfsRoot: root })).rejects.toThrow(/not valid/);
  });

  it('no chips: says so and how to fix it', async () => {
    const root = await fakeSysfs([]);
    await expect(resolveSysfsGpio(17, { sysfsRoot: root })).rejects.toThrow(
      /no GPIO chips found in .*privileged/,
    );
  });

  it('missing sysfs dir: names the balena label and privileged mode', async () => {
    const root = path.join(await fakeSysfs([]), 'class', 'gpio');
    await expect(resolveSysfsGpio(17, { sysfsRoot: root })).rejects.toThrow(
      `${root} not found: the container needs the io.balena.features.sysfs label or privileged: true`,
    );
  });

  it('skips unreadable or malformed chips', async () => {
    const root = await fakeSysfs(PI4_KERNEL_6_6);
    await mkdir(path.join(root, 'gpiochip999'));
    await writeFile(path.join(root, 'gpiochip999', 'base'), 'garbage');
    const chips = await listGpioChips(root);
    expect(chips.map((c) => c.name)).toEqual(['gpiochip512', 'gpiochip570']);
  });
});
