import { describe, expect, it, vi } from 'vitest';
import { Bme280Source, type Bme280Options } from '../src/sources/bme280-source.js';
import { SensorReadError } from '../src/sources/sensor-source.js';
import {
  Bme280Emulator,
  kernelError,
  type Bme280EmulatorOptions,
  type EmulatorCalibration,
} from './support/bme280-emulator.js';
import { DATASHEET_CALIBRATION, DATASHEET_RAW } from './support/datasheet-example.js';

const CALIBRATION: EmulatorCalibration = DATASHEET_CALIBRATION;
const RAW = DATASHEET_RAW;
/** 55.012075… %RH: worked out by hand in bme280-compensation.test.ts for these values. */
const HUMIDITY_EXPECTED = 55.012075099925326;

function setup(emu: Partial<Bme280EmulatorOptions> = {}, options: Bme280Options = {}, address = 0x76) {
  const emulator = new Bme280Emulator({ calibration: CALIBRATION, raw: RAW, ...emu });
  const sleeps: number[] = [];
  const source = new Bme280Source(emulator, address, {
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    retryDelayMs: 7,
    statusPollIntervalMs: 3,
    busName: '/dev/i2c-1',
    ...options,
  });
  return { emulator, source, sleeps };
}

function expectDatasheetValues(values: Record<string, number>): void {
  expect(values.temperature).toBe(25.08);
  // 100653.27 Pa ± 0.01 Pa, reported in hPa
  expect(Math.abs((values.pressure ?? NaN) * 100 - 100653.27)).toBeLessThanOrEqual(0.01);
}

async function rejection(promise: Promise<unknown>): Promise<SensorReadError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SensorReadError);
  return err as SensorReadError;
}

