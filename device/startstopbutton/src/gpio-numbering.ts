import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Maps a BCM pin number (on Jetson: the line offset on the main GPIO controller) to the number the sysfs
 * GPIO interface expects.
 *
 * Since Linux 6.6 the Raspberry Pi kernels no longer put the SoC's GPIO controller at base 0: sysfs numbers
 * are `gpiochip base + line`, e.g. base 512 on a Pi 4 (BCM 17 → sysfs 529) and base 571 for the RP1 chip
 * on a Pi 5. Older kernels use base 0, where the sysfs number equals the BCM number. We therefore read
 * `gpiochipN/base`, `ngpio` and `label` and add the base of the SoC's main controller.
 */

export interface GpioChipInfo {
  /** Directory name, e.g. `gpiochip512`. */
  name: string;
  base: number;
  ngpio: number;
  label: string;
}

export interface ResolveSysfsGpioOptions {
  /** Where the sysfs GPIO class lives; default `/sys/class/gpio`. */
  sysfsRoot?: string;
  /** Use exactly the chip with this label instead of detecting the SoC's main controller. */
  chipLabel?: string;
}

export interface ResolvedSysfsGpio {
  sysfsNumber: number;
  chip: GpioChipInfo;
}

export const DEFAULT_SYSFS_GPIO_ROOT = '/sys/class/gpio';

/**
 * Labels of the main GPIO controllers whose lines are on the 40-pin header, best first. The RP1 comes
 * first because on a Pi 5 the BCM2712's own (non-header) chips have lower bases than the RP1 (571).
 * Not in this list on purpose: `raspberrypi-exp-gpio` (the firmware GPIO expander driving the LEDs on a
 * Pi 3/4) and the Jetson `*-aon` (always-on) controllers.
 */
export const KNOWN_MAIN_CHIP_LABELS: readonly string[] = [
  'pinctrl-rp1',
  'pinctrl-bcm2711',
  'pinctrl-bcm2835',
  'tegra234-gpio',
  'tegra194-gpio',
  'tegra186-gpio',
  'tegra-gpio',
];

export async function resolveSysfsGpio(
  bcm: number,
  opts: ResolveSysfsGpioOptions = {},
): Promise<ResolvedSysfsGpio> {
  const root = opts.sysfsRoot ?? DEFAULT_SYSFS_GPIO_ROOT;
  if (!Number.isInteger(bcm) || bcm < 0) {
    throw new Error(`GPIO line ${bcm} is not valid: expected a BCM pin number (an integer >= 0)`);
  }
  const chips = await listGpioChips(root);
  if (chips.length === 0) {
    throw new Error(
      `no GPIO chips found in ${root} (no readable gpiochip*/base, ngpio, label): ` +
        'the kernel exposes no sysfs GPIO controllers to this container; run it privileged: true ' +
        'or use the io.balena.features.sysfs label',
    );
  }
  const chip = chooseMainChip(chips, opts.chipLabel, root);
  if (bcm >= chip.ngpio) {
    throw new Error(
      `GPIO line ${bcm} is out of range for ${chip.name} ('${chip.label}', ${chip.ngpio} lines: ` +
        `0..${chip.ngpio - 1}); check BUTTON_GPIO / LED_GPIO (BCM numbering) or pick the chip with GPIO_CHIP_LABEL`,
    );
  }
  return { sysfsNumber: chip.base + bcm, chip };
}

/** Reads every `gpiochip*` directory under `root`, sorted by base. Unreadable chips are skipped. */
export async function listGpioChips(root: string = DEFAULT_SYSFS_GPIO_ROOT): Promise<GpioChipInfo[]> {
  let entries: string[];
  try {
    entries = await readdir(root);
  } catch (err) {
    throw sysfsRootError(root, err);
  }
  const chips: GpioChipInfo[] = [];
  for (const name of entries.filter((e) => /^gpiochip\d+$/.test(e)).sort()) {
    const chip = await readChip(root, name);
    if (chip) chips.push(chip);
  }
  return chips.sort((a, b) => a.base - b.base);
}

function chooseMainChip(chips: GpioChipInfo[], chipLabel: string | undefined, root: string): GpioChipInfo {
  const available = chips.map((c) => `${c.name} '${c.label}' (base ${c.base}, ${c.ngpio} lines)`).join(', ');
  if (chipLabel !== undefined && chipLabel !== '') {
    const match = chips.find((c) => c.label === chipLabel);
    if (!match) {
      throw new Error(`no GPIO chip labelled '${chipLabel}' in ${root}; available: ${available}`);
    }
    return match;
  }
  for (const label of KNOWN_MAIN_CHIP_LABELS) {
    const match = chips.find((c) => c.label === label);
    if (match) return match;
  }
  // Unknown board: the SoC's controller is normally registered first and so has the lowest base.
  const lowest = chips[0];
  if (!lowest) throw new Error(`no GPIO chips found in ${root}`);
  return lowest;
}

async function readChip(root: string, name: string): Promise<GpioChipInfo | undefined> {
  try {
    const dir = path.join(root, name);
    const [base, ngpio, label] = await Promise.all([
      readFile(path.join(dir, 'base'), 'utf8'),
      readFile(path.join(dir, 'ngpio'), 'utf8'),
      readFile(path.join(dir, 'label'), 'utf8'),
    ]);
    const chip = { name, base: Number(base.trim()), ngpio: Number(ngpio.trim()), label: label.trim() };
    if (!Number.isInteger(chip.base) || !Number.isInteger(chip.ngpio) || chip.base < 0 || chip.ngpio <= 0) {
      return undefined;
    }
    return chip;
  } catch {
    return undefined;
  }
}

function sysfsRootError(root: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') {
    return new Error(
      `${root} not found: the container needs the io.balena.features.sysfs label or privileged: true ` +
        '(and the kernel needs CONFIG_GPIO_SYSFS)',
      { cause: err },
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return new Error(`${root} is not readable (${code}): run the container privileged: true`, { cause: err });
  }
  return new Error(`cannot read ${root}: ${(err as Error).message}`, { cause: err });
}
