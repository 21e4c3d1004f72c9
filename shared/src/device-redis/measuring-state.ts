import type { Redis } from 'ioredis';
import { deviceKeys, type DeviceKeys } from './keys.js';

export interface MeasuringState {
  running: boolean;
  intervalMs: number;
  updatedAt: string | undefined;
  updatedBy: string | undefined;
}

export type StateSource = 'button' | 'command' | 'config' | 'local';

/**
 * Measuring on/off and interval, shared by the button, remote commands and the sensor. Kept in Redis so
 * all of them agree after any restart; changes are also published so the sensor reacts at once.
 */
export class MeasuringStateStore {
  readonly keys: DeviceKeys;

  constructor(
    private readonly redis: Redis,
    private readonly defaults: { running: boolean; intervalMs: number },
    keyPrefix?: string,
  ) {
    this.keys = deviceKeys(keyPrefix);
  }

  async get(): Promise<MeasuringState> {
    const h = await this.redis.hgetall(this.keys.measuring);
    return {
      running: h.running === undefined ? this.defaults.running : h.running === '1',
      intervalMs: h.intervalMs ? Number(h.intervalMs) : this.defaults.intervalMs,
      updatedAt: h.updatedAt,
      updatedBy: h.updatedBy,
    };
  }

  async setRunning(running: boolean, by: StateSource): Promise<MeasuringState> {
    return this.write({ running: running ? '1' : '0' }, by);
  }

  async setInterval(intervalMs: number, by: StateSource): Promise<MeasuringState> {
    return this.write({ intervalMs: String(intervalMs) }, by);
  }

  /** Atomic toggle, so two quick presses (or a press racing a command) never cancel out wrongly. */
  async toggle(by: StateSource): Promise<MeasuringState> {
    // Read-modify-write in one script: atomic without WATCH/retry loops.
    const flipped = (await this.redis.eval(
      `local cur = redis.call('HGET', KEYS[1], 'running')
       if cur == false then cur = ARGV[1] end
       local nxt = (cur == '1') and '0' or '1'
       redis.call('HSET', KEYS[1], 'running', nxt, 'updatedAt', ARGV[2], 'updatedBy', ARGV[3])
       return nxt`,
      1,
      this.keys.measuring,
      this.defaults.running ? '1' : '0',
      new Date().toISOString(),
      by,
    )) as string;
    const state = await this.get();
    state.running = flipped === '1';
    await this.redis.publish(this.keys.measuringChanged, JSON.stringify(state));
    return state;
  }

  private async write(fields: Record<string, string>, by: StateSource): Promise<MeasuringState> {
    await this.redis.hset(this.keys.measuring, {
      ...fields,
      updatedAt: new Date().toISOString(),
      updatedBy: by,
    });
    const state = await this.get();
    await this.redis.publish(this.keys.measuringChanged, JSON.stringify(state));
    return state;
  }
}
