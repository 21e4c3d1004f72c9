import type { Rejection } from '../ingest/ingest-item.js';
import { shown } from '../intake/reading-rules.js';
import { isPlainObject } from './payload.js';

export interface Location004 {
  latitude: number;
  longitude: number;
}

/** A FULL message's `location`: finite latitude −90…90 and longitude −180…180, or dropped (a field). */
export function checkLocation(raw: unknown): Location004 | Rejection {
  const bad = (why: string): Rejection => ({
    scope: 'field',
    reason: 'bad_location',
    detail: `location ${shown(raw)}: ${why}; dropped`,
  });
  if (!isPlainObject(raw)) return bad('must be an object {latitude, longitude}');
  const { latitude, longitude } = raw;
  if (typeof latitude !== 'number' || !Number.isFinite(latitude))
    return bad('latitude must be a finite number');
  if (typeof longitude !== 'number' || !Number.isFinite(longitude)) {
    return bad('longitude must be a finite number');
  }
  if (latitude < -90 || latitude > 90) return bad('latitude must be within -90..90');
  if (longitude < -180 || longitude > 180) return bad('longitude must be within -180..180');
  return { latitude, longitude };
}
