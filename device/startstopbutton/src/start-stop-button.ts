import type { Logger } from 'pino';
import type { ButtonInput, StatusLed } from './button-driver.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { Debouncer, type ButtonEvent, type DebouncerOptions, type RawLevel } from './debouncer.js';
import { ledLevel, type LedState } from './led-pattern.js';

/** Measuring on/off as stored in the device's Redis; the service's main wires the Redis implementation. */
export interface MeasuringControl {
  /** Flips measuring and returns the new state. */
  toggle(source: 'button'): Promise<{ running: boolean }>;
  /** The current state; `backlog` = readings not yet acknowledged by the backend. */
  current(): Promise<{ running: boolean; backlog: number }>;
}

export type ButtonLog = Pick<Logger, 'info' | 'warn' | 'error' | 'debug'>;

export interface StartStopButtonOptions {
  input: ButtonInput;
  debounce?: DebouncerOptions;
  control: MeasuringControl;
  led?: StatusLed;
  /** Default: the system clock. */
  clock?: Clock;
  log: ButtonLog;
  /** How often the LED is refreshed from `control.current()`; default 500 ms. */
  ledRefreshMs?: number;
  /** How long stop() waits for queued toggles to finish; default 5000 ms. */
  stopDrainMs?: number;
}

export const DEFAULT_LED_REFRESH_MS = 500;
export const DEFAULT_STOP_DRAIN_MS = 5000;

/**
 * Raw edges → Debouncer → one `control.toggle('button')` per press, run strictly one after another (presses
 * during a toggle are queued, never dropped, never concurrent). Failures (e.g. Redis down) are logged and
 * counted, never thrown. The optional LED follows `control.current()` (see led-pattern.ts).
 *
 * Single use: start() once, stop() once; stop() releases the input line and closes the LED.
 */
export class StartStopButton {
  private readonly input: ButtonInput;
  private readonly control: MeasuringControl;
  private readonly led: StatusLed | undefined;
  private readonly clock: Clock;
  private readonly log: ButtonLog;
  private readonly debouncer: Debouncer;
  private readonly ledRefreshMs: number;
  private readonly stopDrainMs: number;

  private phase: 'new' | 'starting' | 'started' | 'stopped' = 'new';
  private settleTimer: TimerHandle | undefined;
  private ledTimer: TimerHandle | undefined;
  private queue: Promise<void> = Promise.resolve();
  private queued = 0;
  private _presses = 0;
  private _toggles = 0;
  private _toggleErrors = 0;

  // LED refresh bookkeeping
  private ledTicks = 0;
  private refreshSeq = 0;
  private refreshesInFlight = 0;
  private ledOn: boolean | undefined;
  private stateReadFailing = false;
  private ledWriteFailing = false;

  constructor(opts: StartStopButtonOptions) {
    this.input = opts.input;
    this.control = opts.control;
    this.led = opts.led;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log;
    this.debouncer = new Debouncer(opts.debounce);
    this.ledRefreshMs = opts.ledRefreshMs ?? DEFAULT_LED_REFRESH_MS;
    this.stopDrainMs = opts.stopDrainMs ?? DEFAULT_STOP_DRAIN_MS;
    if (!(this.ledRefreshMs > 0)) throw new RangeError(`ledRefreshMs must be > 0, got ${this.ledRefreshMs}`);
  }

  /** Debounced presses seen. */
  get presses(): number {
    return this._presses;
  }

  /** Toggles that succeeded. */
  get toggles(): number {
    return this._toggles;
  }

  /** Toggles that failed (logged with their error). */
  get toggleErrors(): number {
    return this._toggleErrors;
  }

  /** Presses whose toggle is queued or in flight. */
  get pendingToggles(): number {
    return this.queued;
  }

  /** Resolves once every press seen so far has been handled (toggled or failed). Never rejects. */
  whenIdle(): Promise<void> {
    return this.queue;
  }

  /** Starts watching the input (rejects if the line cannot be opened) and, with an LED, its refresh. */
  async start(): Promise<void> {
    if (this.phase !== 'new') throw new Error(`StartStopButton cannot start: it is ${this.phase}`);
    this.phase = 'starting';
    try {
      await this.input.start((value, atMs) => this.onEdge(value, atMs));
    } catch (err) {
      this.phase = 'stopped';
      throw err;
    }
    if (this.phase !== 'starting') {
      // stop() ran while the input was starting: release what start() just opened.
      await this.input
        .stop()
        .catch((err: unknown) => this.log.warn({ err }, 'stopping the button input failed'));
      return;
    }
    this.phase = 'started';
    if (this.led) {
      this.ledTimer = this.clock.setInterval(() => this.onLedTick(), this.ledRefreshMs);
      void this.refreshLed();
    }
    this.log.info(
      { debounceMs: this.debouncer.debounceMs, activeLevel: this.debouncer.activeLevel, led: !!this.led },
      'start/stop button ready',
    );
  }

