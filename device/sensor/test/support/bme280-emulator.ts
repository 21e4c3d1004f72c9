/**
 * A register-level emulator of a BME280 / BMP280 behind an I2C bus, implementing the driver's I2cBus.
 *
 * What it models (enough to catch the mistakes a driver can make):
 * - a 256-byte register map: chip id (0xD0), calibration NVM encoded little-endian like the chip
 *   (0x88..0xA1, 0xE1..0xE7 with the H4/H5 nibble split), ctrl_hum/status/ctrl_meas/config, data 0xF7..0xFE;
 * - soft reset (0xB6 to 0xE0) and power-on: control registers cleared, data registers at their reset value
 *   (0x80000 / 0x8000 = "skipped"), status.im_update set for a few status reads (NVM copy);
 * - ctrl_hum only takes effect when ctrl_meas is written (as the datasheet says), so writing them in the
 *   wrong order leaves humidity skipped;
 * - forced mode: status.measuring stays set for `measuringPolls` status reads, then the data registers are
 *   filled from the raw ADC values (only for channels whose oversampling is not "skip") and the chip sleeps;
 * - a NACK like the kernel's: wrong address → ENXIO, unplugged → EIO; injected glitches.
 */
import type { I2cBus } from '../../src/sources/bme280-source.js';

export interface EmulatorCalibration {
  digT1: number;
  digT2: number;
  digT3: number;
  digP1: number;
  digP2: number;
  digP3: number;
  digP4: number;
  digP5: number;
  digP6: number;
  digP7: number;
  digP8: number;
  digP9: number;
  digH1?: number;
  digH2?: number;
  digH3?: number;
  digH4?: number;
  digH5?: number;
  digH6?: number;
}

export interface EmulatorRaw {
  adcT: number;
  adcP: number;
  adcH?: number;
}

export interface Bme280EmulatorOptions {
  address?: number;
  chipId?: number;
  calibration: EmulatorCalibration;
  raw: EmulatorRaw;
  /** Status reads that still show 'measuring' after a forced-mode write (default 2). */
  measuringPolls?: number;
  /** Status reads that still show 'im_update' after reset / power-on (default 1). */
  nvmCopyPolls?: number;
}

export interface EmulatorWrite {
  register: number;
  value: number;
}

export type EmulatorOp = 'readByte' | 'writeByte' | 'readI2cBlock' | 'close';

const REG = {
  chipId: 0xd0,
  reset: 0xe0,
  ctrlHum: 0xf2,
  status: 0xf3,
  ctrlMeas: 0xf4,
  config: 0xf5,
  data: 0xf7,
} as const;

/** An Error shaped like the ones i2c-bus builds from errno (message "CODE, text", code, errno, syscall). */
export function kernelError(code: 'EIO' | 'ENXIO' | 'EREMOTEIO', syscall: string): Error {
  const text = {
    EIO: 'Input/output error',
    ENXIO: 'No such device or address',
    EREMOTEIO: 'Remote I/O error',
  }[code];
  const errno = { EIO: 5, ENXIO: 6, EREMOTEIO: 121 }[code];
  return Object.assign(new Error(`${code}, ${text}`), { code, errno, syscall });
}

export class Bme280Emulator implements I2cBus {
  readonly address: number;
  readonly registers = new Uint8Array(256);
  /** Every accepted register write, in order (also those to registers the chip does not have). */
  readonly writes: EmulatorWrite[] = [];
  /** Every operation attempted, accepted or not. */
  readonly ops: EmulatorOp[] = [];
  /** Status register reads (polls) so far. */
  statusReads = 0;
  measuringPolls: number;
  nvmCopyPolls: number;
  closed = false;

  private calibration: EmulatorCalibration;
  private raw: EmulatorRaw;
  private plugged = true;
  private glitches: { count: number; code: 'EIO' | 'ENXIO' | 'EREMOTEIO' } = { count: 0, code: 'EIO' };
  private measuringLeft = 0;
  private nvmCopyLeft = 0;
  /** osrs_h latched at the last ctrl_meas write. */
  private effectiveOsrsH = 0;

  constructor(options: Bme280EmulatorOptions) {
    this.address = options.address ?? 0x76;
    this.calibration = options.calibration;
    this.raw = { ...options.raw };
    this.measuringPolls = options.measuringPolls ?? 2;
    this.nvmCopyPolls = options.nvmCopyPolls ?? 1;
    this.registers[REG.chipId] = options.chipId ?? 0x60;
    this.powerOn();
  }

  get chipId(): number {
    return this.registers[REG.chipId] ?? 0;
  }

  get hasHumidity(): boolean {
    return this.chipId === 0x60;
  }

  // ---- test controls ----

  /** The chip disappears: every operation rejects with EIO until replug(). */
  unplug(): void {
    this.plugged = false;
  }

  /** The chip comes back, power-cycled: configuration lost, calibration reloaded from NVM. */
  replug(): void {
    this.plugged = true;
    this.powerOn();
  }

  /** The next `count` operations reject with `code` (a glitch on the bus). */
  failNext(count: number, code: 'EIO' | 'ENXIO' | 'EREMOTEIO' = 'EIO'): void {
    this.glitches = { count, code };
  }

  setRaw(raw: Partial<EmulatorRaw>): void {
    this.raw = { ...this.raw, ...raw };
  }

  setChipId(id: number): void {
    this.registers[REG.chipId] = id & 0xff;
  }

  setCalibration(calibration: EmulatorCalibration): void {
    this.calibration = calibration;
    this.loadNvm();
  }

  /** The register writes so far, as register numbers. */
  writtenRegisters(): number[] {
    return this.writes.map((w) => w.register);
  }

  // ---- I2cBus ----

  async readByte(address: number, command: number): Promise<number> {
    this.access('readByte', address);
    return this.readRegister(command);
  }