describe('Bme280Source on the emulated chip', () => {
  it('opens a BME280 and reports three channels', async () => {
    const { source } = setup();
    const info = await source.open();
    expect(source.kind).toBe('bme280');
    expect(info.model).toBe('BME280');
    expect(info.channels).toEqual(['temperature', 'humidity', 'pressure']);
    expect(info.detail).toMatchObject({
      address: '0x76',
      chipId: '0x60',
      mode: 'forced',
      humiditySensor: true,
    });
  });

  it('reads the datasheet example through the real driver', async () => {
    const { source } = setup();
    await source.open();
    const values = await source.read();
    expect(Object.keys(values).sort()).toEqual(['humidity', 'pressure', 'temperature']);
    expectDatasheetValues(values);
    expect(values.pressure).toBeCloseTo(1006.5327, 4);
    expect(values.humidity).toBeCloseTo(HUMIDITY_EXPECTED, 2);
  });

  it('clamps humidity to 0 … 100 %RH', async () => {
    const { source, emulator } = setup();
    await source.open();
    emulator.setRaw({ adcH: 40000 }); // 110.18 %RH unclamped
    expect((await source.read()).humidity).toBe(100);
    emulator.setRaw({ adcH: 20000 }); // −1.07 %RH unclamped
    expect((await source.read()).humidity).toBe(0);
  });

  it('resets, then writes ctrl_hum before ctrl_meas, then config', async () => {
    const { source, emulator } = setup();
    await source.open();
    expect(emulator.writtenRegisters()).toEqual([0xe0, 0xf2, 0xf4, 0xf5]);
    expect(emulator.writes[0]).toEqual({ register: 0xe0, value: 0xb6 });
    // default ×1 oversampling: osrs_h = 001; ctrl_meas = 001 001 00 (sleep); filter off
    expect(emulator.writes.slice(1)).toEqual([
      { register: 0xf2, value: 0b001 },
      { register: 0xf4, value: 0b001_001_00 },
      { register: 0xf5, value: 0 },
    ]);

    emulator.writes.length = 0;
    await source.read();
    // a measurement: ctrl_hum (again) and then ctrl_meas with mode = 01 (forced)
    expect(emulator.writes).toEqual([
      { register: 0xf2, value: 0b001 },
      { register: 0xf4, value: 0b001_001_01 },
    ]);
  });

  it('the emulator, like the chip, ignores ctrl_hum written after ctrl_meas (so the order test means something)', async () => {
    const emulator = new Bme280Emulator({ calibration: CALIBRATION, raw: RAW, measuringPolls: 0 });
    await emulator.writeByte(0x76, 0xf4, 0b001_001_01);
    await emulator.writeByte(0x76, 0xf2, 0b001);
    const buffer = Buffer.alloc(8);
    await emulator.readI2cBlock(0x76, 0xf7, 8, buffer);
    expect(buffer.readUInt16BE(6)).toBe(0x8000); // humidity skipped
    await emulator.writeByte(0x76, 0xf4, 0b001_001_01);
    await emulator.readI2cBlock(0x76, 0xf7, 8, buffer);
    expect(buffer.readUInt16BE(6)).toBe(30000);
  });

  it('writes the configured oversampling and filter', async () => {
    const { source, emulator } = setup(
      {},
      { oversampling: { temperature: 2, pressure: 16, humidity: 4 }, filter: 4 },
    );
    const info = await source.open();
    expect(info.detail).toMatchObject({
      oversampling: { temperature: 2, pressure: 16, humidity: 4 },
      filter: 4,
    });
    emulator.writes.length = 0;
    await source.read();
    expect(emulator.writes).toEqual([
      { register: 0xf2, value: 0b011 },
      { register: 0xf4, value: 0b010_101_01 },
    ]);
    expect(emulator.registers[0xf5]).toBe(0b010_00);
  });

  it('rejects oversampling and filter values the chip does not have', () => {
    const emulator = new Bme280Emulator({ calibration: CALIBRATION, raw: RAW });
    expect(() => new Bme280Source(emulator, 0x76, { oversampling: { pressure: 3 as 2 } })).toThrow(
      RangeError,
    );
    expect(() => new Bme280Source(emulator, 0x76, { filter: 5 as 4 })).toThrow(RangeError);
    expect(() => new Bme280Source(emulator, 0x80)).toThrow(/0x76 or 0x77/);
  });

  it('polls status.measuring until it clears before reading the data', async () => {
    const { source, emulator, sleeps } = setup({ measuringPolls: 5 });
    await source.open();
    const statusBefore = emulator.statusReads;
    sleeps.length = 0;
    expectDatasheetValues(await source.read());
    // 5 polls see 'measuring', the 6th sees it clear
    expect(emulator.statusReads - statusBefore).toBe(6);
    // first the typical measurement time of ×1/×1/×1 (1 + 2 + 2.5 + 2.5 = 8 ms), then 5 poll intervals
    expect(sleeps).toEqual([8, 3, 3, 3, 3, 3]);
  });

  it('gives up on a measurement that never finishes, after a bounded number of polls', async () => {
    const { source, emulator } = setup({}, { maxStatusPolls: 4, retries: 1 });
    await source.open();
    emulator.measuringPolls = 1000;
    const statusBefore = emulator.statusReads;
    const err = await rejection(source.read());
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/still measuring after 4 status polls/);
    // attempt 1: 4 polls; re-initialise (2 status reads waiting for the NVM copy); attempt 2: 4 polls
    expect(emulator.statusReads - statusBefore).toBe(4 + 2 + 4);
  });

  it('waits for the NVM copy after the soft reset before reading the calibration', async () => {
    const { source, emulator } = setup({ nvmCopyPolls: 3 });
    const reads = vi.spyOn(emulator, 'readI2cBlock');
    await source.open();
    // three polls with im_update set, the fourth clear; only then the calibration blocks
    expect(emulator.statusReads).toBe(4);
    expect(reads.mock.calls.map((c) => [c[1], c[2]])).toEqual([
      [0x88, 26],
      [0xe1, 7],
    ]);
  });

  it.each([
    { id: '0x58', chipId: 0x58 },
    { id: '0x57', chipId: 0x57 },
    { id: '0x56', chipId: 0x56 },
  ])('treats chip id $id as a BMP280 without humidity', async ({ chipId }) => {
    const { source, emulator } = setup({ chipId });
    const reads = vi.spyOn(emulator, 'readI2cBlock');
    const info = await source.open();
    expect(info.model).toBe('BMP280');
    expect(info.channels).toEqual(['temperature', 'pressure']);
    expect(info.detail).toMatchObject({ humiditySensor: false });
    expect(String(info.detail?.note)).toMatch(/no humidity sensor/);

    const values = await source.read();
    expect(Object.keys(values).sort()).toEqual(['pressure', 'temperature']);
    expectDatasheetValues(values);
    expect(emulator.writtenRegisters()).not.toContain(0xf2); // the BMP280 has no ctrl_hum
    expect(reads.mock.calls.map((c) => [c[1], c[2]])).toEqual([
      [0x88, 26],
      [0xf7, 6],
    ]);
  });

  it('refuses an unknown chip id with a clear, permanent error naming the id and the address', async () => {
    const { source, emulator } = setup({ chipId: 0x55 });
    const err = await rejection(source.open());
    expect(err.transient).toBe(false);
    expect(err.message).toContain('0x55');
    expect(err.message).toContain('0x76');
    expect(err.message).toMatch(/No BME280\/BMP280/);
    expect(emulator.writes).toEqual([]); // nothing written to a chip we do not know
  });

  it('reports a chip at another address (ENXIO) after retries, as transient', async () => {
    const { source, sleeps } = setup({ address: 0x76 }, { retries: 3 }, 0x77);
    const err = await rejection(source.open());
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/0x77 on \/dev\/i2c-1/);
    expect(err.message).toMatch(/ENXIO/);
    expect(err.message).toMatch(/4 attempts/);
    expect(sleeps).toEqual([7, 7, 7]);
  });

  it('rides out a short glitch on the bus with a retry', async () => {
    const { source, emulator, sleeps } = setup();
    await source.open();
    sleeps.length = 0;
    emulator.failNext(2, 'EREMOTEIO');
    expectDatasheetValues(await source.read());
    expect(sleeps.filter((ms) => ms === 7)).toHaveLength(2);
  });

  it('fails when the calibration cannot be read instead of ignoring it', async () => {
    const { source, emulator } = setup({}, { retries: 2 });
    vi.spyOn(emulator, 'readI2cBlock').mockRejectedValue(kernelError('EIO', 'readI2cBlock'));
    const err = await rejection(source.open());
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/read of 26 bytes from register 0x88 failed: EIO/);
    expect(err.message).toMatch(/3 attempts/);
  });

  it('fails on a short calibration read', async () => {
    const { source, emulator } = setup({}, { retries: 0 });
    vi.spyOn(emulator, 'readI2cBlock').mockImplementation(async (_a, _c, _l, buffer) => ({
      bytesRead: 10,
      buffer,
    }));
    const err = await rejection(source.open());
    expect(err.message).toMatch(/short read: 10 bytes/);
  });

  it('fails on blank calibration data', async () => {
    const blank = Object.fromEntries(
      Object.keys(CALIBRATION).map((k) => [k, 0]),
    ) as unknown as EmulatorCalibration;
    const { source } = setup({ calibration: blank }, { retries: 1 });
    const err = await rejection(source.open());
    expect(err.message).toMatch(/bad calibration data/);
  });

  it('fails on a skipped measurement (0x80000) instead of returning a value', async () => {
    const { source, emulator } = setup({}, { retries: 1 });
    await source.open();
    const write = emulator.writeByte.bind(emulator);
    // a chip that drops the oversampling bits of ctrl_meas: temperature and pressure are skipped
    vi.spyOn(emulator, 'writeByte').mockImplementation((a, c, b) => write(a, c, c === 0xf4 ? b & 0x03 : b));
    const err = await rejection(source.read());
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/temperature measurement skipped \(0x80000\)/);
  });

  it('fails on a skipped humidity measurement (0x8000)', async () => {
    const { source, emulator } = setup({}, { retries: 0 });
    await source.open();
    const write = emulator.writeByte.bind(emulator);
    vi.spyOn(emulator, 'writeByte').mockImplementation((a, c, b) =>
      c === 0xf2 ? write(a, c, 0) : write(a, c, b),
    );
    const err = await rejection(source.read());
    expect(err.message).toMatch(/humidity measurement skipped/);
  });

  it('survives the chip being unplugged and plugged back in', async () => {
    const { source, emulator, sleeps } = setup({}, { retries: 3 });
    const readByte = vi.spyOn(emulator, 'readByte');
    await source.open();
    expectDatasheetValues(await source.read());

    emulator.unplug();
    sleeps.length = 0;
    const opsBefore = emulator.ops.length;
    const err = await rejection(source.read());
    expect(err.transient).toBe(true);
    expect(err.message).toMatch(/read failed \(4 attempts\)/);
    expect(err.message).toMatch(/EIO/);
    expect((err.cause as { cause?: { code?: string } }).cause?.code).toBe('EIO');
    expect(emulator.ops.length - opsBefore).toBe(4); // one rejected operation per attempt, then give up
    expect(sleeps).toEqual([7, 7, 7]);

    // still unplugged: still an error, never a made-up value
    await rejection(source.read());

    emulator.replug(); // power-cycled: configuration lost
    readByte.mockClear();
    emulator.writes.length = 0;
    const values = await source.read();
    expectDatasheetValues(values);
    expect(values.humidity).toBeCloseTo(HUMIDITY_EXPECTED, 2);
    // re-initialised: chip id read again, soft reset, configuration written again
    expect(readByte.mock.calls[0]?.[1]).toBe(0xd0);
    expect(emulator.writtenRegisters()).toEqual([0xe0, 0xf2, 0xf4, 0xf5, 0xf2, 0xf4]);
  });

  it('re-reads chip id and calibration after a failure, so a swapped chip is picked up', async () => {
    const { source, emulator } = setup({}, { retries: 0 });
    await source.open();
    expect(await source.read()).toHaveProperty('humidity');
    emulator.unplug();
    await rejection(source.read());
    emulator.setChipId(0x58); // a BMP280 is plugged in instead
    emulator.replug();
    const values = await source.read();
    expect(Object.keys(values).sort()).toEqual(['pressure', 'temperature']);
    expectDatasheetValues(values);
  });

  it('serialises concurrent reads', async () => {
    const { source } = setup({ measuringPolls: 3 });
    await source.open();
    const [a, b] = await Promise.all([source.read(), source.read()]);
    expectDatasheetValues(a);
    expectDatasheetValues(b);
  });

  it('refuses read() before open() and after close(); close() closes the bus once', async () => {
    const { source, emulator } = setup();
    expect((await rejection(source.read())).transient).toBe(false);
    await source.open();
    await source.close();
    await source.close();
    expect(emulator.closed).toBe(true);
    expect(emulator.ops.filter((op) => op === 'close')).toHaveLength(1);
    const err = await rejection(source.read());
    expect(err.transient).toBe(false);
    expect(err.message).toMatch(/closed/);
  });
});
