import { describe, expect, it } from 'vitest';
import type { ButtonInput } from '../src/button-driver.js';
import { GpioAccessError } from '../src/gpio-access-error.js';
import { OnoffButtonInput, OnoffStatusLed } from '../src/onoff-driver.js';
import { StartStopButton } from '../src/start-stop-button.js';
import { FakeClock } from './support/fake-clock.js';
import { EmulatedGpioBoard } from './support/gpio-emulator.js';
import { MemoryMeasuringControl } from './support/memory-control.js';
import { createTestLog } from './support/test-log.js';

const BUTTON = 529; // BCM 17 on a Pi 4 with kernel >= 6.6
const LED = 539; // BCM 27

/** Emulated board → onoff driver → debouncer → StartStopButton → in-memory control. */
async function rig(opts: { led?: boolean } = {}) {
  const clock = new FakeClock();
  const board = new EmulatedGpioBoard(clock);
  const control = new MemoryMeasuringControl((ms) => new Promise((resolve) => clock.setTimeout(resolve, ms)));
  const { log, entries } = createTestLog();
  const input = new OnoffButtonInput({
    sysfsNumber: BUTTON,
    factory: board.factory,
    clock,
    isAccessible: () => true,
  });
  const led =
    opts.led === false ? undefined : await OnoffStatusLed.open({ sysfsNumber: LED, factory: board.factory });
  const button = new StartStopButton({
    input,
    control,
    led,
    clock,
    log,
    debounce: { debounceMs: 50, activeLow: true },
  });
  await button.start();
  await clock.advance(0);
  const btn = board.line(BUTTON);
  /** A realistic bouncy click: press, hold 120 ms, release, then let it settle. */
  const click = async (): Promise<void> => {
    await btn.press({ bounces: 5, bounceIntervalMs: 0.5 });
    await clock.advance(120);
    await btn.release({ bounces: 3, bounceIntervalMs: 0.7 });
    await clock.advance(80);
  };
  return {
    clock,
    board,
    control,
    log,
    entries,
    button,
    btn,
    click,
    ledLine: opts.led === false ? undefined : board.line(LED),
  };
}

