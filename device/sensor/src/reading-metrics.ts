import { Gauge, type Registry } from '@sensorfleet/shared/metrics';
import type { MeasuringStateReader } from './measurement-loop.js';
import type { SensorSource } from './sources/sensor-source.js';

/**
 * What the device's own dashboard charts besides the counters: the latest value of each sensor channel
 * and the measuring state. They wrap the source and the state reader, so the measurement loop stays
 * unaware of Prometheus. A failed read leaves the last value in place and drops `sensorfleet_sensor_up`
 * to 0, so a chart never shows made-up numbers as fresh ones.
 */
export function observeSensor(
  registry: Registry,
  source: SensorSource,
  state: MeasuringStateReader,
): { source: SensorSource; state: MeasuringStateReader } {
  const value = new Gauge({
    name: 'sensorfleet_reading_value',
    help: 'latest measured value per sensor channel (temperature °C, humidity %RH, pressure hPa)',
    labelNames: ['sensor'],
    registers: [registry],
  });
  const up = new Gauge({
    name: 'sensorfleet_sensor_up',
    help: '1 when the last sensor read succeeded, 0 after a failed open or read',
    registers: [registry],
  });
  const measuring = new Gauge({
    name: 'sensorfleet_measuring',
    help: '1 while measuring is on (button, commands), 0 while stopped',
    registers: [registry],
  });
  const interval = new Gauge({
    name: 'sensorfleet_measuring_interval_seconds',
    help: 'the measuring interval in force',
    registers: [registry],
  });

  const observed: SensorSource = {
    kind: source.kind,
    open: async () => {
      try {
        return await source.open();
      } catch (err) {
        up.set(0);
        throw err;
      }
    },
    read: async () => {
      try {
        const values = await source.read();
        for (const [sensor, v] of Object.entries(values)) value.set({ sensor }, v);
        up.set(1);
        return values;
      } catch (err) {
        up.set(0);
        throw err;
      }
    },
    close: () => source.close(),
  };
  const observedState: MeasuringStateReader = {
    get: async () => {
      const s = await state.get();
      measuring.set(s.running ? 1 : 0);
      interval.set(s.intervalMs / 1000);
      return s;
    },
  };
  return { source: observed, state: observedState };
}
