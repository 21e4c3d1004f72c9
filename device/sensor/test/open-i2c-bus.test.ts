import { describe, expect, it, vi } from 'vitest';
import type { I2cBus } from '../src/sources/bme280-source.js';
import { openI2cBus } from '../src/sources/open-i2c-bus.js';

function fsError(code: string): Error {
  return Object.assign(new Error(`${code}: failed, open '/dev/i2c-1'`), { code });
}

function fakeBus(): I2cBus {
  return {
    readByte: vi.fn(async () => 0x60),
    writeByte: vi.fn(async () => {}),
    readI2cBlock: vi.fn(async (_a: number, _c: number, length: number, buffer: Buffer) => ({
      bytesRead: length,
      buffer,
    })),
    close: vi.fn(async () => {}),
  };
}

describe('openI2cBus', () => {
  it('explains a missing /dev/i2c-N', async () => {
    const err = await openI2cBus(1, { access: async () => Promise.reject(fsError('ENOENT')) }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^\/dev\/i2c-1 not found: enable I2C \(dtparam=i2c_arm=on/);
    expect((err as Error).message).toMatch(/map the device into the container/);
    expect((err as { code?: string }).code).toBe('ENOENT');
  });

  it('explains a permission problem', async () => {
    const err = await openI2cBus(3, { access: async () => Promise.reject(fsError('EACCES')) }).catch(
      (e: unknown) => e,
    );
    expect((err as Error).message).toMatch(/^permission denied on \/dev\/i2c-3/);
  });

  it('passes other errors through unchanged', async () => {
    const original = fsError('EBUSY');
    await expect(openI2cBus(1, { access: async () => Promise.reject(original) })).rejects.toBe(original);
  });

  it('rejects a bad bus number', async () => {
    await expect(openI2cBus(-1)).rejects.toThrow(RangeError);
    await expect(openI2cBus(1.5)).rejects.toThrow(RangeError);
  });

  it('opens the bus and forwards operations, translating late ENOENT/EACCES', async () => {
    const bus = fakeBus();
    const access = vi.fn(async () => {});
    const open = vi.fn(async () => bus);
    const wrapped = await openI2cBus(1, { access, openPromisified: open });
    expect(access).toHaveBeenCalledWith('/dev/i2c-1', expect.any(Number));
    expect(open).toHaveBeenCalledWith(1);
    expect(await wrapped.readByte(0x76, 0xd0)).toBe(0x60);
    await wrapped.writeByte(0x76, 0xe0, 0xb6);
    expect(bus.writeByte).toHaveBeenCalledWith(0x76, 0xe0, 0xb6);
    const buffer = Buffer.alloc(2);
    expect(await wrapped.readI2cBlock(0x76, 0xf7, 2, buffer)).toEqual({ bytesRead: 2, buffer });

    vi.mocked(bus.readByte).mockRejectedValueOnce(fsError('EACCES'));
    await expect(wrapped.readByte(0x76, 0xd0)).rejects.toThrow(/permission denied on \/dev\/i2c-1/);
    const eio = Object.assign(new Error('EIO, Input/output error'), { code: 'EIO' });
    vi.mocked(bus.readByte).mockRejectedValueOnce(eio);
    await expect(wrapped.readByte(0x76, 0xd0)).rejects.toBe(eio);
    await wrapped.close();
    expect(bus.close).toHaveBeenCalledOnce();
  });
});
