import type { Direction, Edge } from 'onoff';
import type { ButtonInput, StatusLed } from './button-driver.js';
import { systemClock, type Clock } from './clock.js';
import { gpioNotAccessible, gpioOpenError } from './gpio-access-error.js';

/**
 * ButtonInput and StatusLed over the sysfs GPIO interface, using `onoff`'s Gpio (one per line). Debouncing
 * is NOT done here (no onoff debounceTimeout): the pure Debouncer does it on the raw edges we forward.
 * A libgpiod driver can be added later next to this one, behind the same interfaces (button-driver.ts).
 */

/** The subset of onoff's `Gpio` used here; test/support/gpio-emulator.ts implements it too. */
export interface GpioLike {
  readSync(): 0 | 1;
  writeSync(value: 0 | 1): void;
  watch(callback: (err: Error | null | undefined, value: 0 | 1) => void): void;
  unwatchAll(): void;
  unexport(): void;
}

/** Creates (exports and configures) one sysfs GPIO; `new Gpio(...)` in production. May throw errno errors. */
export type GpioFactory = (sysfsNumber: number, direction: Direction, edge?: Edge) => GpioLike;

export interface OnoffGpio {
  factory: GpioFactory;
  /** onoff's `Gpio.accessible`: whether /sys/class/gpio/export can be opened for writing. */
  isAccessible: () => boolean;
}

/**
 * Loads onoff (and with it the native epoll addon) only when the gpio driver is actually used, so the
 * `none` driver and the tests never need it.
 */
export async function loadOnoffGpio(): Promise<OnoffGpio> {
  const { Gpio } = await import('onoff');
  return {
    // activeLow: false resets a polarity another program may have left on an already exported line, so
    // levels are physical; the Debouncer / OnoffStatusLed apply the polarity themselves.
    factory: (sysfsNumber, direction, edge) => new Gpio(sysfsNumber, direction, edge, { activeLow: false }),
    isAccessible: () => Gpio.accessible,
  };
}

interface LineOptions {
  /** The sysfs number (see resolveSysfsGpio — NOT the BCM number on kernels >= 6.6). */
  sysfsNumber: number;
  factory: GpioFactory;
  /** Checked before exporting; pass OnoffGpio.isAccessible in production. Skipped when absent. */
  isAccessible?: () => boolean;
}

export interface OnoffButtonInputOptions extends LineOptions {
  /** Timestamps for edges; default the system clock. */
  clock?: Pick<Clock, 'now'>;
  /** Errors reported by the poller for an edge, or while releasing the line. Default: ignored. */
  onError?: (err: Error) => void;
}

export class OnoffButtonInput implements ButtonInput {
  private gpio: GpioLike | undefined;
  private readonly clock: Pick<Clock, 'now'>;

  constructor(private readonly opts: OnoffButtonInputOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  async start(onEdge: (value: 0 | 1, atMs: number) => void): Promise<void> {
    if (this.gpio) throw new Error(`button GPIO ${this.opts.sysfsNumber} is already started`);
    const gpio = openLine(this.opts, 'in', 'both', 'button');
    try {
      gpio.watch((err, value) => {
        if (err) {
          this.opts.onError?.(err);
          return;
        }
        onEdge(value, this.clock.now());
      });
    } catch (err) {
      release(gpio);
      throw gpioOpenError(err, this.opts.sysfsNumber, 'button');
    }
    this.gpio = gpio;
  }

  async stop(): Promise<void> {
    const gpio = this.gpio;
    this.gpio = undefined;
    if (!gpio) return;
    try {
      gpio.unwatchAll();
    } catch (err) {
      this.opts.onError?.(err as Error);
    }
    try {
      gpio.unexport();
    } catch (err) {
      this.opts.onError?.(err as Error);
    }
  }
}

export interface OnoffStatusLedOptions extends LineOptions {
  /** The LED lights when the pin is LOW (LED from 3V3 to the pin); default false (pin → resistor → LED → GND). */
  activeLow?: boolean;
}

export class OnoffStatusLed implements StatusLed {
  private gpio: GpioLike | undefined;
  private readonly activeLow: boolean;

  private constructor(gpio: GpioLike, activeLow: boolean) {
    this.gpio = gpio;
    this.activeLow = activeLow;
  }

  /** Exports the line as an output that starts with the LED off (no glitch). Throws GpioAccessError. */
  static async open(opts: OnoffStatusLedOptions): Promise<OnoffStatusLed> {
    const activeLow = opts.activeLow ?? false;
    return new OnoffStatusLed(openLine(opts, activeLow ? 'high' : 'low', undefined, 'LED'), activeLow);
  }

  /** No-op once closed (a late refresh after stop must not relight it). */
  async set(on: boolean): Promise<void> {
    this.gpio?.writeSync(on !== this.activeLow ? 1 : 0);
  }

  async close(): Promise<void> {
    const gpio = this.gpio;
    if (!gpio) return;
    try {
      gpio.writeSync(this.activeLow ? 1 : 0);
    } finally {
      this.gpio = undefined;
      release(gpio);
    }
  }
}

function openLine(
  opts: LineOptions,
  direction: Direction,
  edge: Edge | undefined,
  purpose: 'button' | 'LED',
): GpioLike {
  if (opts.isAccessible && !opts.isAccessible()) throw gpioNotAccessible(opts.sysfsNumber, purpose);
  try {
    return edge === undefined
      ? opts.factory(opts.sysfsNumber, direction)
      : opts.factory(opts.sysfsNumber, direction, edge);
  } catch (err) {
    throw gpioOpenError(err, opts.sysfsNumber, purpose);
  }
}

function release(gpio: GpioLike): void {
  try {
    gpio.unexport();
  } catch {
    // best effort: the line is being abandoned anyway
  }
}
