/*
 * 004's FULL data format (its HTTP API format):
 *   {"sensors":[{"sensor_name":"temperature","value":25.5,"unit":"°C","timestamp":"…+08:00"}, …],
 *    "status":{…}, "location":{"latitude":39.9,"longitude":116.4}, "timestamp":"…"}
 * (schemas: shared/src/schemas/compat004.ts). Each sample is checked on its own ("partial data errors don't
 * affect the whole"):
 *   - sensor name and value: the rules of every reading (intake/reading-rules.ts);
 *   - unit: optional string of at most 32 chars; "" or null mean "no unit";
 *   - time: the sample's `timestamp`, else the message's top-level `timestamp`, else `receivedAt`; a
 *     timestamp that does not parse (offset-timestamp.ts) rejects the samples that would use it, and a bad
 *     top-level one that no sample uses is reported as a field;
 *   - location (location.ts) and status (must be an object) are dropped as fields when bad, the samples
 *     are kept;
 *   - `"sensors":[]` is an empty message.
 */
import { COMPAT004_MAX_UNIT_LENGTH } from '@sensorfleet/shared';
import { sensorValueBreach, shown } from '../intake/reading-rules.js';
import { checkLocation } from './location.js';
import { resolveTimestamp } from './offset-timestamp.js';
import { isPlainObject } from './payload.js';
import { SampleCollector, type Normalised004, type Sample004 } from './samples.js';

export function normaliseFull(payload: Record<string, unknown>, receivedAt: Date): Normalised004 {
  const result: Normalised004 = { samples: [], rejected: [] };
  const sensors = payload['sensors'];
  if (!Array.isArray(sensors)) {
    // A reading, not the message: the message still says the device is online (as 004 did).
    result.rejected.push({
      scope: 'reading',
      reason: 'schema',
      detail: `"sensors" must be an array, got ${shown(sensors)}`,
    });
    return result;
  }

  const status = payload['status'];
  if (isPlainObject(status)) result.status = status;
  else if (status !== undefined && status !== null) {
    result.rejected.push({
      scope: 'field',
      reason: 'schema',
      detail: `"status" must be an object, got ${shown(status)}; dropped`,
    });
  }

  const rawLocation = payload['location'];
  if (rawLocation !== undefined && rawLocation !== null) {
    const loc = checkLocation(rawLocation);
    if ('reason' in loc) result.rejected.push(loc);
    else result.location = loc;
  }

  const topTime = resolveTimestamp(payload['timestamp'], 'top-level timestamp');
  let topTimeUsed = false;
  const collector = new SampleCollector();

  sensors.forEach((entry, i) => {
    const where = `sensors[${i}]`;
    if (!isPlainObject(entry)) {
      collector.reject('schema', `${where} must be an object, got ${shown(entry)}`);
      return;
    }
    const name = entry['sensor_name'];
    if (typeof name !== 'string') {
      collector.reject(
        typeof name === 'undefined' ? 'schema' : 'bad_sensor_name',
        `${where}: sensor_name must be a string, got ${shown(name)}`,
      );
      return;
    }
    if (!Object.hasOwn(entry, 'value')) {
      collector.reject('schema', `${where}: sensor ${name} has no value`);
      return;
    }
    const value = entry['value'];
    const breach = sensorValueBreach(name, value);
    if (breach) {
      collector.reject(breach.reason, `${where}: ${breach.detail}`);
      return;
    }

    const rawUnit = entry['unit'];
    let unit: string | undefined;
    if (typeof rawUnit === 'string') {
      if (rawUnit.length > COMPAT004_MAX_UNIT_LENGTH) {
        collector.reject(
          'schema',
          `${where}: unit of sensor ${name} is longer than ${COMPAT004_MAX_UNIT_LENGTH} chars`,
        );
        return;
      }
      if (rawUnit !== '') unit = rawUnit;
    } else if (rawUnit !== undefined && rawUnit !== null) {
      collector.reject('schema', `${where}: unit of sensor ${name} must be a string, got ${shown(rawUnit)}`);
      return;
    }

    const own = resolveTimestamp(entry['timestamp'], `${where}: timestamp of sensor ${name}`);
    let time = own;
    if (own === undefined && topTime !== undefined) {
      time = topTime;
      topTimeUsed = true;
    }
    if (time !== undefined && !time.ok) {
      const detail = time === own ? time.detail : `${where}: sensor ${name} has none, and the ${time.detail}`;
      collector.reject('bad_timestamp', detail);
      return;
    }
    const sample: Omit<Sample004, 'seq'> = {
      sensor: name,
      value: value as number,
      measuredAt: time?.at ?? receivedAt,
    };
    if (unit !== undefined) sample.unit = unit;
    collector.add(sample, where);
  });

  if (topTime !== undefined && !topTime.ok && !topTimeUsed) {
    result.rejected.push({ scope: 'field', reason: 'bad_timestamp', detail: `${topTime.detail}; ignored` });
  }
  if (sensors.length === 0) {
    result.rejected.push({ scope: 'message', reason: 'empty', detail: '"sensors" is empty' });
  }
  result.samples = collector.samples;
  result.rejected.push(...collector.rejected);
  return result;
}