  /**
   * Stops the input and timers, waits (up to stopDrainMs) for queued toggles, then switches the LED off and
   * closes it. Never throws.
   */
  async stop(): Promise<void> {
    if (this.phase === 'stopped') return;
    // While 'starting', start() itself releases the input once it has been opened.
    const inputOpen = this.phase === 'started';
    this.phase = 'stopped';
    this.clearTimer('settle');
    this.clearTimer('led');
    if (inputOpen) {
      try {
        await this.input.stop();
      } catch (err) {
        this.log.warn({ err }, 'stopping the button input failed');
      }
    }
    await this.drain();
    if (this.led) {
      try {
        await this.led.set(false);
        await this.led.close();
      } catch (err) {
        this.log.warn({ err }, 'switching the status LED off failed');
      }
    }
    this.log.info(
      { presses: this._presses, toggles: this._toggles, toggleErrors: this._toggleErrors },
      'start/stop button stopped',
    );
  }

  private onEdge(value: RawLevel, atMs: number): void {
    if (this.phase !== 'started') return;
    this.log.debug({ value, atMs }, 'button edge');
    this.handle(this.debouncer.input(value, atMs));
    this.scheduleSettle();
  }

  /** Arms one timer for the debouncer's deadline (re-armed on every edge, and if it fires early). */
  private scheduleSettle(): void {
    this.clearTimer('settle');
    const due = this.debouncer.deadline();
    if (due === undefined) return;
    const waitMs = Math.max(0, Math.ceil(due - this.clock.now()));
    this.settleTimer = this.clock.setTimeout(() => {
      this.settleTimer = undefined;
      if (this.phase !== 'started') return;
      this.handle(this.debouncer.poll(this.clock.now()));
      this.scheduleSettle();
    }, waitMs);
  }

  private handle(event: ButtonEvent | undefined): void {
    if (event === 'release') {
      this.log.debug('button released');
    } else if (event === 'press') {
      this._presses++;
      this.queued++;
      this.log.info({ presses: this._presses, queued: this.queued }, 'button pressed');
      this.queue = this.queue.then(() => this.runToggle());
    }
  }

  /** One toggle; never rejects, so the queue keeps going after a failure. */
  private async runToggle(): Promise<void> {
    try {
      const { running } = await this.control.toggle('button');
      this._toggles++;
      this.log.info(
        { running, source: 'button' },
        running ? 'measuring started by button' : 'measuring stopped by button',
      );
    } catch (err) {
      this._toggleErrors++;
      this.log.error(
        { err, toggleErrors: this._toggleErrors },
        'toggling measuring failed (is Redis reachable?); the press was not applied',
      );
    } finally {
      this.queued--;
    }
    if (this.led && this.phase === 'started') void this.refreshLed();
  }

  private async drain(): Promise<void> {
    if (this.queued === 0) return;
    let timer: TimerHandle | undefined;
    const timedOut = new Promise<boolean>((resolve) => {
      timer = this.clock.setTimeout(() => resolve(true), this.stopDrainMs);
    });
    const gaveUp = await Promise.race([this.queue.then(() => false), timedOut]);
    this.clock.clearTimeout(timer);
    if (gaveUp) {
      this.log.warn(
        { pendingToggles: this.queued, waitedMs: this.stopDrainMs },
        'stopping with button presses still pending',
      );
    }
  }

  private onLedTick(): void {
    this.ledTicks++;
    // Don't pile up reads while Redis hangs; a toggle's refresh still goes through.
    if (this.refreshesInFlight > 0) return;
    void this.refreshLed();
  }

  /**
   * Reads the state and sets the LED. Blink phase comes from the tick count (ticks × ledRefreshMs), so a
   * 500 ms refresh alternates exactly at 1 Hz regardless of timer jitter. Only the newest refresh applies.
   */
  private async refreshLed(): Promise<void> {
    const led = this.led;
    if (!led) return;
    const seq = ++this.refreshSeq;
    this.refreshesInFlight++;
    let state: LedState;
    try {
      state = await this.control.current();
      if (this.stateReadFailing) {
        this.stateReadFailing = false;
        this.log.info('status LED: measuring state readable again');
      }
    } catch (err) {
      if (!this.stateReadFailing) {
        this.stateReadFailing = true;
        this.log.warn({ err }, 'status LED: cannot read the measuring state; the LED keeps its last state');
      }
      return;
    } finally {
      this.refreshesInFlight--;
    }
    if (seq !== this.refreshSeq || this.phase !== 'started') return;
    const on = ledLevel(state, this.ledTicks * this.ledRefreshMs);
    if (on === this.ledOn) return;
    try {
      await led.set(on);
      this.ledOn = on;
      this.ledWriteFailing = false;
    } catch (err) {
      this.ledOn = undefined;
      if (!this.ledWriteFailing) {
        this.ledWriteFailing = true;
        this.log.warn({ err }, 'status LED: setting the LED failed');
      }
    }
  }

  private clearTimer(which: 'settle' | 'led'): void {
    if (which === 'settle' && this.settleTimer !== undefined) {
      this.clock.clearTimeout(this.settleTimer);
      this.settleTimer = undefined;
    }
    if (which === 'led' && this.ledTimer !== undefined) {
      this.clock.clearInterval(this.ledTimer);
      this.ledTimer = undefined;
    }
  }
}