describe('StartStopButton end to end (emulated GPIO + onoff driver + debouncer)', () => {
  it('one bouncy press toggles exactly once; its bouncy release does nothing', async () => {
    const { clock, control, button, btn } = await rig();
    await btn.press({ bounces: 5, bounceIntervalMs: 0.5 }); // 11 edges within 5 ms
    await clock.advance(100);
    expect(control.toggleCalls).toBe(1);
    expect(control.running).toBe(true);
    expect(button.presses).toBe(1);
    await btn.release({ bounces: 5, bounceIntervalMs: 0.5 });
    await clock.advance(200);
    expect(control.toggleCalls).toBe(1);
    expect(button.presses).toBe(1);
    expect(button.toggles).toBe(1);
    expect(button.toggleErrors).toBe(0);
  });

  it('three presses → running, stopped, running', async () => {
    const { control, button, click, entries } = await rig();
    await click();
    await click();
    await click();
    expect(control.history).toEqual([true, false, true]);
    expect(button.presses).toBe(3);
    expect(entries.filter((e) => e.level === 'info').map((e) => e.msg)).toEqual(
      expect.arrayContaining(['measuring started by button', 'measuring stopped by button']),
    );
  });

  it('holding the button does not repeat', async () => {
    const { clock, control, btn } = await rig();
    await btn.press({ bounces: 2 });
    await clock.advance(10_000);
    expect(control.toggleCalls).toBe(1);
  });

  it('a failing toggle is logged and counted, and the next press works', async () => {
    const { control, button, click, entries } = await rig();
    control.failToggles = 1;
    await click();
    expect(button.toggleErrors).toBe(1);
    expect(button.toggles).toBe(0);
    expect(control.running).toBe(false);
    const error = entries.find((e) => e.level === 'error');
    expect(error?.msg).toMatch(/toggling measuring failed/);
    expect((error?.obj as { err: Error }).err.message).toMatch(/ECONNREFUSED/);
    await click();
    expect(button.toggleErrors).toBe(1);
    expect(button.toggles).toBe(1);
    expect(control.running).toBe(true);
  });

  it('presses during a slow toggle are queued, run one at a time, none dropped', async () => {
    const { clock, control, button, click } = await rig();
    control.toggleDelayMs = 700;
    await click();
    await click();
    await click();
    expect(control.toggleCalls).toBe(1); // the first is still in flight
    expect(button.pendingToggles).toBe(3);
    await clock.advance(3000);
    await button.whenIdle();
    expect(control.toggleCalls).toBe(3);
    expect(control.maxInFlight).toBe(1);
    expect(control.history).toEqual([true, false, true]);
    expect(button.pendingToggles).toBe(0);
  });

  it('LED: off while stopped, on right after the toggle, 1 Hz blink with a backlog, off on stop', async () => {
    const { clock, control, button, btn, ledLine } = await rig();
    expect(ledLine?.levels).toEqual([0]); // first refresh at start
    await clock.advance(1000);
    expect(ledLine?.levels).toEqual([0]); // unchanged levels are not rewritten

    await btn.press({ bounces: 3, bounceIntervalMs: 0.5 });
    const settledAt = clock.now() + 50;
    await clock.advance(60);
    expect(ledLine?.writes.at(-1)).toEqual({ atMs: settledAt, value: 1 }); // not waiting for the 500 ms tick

    control.backlog = 4;
    ledLine?.writes.splice(0);
    await clock.advance(2000); // 4 ticks
    expect(ledLine?.levels).toEqual([0, 1, 0, 1]);
    const gaps = (ledLine?.writes ?? []).map((w, i, all) => w.atMs - (all[i - 1]?.atMs ?? w.atMs - 500));
    expect(gaps).toEqual([500, 500, 500, 500]);

    control.backlog = 0;
    ledLine?.writes.splice(0);
    await clock.advance(1000);
    expect(ledLine?.level).toBe(1); // steady on: no off-writes any more
    expect(ledLine?.levels.filter((v) => v === 0)).toEqual([]);

    await button.stop();
    expect(ledLine?.level).toBe(0);
    expect(ledLine?.exported).toBe(false);
  });

  it('LED keeps its state and warns once while the state cannot be read', async () => {
    const { clock, control, click, ledLine, entries } = await rig();
    await click();
    expect(ledLine?.level).toBe(1);
    control.failCurrent = true;
    await clock.advance(2000);
    expect(ledLine?.level).toBe(1);
    expect(entries.filter((e) => e.level === 'warn' && /cannot read/.test(e.msg ?? ''))).toHaveLength(1);
    control.failCurrent = false;
    control.running = false;
    await clock.advance(500);
    expect(ledLine?.level).toBe(0);
    expect(entries.some((e) => e.level === 'info' && /readable again/.test(e.msg ?? ''))).toBe(true);
  });

  it('stop(): releases the input, clears every timer, ignores later edges', async () => {
    const { clock, control, button, btn, board } = await rig();
    expect(clock.pendingTimers).toBe(1); // the LED refresh interval
    await btn.press();
    await clock.advance(10); // settle timer armed
    await button.stop();
    expect(clock.pendingTimers).toBe(0);
    expect(btn.exported).toBe(false);
    btn.setLevel(1);
    btn.setLevel(0);
    await clock.advance(1000);
    expect(control.toggleCalls).toBe(0);
    expect(board.line(LED).exported).toBe(false);
    await button.stop(); // idempotent
    await expect(button.start()).rejects.toThrow(/cannot start/);
  });

  it('stop() lets queued toggles finish', async () => {
    const { clock, control, button, click } = await rig();
    control.toggleDelayMs = 300;
    await click();
    await click();
    const stopped = button.stop();
    await clock.advance(1000);
    await stopped;
    expect(control.history).toEqual([true, false]);
  });

  it('stop() during a slow start releases the input once it is open', async () => {
    const clock = new FakeClock();
    const calls: string[] = [];
    let opened!: () => void;
    const input: ButtonInput = {
      start: () => {
        calls.push('start');
        return new Promise<void>((resolve) => (opened = resolve));
      },
      stop: async () => {
        calls.push('stop');
      },
    };
    const board = new EmulatedGpioBoard(clock);
    const led = await OnoffStatusLed.open({ sysfsNumber: LED, factory: board.factory });
    const { log } = createTestLog();
    const button = new StartStopButton({ input, control: new MemoryMeasuringControl(), led, clock, log });
    const starting = button.start();
    await button.stop();
    opened();
    await starting;
    expect(calls).toEqual(['start', 'stop']);
    expect(clock.pendingTimers).toBe(0);
    expect(board.line(LED).exported).toBe(false);
  });

  it('works without an LED and polls nothing then', async () => {
    const { clock, control, click } = await rig({ led: false });
    expect(clock.pendingTimers).toBe(0);
    await click();
    expect(control.running).toBe(true);
  });

  it('start() rejects with the driver error when the line cannot be exported', async () => {
    const clock = new FakeClock();
    const board = new EmulatedGpioBoard(clock);
    board.failExport(BUTTON, 'EACCES');
    const { log } = createTestLog();
    const button = new StartStopButton({
      input: new OnoffButtonInput({ sysfsNumber: BUTTON, factory: board.factory }),
      control: new MemoryMeasuringControl(),
      clock,
      log,
    });
    await expect(button.start()).rejects.toBeInstanceOf(GpioAccessError);
  });
});
