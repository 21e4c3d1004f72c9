/** 004's SIMPLE data format (ESP32 and the like): `{"temperature":25.5,"humidity":60}`, measured when received. */
import { sensorValueBreach, shown } from '../intake/reading-rules.js';
import { SampleCollector, type Normalised004 } from './samples.js';

export function normaliseSimple(payload: Record<string, unknown>, receivedAt: Date): Normalised004 {
  const collector = new SampleCollector();
  const keys = Object.keys(payload);
  for (const key of keys) {
    const where = `key ${shown(key)}`;
    const value = payload[key];
    const breach = sensorValueBreach(key, value);
    if (breach) collector.reject(breach.reason, `${where}: ${breach.detail}`);
    else collector.add({ sensor: key, value: value as number, measuredAt: receivedAt }, where);
  }
  const rejected = collector.rejected;
  if (keys.length === 0) {
    rejected.push({ scope: 'message', reason: 'empty', detail: 'the message has no sensor values' });
  }
  return { samples: collector.samples, rejected };
}
