import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GpioAccessError } from '../src/gpio-access-error.js';
import { loadOnoffGpio, OnoffButtonInput, OnoffStatusLed } from '../src/onoff-driver.js';
import { FakeClock } from './support/fake-clock.js';
import { EmulatedGpioBoard } from './support/gpio-emulator.js';

function setup() {
  const clock = new FakeClock();
  const board = new EmulatedGpioBoard(clock);
  return { clock, board };
}

describe('OnoffButtonInput', () => {
  it('exports the line as an input on both edges and forwards raw levels with timestamps', async () => {
    const { clock, board } = setup();
    const input = new OnoffButtonInput({
      sysfsNumber: 529,
      factory: board.factory,
      clock,
      isAccessible: () => true,
    });
    const edges: [number, number][] = [];
    await input.start((v, at) => edges.push([v, at]));
    expect(board.opened).toEqual([{ sysfsNumber: 529, direction: 'in', edge: 'both' }]);
    const line = board.line(529);
    await line.press({ bounces: 1, bounceIntervalMs: 2 });
    expect(edges).toEqual([
      [0, 1000],
      [1, 1002],
      [0, 1004],
    ]);
    await input.stop();
    expect(line.exported).toBe(false);
    expect(line.watching).toBe(false);
    await input.stop(); // idempotent
  });

  it('refuses to start twice', async () => {
    const { board } = setup();
    const input = new OnoffButtonInput({ sysfsNumber: 17, factory: board.factory });
    await input.start(() => {});
    await expect(input.start(() => {})).rejects.toThrow(/already started/);
  });

  it('reports poller errors through onError, not as edges', async () => {
    const { board } = setup();
    const errors: Error[] = [];
    const input = new OnoffButtonInput({
      sysfsNumber: 17,
      factory: board.factory,
      onError: (e) => errors.push(e),
    });
    const edges: number[] = [];
    await input.start((v) => edges.push(v));
    board.line(17).emitError(new Error('epoll failed'));
    expect(errors.map((e) => e.message)).toEqual(['epoll failed']);
    expect(edges).toEqual([]);
  });

  it('Gpio.accessible false → a clear error before touching the line', async () => {
    const { board } = setup();
    const input = new OnoffButtonInput({
      sysfsNumber: 529,
      factory: board.factory,
      isAccessible: () => false,
    });
    const err = await input.start(() => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpioAccessError);
    expect((err as Error).message).toMatch(
      /^GPIO not accessible \(button, sysfs GPIO 529\).*privileged.*unmapped/,
    );
    expect(board.opened).toEqual([]);
  });

  it.each([
    ['EACCES', /permission denied.*privileged: true/],
    ['EROFS', /permission denied.*privileged: true/],
    ['ENOENT', /missing.*privileged.*unmapped/],
    ['EBUSY', /already claimed/],
    ['EINVAL', /gpiochip base \+ BCM/],
  ])('an export failing with %s becomes an actionable GpioAccessError', async (code, hint) => {
    const { board } = setup();
    board.failExport(529, code);
    const input = new OnoffButtonInput({
      sysfsNumber: 529,
      factory: board.factory,
      isAccessible: () => true,
    });
    const err = await input.start(() => {}).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpioAccessError);
    expect((err as GpioAccessError).code).toBe(code);
    expect((err as GpioAccessError).sysfsNumber).toBe(529);
    expect((err as Error).message).toMatch(
      new RegExp(`^GPIO not accessible \\(button, sysfs GPIO 529, ${code}`),
    );
    expect((err as Error).message).toMatch(hint);
    expect((err as Error).cause).toBeInstanceOf(Error);
  });
});

describe('OnoffStatusLed', () => {
  it('starts off without a glitch, follows set(), and switches off on close', async () => {
    const { clock, board } = setup();
    const led = await OnoffStatusLed.open({
      sysfsNumber: 539,
      factory: board.factory,
      isAccessible: () => true,
    });
    expect(board.opened).toEqual([{ sysfsNumber: 539, direction: 'low', edge: undefined }]);
    const line = board.line(539);
    expect(line.level).toBe(0);
    await led.set(true);
    await clock.advance(100);
    await led.set(false);
    expect(line.writes).toEqual([
      { atMs: 1000, value: 1 },
      { atMs: 1100, value: 0 },
    ]);
    await led.set(true);
    await led.close();
    expect(line.levels).toEqual([1, 0, 1, 0]);
    expect(line.exported).toBe(false);
    await led.set(true); // no-op after close
    await led.close();
    expect(line.levels).toEqual([1, 0, 1, 0]);
  });

  it('activeLow LED: on drives the pin low, starts high (off)', async () => {
    const { board } = setup();
    const led = await OnoffStatusLed.open({ sysfsNumber: 27, factory: board.factory, activeLow: true });
    const line = board.line(27);
    expect(line.direction).toBe('high');
    await led.set(true);
    await led.close();
    expect(line.levels).toEqual([0, 1]);
  });

  it('export failures become GpioAccessError naming the LED', async () => {
    const { board } = setup();
    board.failExport(27, 'EACCES');
    await expect(OnoffStatusLed.open({ sysfsNumber: 27, factory: board.factory })).rejects.toThrow(
      /^GPIO not accessible \(LED, sysfs GPIO 27, EACCES/,
    );
  });
});

describe('loadOnoffGpio', () => {
  it.skipIf(existsSync('/sys/class/gpio'))(
    'loads onoff lazily; without sysfs GPIO it is not accessible',
    async () => {
      const onoff = await loadOnoffGpio();
      expect(onoff.isAccessible()).toBe(false);
      const input = new OnoffButtonInput({ sysfsNumber: 529, ...onoff });
      await expect(input.start(() => {})).rejects.toThrow(/GPIO not accessible/);
    },
  );
});
