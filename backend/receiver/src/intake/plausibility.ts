/**
 * Physically sensible ranges of the sensor names whose unit is fixed (docs/design.md#readings-and-seqs: `temperature` °C,
 * `humidity` %RH, `pressure` hPa, and the derived `dew_point` / `heat_index` °C). A value outside its
 * range is a broken sensor or a unit mix-up (°F, Pa), not weather: the reading is rejected with reason
 * `out_of_range` instead of polluting history and alerts. Sensor names not listed here accept any finite
 * number (their unit is the device's business).
 */
export interface PlausibleRange {
  readonly min: number;
  readonly max: number;
  readonly unit: string;
  readonly why: string;
}

export const PLAUSIBLE_RANGES: Readonly<Record<string, PlausibleRange>> = {
  temperature: {
    min: -90,
    max: 90,
    unit: '°C',
    why: 'air on Earth: record low −89.2 °C (Vostok), record high 56.7 °C',
  },
  humidity: { min: 0, max: 100, unit: '%RH', why: 'relative humidity is a percentage' },
  pressure: {
    min: 300,
    max: 1100,
    unit: 'hPa',
    why: 'BME280 range; Everest summit ≈ 330 hPa, record high ≈ 1084 hPa (Pa or kPa would fall outside)',
  },
  dew_point: { min: -90, max: 90, unit: '°C', why: 'never above the air temperature' },
  heat_index: {
    min: -90,
    max: 150,
    unit: '°C',
    why: 'the NWS regression has no physical meaning far beyond the hottest air on record',
  },
  light: { min: 0, max: 200_000, unit: 'lx', why: 'direct sunlight is about 120 000 lx' },
  battery: { min: 0, max: 100, unit: '%', why: 'a charge level is a percentage' },
};

/** `undefined` when the value is plausible for its sensor, else why not (for the rejection detail). */
export function implausibility(sensor: string, value: number): string | undefined {
  const range = Object.hasOwn(PLAUSIBLE_RANGES, sensor) ? PLAUSIBLE_RANGES[sensor] : undefined;
  if (!range || (value >= range.min && value <= range.max)) return undefined;
  return `${sensor} ${value} is outside ${range.min}…${range.max} ${range.unit}`;
}
