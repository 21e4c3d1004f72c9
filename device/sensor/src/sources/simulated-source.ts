/**
 * A sensor that needs no hardware: smooth, plausible signals from the clock plus seeded noise.
 *
 * - temperature (°C): daily cycle around 21 ± 4, coldest at 05:00 and warmest at 15:00 local solar time
 *   (approximated by UTC), rising over 10 h and falling over 14 h like a real day;
 * - humidity (%RH): anti-correlated with temperature (≈ 55 ∓ 15), clamped to 0 … 100;
 * - pressure (hPa): around 1013 with a slow drift (two long sines, periods of days and hours);
 * - sine: a pure sine of amplitude 1 and a configurable period (default 60 s), no noise — handy to see
 *   in Grafana that every sample arrives.
 * The same seed and the same sequence of `now()` values give the same readings.
 */
import { gaussian, mulberry32 } from './prng.js';
import type { SensorSource, SensorValues, SourceInfo } from './sensor-source.js';

export interface SimulatedSourceOptions {
  seed: number;
  /** Clock in ms since the epoch (injected so tests control time). */
  now: () => number;
  /** Period of the `sine` channel (default 60 000 ms). */
  sinePeriodMs?: number;
  /** Add measurement noise (default true). */
  noise?: boolean;
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

const TEMPERATURE_MEAN = 21;
const TEMPERATURE_AMPLITUDE = 4;
const COLDEST_HOUR = 5;
const WARMEST_HOUR = 15;
const HUMIDITY_MEAN = 55;
const HUMIDITY_SWING = 15;
const PRESSURE_MEAN = 1013;
/** Slow weather drift: [period ms, amplitude hPa]. */
const PRESSURE_WAVES: ReadonlyArray<readonly [number, number]> = [
  [5 * DAY_MS, 8],
  [31 * HOUR_MS, 3],
];
/** Standard deviation of the noise per channel. */
const NOISE = { temperature: 0.1, humidity: 0.5, pressure: 0.05 } as const;

const CHANNELS = ['temperature', 'humidity', 'pressure', 'sine'];

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/**
 * Position in the daily cycle, −1 at the coldest hour and +1 at the warmest, following a half cosine up
 * (05:00 → 15:00) and another down (15:00 → 05:00).
 */
export function dailyCycle(timeMs: number): number {
  const hour = (((timeMs % DAY_MS) + DAY_MS) % DAY_MS) / HOUR_MS;
  const rise = WARMEST_HOUR - COLDEST_HOUR;
  const sinceColdest = (hour - COLDEST_HOUR + 24) % 24;
  if (sinceColdest < rise) return -Math.cos((Math.PI * sinceColdest) / rise);
  return Math.cos((Math.PI * (sinceColdest - rise)) / (24 - rise));
}

export class SimulatedSource implements SensorSource {
  readonly kind = 'simulated';

  private readonly now: () => number;
  private readonly sinePeriodMs: number;
  private readonly noise: boolean;
  private readonly normal: () => number;
  private readonly pressurePhases: number[];

  constructor(options: SimulatedSourceOptions) {
    if (!Number.isFinite(options.seed)) throw new RangeError('SimulatedSource seed must be a finite number');
    const sinePeriodMs = options.sinePeriodMs ?? 60_000;
    if (!Number.isFinite(sinePeriodMs) || sinePeriodMs <= 0) {
      throw new RangeError(`SimulatedSource sinePeriodMs must be > 0, got ${sinePeriodMs}`);
    }
    this.now = options.now;
    this.sinePeriodMs = sinePeriodMs;
    this.noise = options.noise ?? true;
    const uniform = mulberry32(options.seed);
    // Each seed gets its own weather: the drift's phases come from the same generator as the noise.
    this.pressurePhases = PRESSURE_WAVES.map(() => uniform() * 2 * Math.PI);
    this.normal = gaussian(uniform);
  }

  async open(): Promise<SourceInfo> {
    return {
      model: 'simulated',
      channels: [...CHANNELS],
      detail: { sinePeriodMs: this.sinePeriodMs, noise: this.noise },
    };
  }

  async read(): Promise<SensorValues> {
    const t = this.now();
    const cycle = dailyCycle(t);
    const temperature = TEMPERATURE_MEAN + TEMPERATURE_AMPLITUDE * cycle + this.jitter(NOISE.temperature);
    const humidity = Math.min(
      100,
      Math.max(0, HUMIDITY_MEAN - HUMIDITY_SWING * cycle + this.jitter(NOISE.humidity)),
    );
    let pressure = PRESSURE_MEAN;
    PRESSURE_WAVES.forEach(([period, amplitude], i) => {
      pressure += amplitude * Math.sin((2 * Math.PI * t) / period + (this.pressurePhases[i] ?? 0));
    });
    pressure += this.jitter(NOISE.pressure);
    const sine = Math.sin((2 * Math.PI * t) / this.sinePeriodMs);
    return {
      temperature: round2(temperature),
      humidity: round2(humidity),
      pressure: round2(pressure),
      sine: round2(sine) + 0, // + 0 turns −0 into 0
    };
  }

  async close(): Promise<void> {}

  private jitter(sigma: number): number {
    return this.noise ? sigma * this.normal() : 0;
  }
}
