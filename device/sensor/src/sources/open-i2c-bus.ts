/**
 * Opens /dev/i2c-N with i2c-bus's promisified API and turns the usual setup mistakes into clear errors.
 *
 * i2c-bus opens the device file lazily (on the first transfer), so the file is checked here first;
 * errors of later transfers with the same causes are translated too.
 */
import { constants } from 'node:fs';
import { access as fsAccess } from 'node:fs/promises';
import type { I2cBus } from './bme280-source.js';

export interface OpenI2cBusDeps {
  /** Default: fs.promises.access. */
  access?: (path: string, mode: number) => Promise<void>;
  /** Default: i2c-bus's openPromisified, loaded only when a real bus is opened (it is a native module). */
  openPromisified?: (busNumber: number) => Promise<I2cBus>;
}

function errorCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string')
    return err.code;
  return undefined;
}

/** The clear error for an ENOENT / EACCES / EPERM on the bus device, or undefined for any other error. */
export function explainI2cOpenError(path: string, err: unknown): Error | undefined {
  const code = errorCode(err);
  if (code === 'ENOENT') {
    return Object.assign(
      new Error(
        `${path} not found: enable I2C (dtparam=i2c_arm=on, and load the i2c-dev module) ` +
          `and map the device into the container (devices: ["${path}:${path}"]); check I2C_BUS`,
        { cause: err },
      ),
      { code },
    );
  }
  if (code === 'EACCES' || code === 'EPERM') {
    return Object.assign(
      new Error(
        `permission denied on ${path}: map the device into the container and give it access ` +
          `(cap_add: [SYS_RAWIO] or privileged), or outside a container add the user to the i2c group`,
        { cause: err },
      ),
      { code },
    );
  }
  return undefined;
}

async function loadOpenPromisified(): Promise<(busNumber: number) => Promise<I2cBus>> {
  const i2c = await import('i2c-bus');
  return (busNumber) => i2c.openPromisified(busNumber);
}

export async function openI2cBus(busNumber: number, deps: OpenI2cBusDeps = {}): Promise<I2cBus> {
  if (!Number.isInteger(busNumber) || busNumber < 0) {
    throw new RangeError(`I2C bus number must be an integer ≥ 0, got ${busNumber}`);
  }
  const path = `/dev/i2c-${busNumber}`;
  const access = deps.access ?? fsAccess;
  try {
    await access(path, constants.R_OK | constants.W_OK);
  } catch (err) {
    throw explainI2cOpenError(path, err) ?? err;
  }
  const open = deps.openPromisified ?? (await loadOpenPromisified());
  let bus: I2cBus;
  try {
    bus = await open(busNumber);
  } catch (err) {
    throw explainI2cOpenError(path, err) ?? err;
  }
  const translate = (err: unknown): never => {
    throw explainI2cOpenError(path, err) ?? err;
  };
  return {
    readByte: (address, command) => bus.readByte(address, command).catch(translate),
    writeByte: (address, command, byte) => bus.writeByte(address, command, byte).catch(translate),
    readI2cBlock: (address, command, length, buffer) =>
      bus.readI2cBlock(address, command, length, buffer).catch(translate),
    close: () => bus.close(),
  };
}
