import type { Direction, Edge } from 'onoff';
import type { GpioFactory, GpioLike } from '../../src/onoff-driver.js';

/** What the emulator needs from the test clock. */
export interface EmulatorClock {
  now(): number;
  advance(ms: number): Promise<void>;
}

export interface BounceOptions {
  /** Extra away-and-back glitches before the line settles; default 0 (a clean edge). */
  bounces?: number;
  /** Time between consecutive glitch edges; default 1 ms. */
  bounceIntervalMs?: number;
}

type WatchCallback = (err: Error | null | undefined, value: 0 | 1) => void;

/**
 * One emulated sysfs GPIO line implementing the GpioLike subset of onoff's Gpio. Inputs model a button to
 * GND with a pull-up by default (idle 1, pressed 0); outputs (e.g. an LED) record every write.
 */
export class GpioEmulator implements GpioLike {
  readonly writes: { atMs: number; value: 0 | 1 }[] = [];
  exported = true;
  private value: 0 | 1;
  private listeners: WatchCallback[] = [];
  private readonly activeLevel: 0 | 1;

  constructor(
    private readonly clock: EmulatorClock,
    readonly sysfsNumber: number,
    readonly direction: Direction,
    readonly edge: Edge = 'none',
    opts: { activeLow?: boolean } = {},
  ) {
    this.activeLevel = (opts.activeLow ?? true) ? 0 : 1;
    this.value = direction === 'high' ? 1 : direction === 'low' ? 0 : this.inactiveLevel;
  }

  // --- GpioLike --------------------------------------------------------------------------------------

  readSync(): 0 | 1 {
    this.assertExported();
    return this.value;
  }

  writeSync(value: 0 | 1): void {
    this.assertExported();
    if (this.direction === 'in')
      throw Object.assign(new Error('EPERM: write to an input'), { code: 'EPERM' });
    this.value = value;
    this.writes.push({ atMs: this.clock.now(), value });
  }

  watch(callback: WatchCallback): void {
    this.assertExported();
    this.listeners.push(callback);
  }

  unwatchAll(): void {
    this.listeners = [];
  }

  unexport(): void {
    this.assertExported();
    this.listeners = [];
    this.exported = false;
  }

  // --- test API --------------------------------------------------------------------------------------

  get level(): 0 | 1 {
    return this.value;
  }

  get watching(): boolean {
    return this.listeners.length > 0;
  }

  /** The written levels, in order. */
  get levels(): (0 | 1)[] {
    return this.writes.map((w) => w.value);
  }

  /** Drives an input line to `value`, firing watch callbacks as the configured edge dictates. */
  setLevel(value: 0 | 1): void {
    if (value === this.value) return;
    this.value = value;
    const fires =
      this.edge === 'both' || (this.edge === 'rising' ? value === 1 : this.edge === 'falling' && value === 0);
    if (!fires || !this.exported) return;
    for (const listener of this.listeners.slice()) listener(null, value);
  }

  /** Reports a poller error to the watchers (onoff passes epoll errors this way). */
  emitError(err: Error): void {
    for (const listener of this.listeners.slice()) listener(err, this.value);
  }

  /** Presses the button: to the active level, then `bounces` away-and-back glitches (1 + 2·bounces edges). */
  press(opts: BounceOptions = {}): Promise<void> {
    return this.settleTo(this.activeLevel, opts);
  }

  /** Releases the button, with the same bounce model as press(). */
  release(opts: BounceOptions = {}): Promise<void> {
    return this.settleTo(this.inactiveLevel, opts);
  }

  private get inactiveLevel(): 0 | 1 {
    return this.activeLevel === 0 ? 1 : 0;
  }

  private async settleTo(target: 0 | 1, opts: BounceOptions): Promise<void> {
    const bounces = opts.bounces ?? 0;
    const intervalMs = opts.bounceIntervalMs ?? 1;
    this.setLevel(target);
    for (let i = 0; i < bounces; i++) {
      await this.clock.advance(intervalMs);
      this.setLevel(target === 0 ? 1 : 0);
      await this.clock.advance(intervalMs);
      this.setLevel(target);
    }
  }

  private assertExported(): void {
    if (!this.exported) throw new Error(`gpio${this.sysfsNumber} is not exported`);
  }
}

/** An emulated /sys/class/gpio: hands out GpioEmulator lines through a GpioFactory. */
export class EmulatedGpioBoard {
  readonly lines = new Map<number, GpioEmulator>();
  readonly opened: { sysfsNumber: number; direction: Direction; edge: Edge | undefined }[] = [];
  private readonly exportFailures = new Map<number, string>();

  constructor(
    private readonly clock: EmulatorClock,
    private readonly opts: { activeLow?: boolean } = {},
  ) {}

  readonly factory: GpioFactory = (sysfsNumber, direction, edge) => {
    this.opened.push({ sysfsNumber, direction, edge });
    const code = this.exportFailures.get(sysfsNumber);
    if (code !== undefined) {
      throw Object.assign(new Error(`${code}: write /sys/class/gpio/export`), { code, errno: -1 });
    }
    if (this.lines.get(sysfsNumber)?.exported) {
      throw Object.assign(new Error('EBUSY: resource busy'), { code: 'EBUSY' });
    }
    const line = new GpioEmulator(this.clock, sysfsNumber, direction, edge, this.opts);
    this.lines.set(sysfsNumber, line);
    return line;
  };

  /** Makes exporting this line fail with an errno code (EACCES, ENOENT, EBUSY, EINVAL, …). */
  failExport(sysfsNumber: number, code: string): void {
    this.exportFailures.set(sysfsNumber, code);
  }

  line(sysfsNumber: number): GpioEmulator {
    const line = this.lines.get(sysfsNumber);
    if (!line) throw new Error(`gpio${sysfsNumber} was never opened`);
    return line;
  }
}
