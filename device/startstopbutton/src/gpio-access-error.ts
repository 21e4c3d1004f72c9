/**
 * Turns the errno of a failed sysfs GPIO export / open into an error that says what to change.
 */

export type GpioPurpose = 'button' | 'LED';

export class GpioAccessError extends Error {
  readonly code: string | undefined;
  readonly sysfsNumber: number;

  constructor(message: string, sysfsNumber: number, code: string | undefined, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'GpioAccessError';
    this.code = code;
    this.sysfsNumber = sysfsNumber;
  }
}

const PRIVILEGED_HINT =
  'run the container privileged (balena: privileged: true; the io.balena.features.sysfs label alone only ' +
  'mounts /sys read-only)';

/** Error for `Gpio.accessible === false` (the export file cannot be opened for writing). */
export function gpioNotAccessible(sysfsNumber: number, purpose: GpioPurpose): GpioAccessError {
  return new GpioAccessError(
    `GPIO not accessible (${purpose}, sysfs GPIO ${sysfsNumber}): /sys/class/gpio/export is missing or ` +
      `not writable; ${PRIVILEGED_HINT}, or the GPIO is unmapped on this board (no sysfs GPIO support)`,
    sysfsNumber,
    undefined,
  );
}

/** Wraps an error thrown while exporting / configuring / opening a sysfs GPIO. */
export function gpioOpenError(err: unknown, sysfsNumber: number, purpose: GpioPurpose): GpioAccessError {
  if (err instanceof GpioAccessError) return err;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const detail = err instanceof Error ? err.message : String(err);
  const what = `GPIO not accessible (${purpose}, sysfs GPIO ${sysfsNumber}, ${code ?? 'error'}: ${detail})`;
  let hint: string;
  switch (code) {
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      hint = `permission denied writing /sys/class/gpio: ${PRIVILEGED_HINT}`;
      break;
    case 'ENOENT':
      hint =
        `/sys/class/gpio or the exported gpio${sysfsNumber} is missing: ${PRIVILEGED_HINT}, or the GPIO is ` +
        'unmapped on this board';
      break;
    case 'EBUSY':
      hint =
        'the line is already claimed by a kernel driver (device-tree overlay, e.g. gpio-key/LED/1-wire) or ' +
        'another process (libgpiod, another container): pick a free pin or release it';
      break;
    case 'EINVAL':
      hint =
        'the kernel rejected the GPIO number: it does not exist or is unmapped. On kernels >= 6.6 sysfs ' +
        'numbers are gpiochip base + BCM (e.g. 512 + 17 = 529); check BUTTON_GPIO / LED_GPIO / GPIO_CHIP_LABEL';
      break;
    default:
      hint = `${PRIVILEGED_HINT}, or check that the GPIO is mapped on this board`;
  }
  return new GpioAccessError(`${what}: ${hint}`, sysfsNumber, code, err);
}