  async writeByte(address: number, command: number, byte: number): Promise<void> {
    this.access('writeByte', address);
    this.writeRegister(command, byte & 0xff);
  }

  async readI2cBlock(
    address: number,
    command: number,
    length: number,
    buffer: Buffer,
  ): Promise<{ bytesRead: number; buffer: Buffer }> {
    this.access('readI2cBlock', address);
    if (length > 32 || length > buffer.length)
      throw Object.assign(new Error('Invalid I2C block read length'), { code: 'EINVAL' });
    const n = Math.min(length, 256 - command);
    for (let i = 0; i < n; i++) buffer[i] = this.readRegister(command + i);
    return { bytesRead: n, buffer };
  }

  async close(): Promise<void> {
    this.ops.push('close');
    this.closed = true;
  }

  // ---- chip behaviour ----

  private access(op: EmulatorOp, address: number): void {
    this.ops.push(op);
    if (this.closed) throw new Error('Bus closed');
    if (!this.plugged) throw kernelError('EIO', op);
    if (this.glitches.count > 0) {
      this.glitches.count -= 1;
      throw kernelError(this.glitches.code, op);
    }
    if (address !== this.address) throw kernelError('ENXIO', op);
  }

  private readRegister(register: number): number {
    if (register === REG.status) {
      this.statusReads += 1;
      let status = 0;
      if (this.nvmCopyLeft > 0) {
        this.nvmCopyLeft -= 1;
        status |= 0x01;
      }
      if (this.measuringLeft > 0) {
        this.measuringLeft -= 1;
        status |= 0x08;
        if (this.measuringLeft === 0) this.completeMeasurement();
      }
      return status;
    }
    return this.registers[register] ?? 0;
  }

  private writeRegister(register: number, value: number): void {
    this.writes.push({ register, value });
    switch (register) {
      case REG.reset:
        if (value === 0xb6) this.powerOn();
        return;
      case REG.ctrlHum:
        if (this.hasHumidity) this.registers[register] = value & 0x07;
        return;
      case REG.config:
        this.registers[register] = value;
        return;
      case REG.ctrlMeas: {
        this.registers[register] = value;
        this.effectiveOsrsH = this.hasHumidity ? (this.registers[REG.ctrlHum] ?? 0) & 0x07 : 0;
        const mode = value & 0x03;
        if (mode === 0x01 || mode === 0x02) {
          this.measuringLeft = this.measuringPolls;
          if (this.measuringLeft === 0) this.completeMeasurement();
        }
        return;
      }
      default:
        // Read-only registers (calibration, chip id, data, status) ignore writes.
        return;
    }
  }

  private completeMeasurement(): void {
    const ctrlMeas = this.registers[REG.ctrlMeas] ?? 0;
    const osrsT = (ctrlMeas >> 5) & 0x07;
    const osrsP = (ctrlMeas >> 2) & 0x07;
    this.setData20(REG.data, osrsP === 0 ? 0x80000 : this.raw.adcP);
    this.setData20(REG.data + 3, osrsT === 0 ? 0x80000 : this.raw.adcT);
    if (this.hasHumidity)
      this.setData16(REG.data + 6, this.effectiveOsrsH === 0 ? 0x8000 : (this.raw.adcH ?? 0x8000));
    // Forced mode returns to sleep when done.
    this.registers[REG.ctrlMeas] = ctrlMeas & ~0x03;
  }

  private powerOn(): void {
    this.registers[REG.ctrlHum] = 0;
    this.registers[REG.ctrlMeas] = 0;
    this.registers[REG.config] = 0;
    this.effectiveOsrsH = 0;
    this.measuringLeft = 0;
    this.nvmCopyLeft = this.nvmCopyPolls;
    this.setData20(REG.data, 0x80000);
    this.setData20(REG.data + 3, 0x80000);
    this.setData16(REG.data + 6, 0x8000);
    this.loadNvm();
  }

  /** Encodes the calibration into the registers the way the chip stores it. */
  private loadNvm(): void {
    const c = this.calibration;
    const words = [
      c.digT1,
      c.digT2,
      c.digT3,
      c.digP1,
      c.digP2,
      c.digP3,
      c.digP4,
      c.digP5,
      c.digP6,
      c.digP7,
      c.digP8,
      c.digP9,
    ];
    words.forEach((w, i) => this.setWordLE(0x88 + 2 * i, w));
    this.registers[0xa0] = 0;
    if (!this.hasHumidity) return;
    this.registers[0xa1] = (c.digH1 ?? 0) & 0xff;
    this.setWordLE(0xe1, c.digH2 ?? 0);
    this.registers[0xe3] = (c.digH3 ?? 0) & 0xff;
    const h4 = (c.digH4 ?? 0) & 0xfff; // signed 12-bit, two's complement
    const h5 = (c.digH5 ?? 0) & 0xfff;
    this.registers[0xe4] = h4 >> 4;
    this.registers[0xe5] = ((h5 & 0x0f) << 4) | (h4 & 0x0f);
    this.registers[0xe6] = h5 >> 4;
    this.registers[0xe7] = (c.digH6 ?? 0) & 0xff;
  }

  private setWordLE(register: number, value: number): void {
    const v = value & 0xffff;
    this.registers[register] = v & 0xff;
    this.registers[register + 1] = v >> 8;
  }

  private setData20(register: number, value: number): void {
    const v = value & 0xfffff;
    this.registers[register] = v >> 12;
    this.registers[register + 1] = (v >> 4) & 0xff;
    this.registers[register + 2] = (v & 0x0f) << 4;
  }

  private setData16(register: number, value: number): void {
    this.registers[register] = (value >> 8) & 0xff;
    this.registers[register + 1] = value & 0xff;
  }
}
