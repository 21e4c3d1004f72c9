/**
 * Source 004's devices/{uuid}/heartbeat: any JSON object, or an empty payload. Only its arrival matters:
 * last_heartbeat_at and online (its `timestamp`, if any, is not used).
 */
import type { IntakeParts } from '../ingest/ingest-item.js';
import { parse004Object, whole } from './payload.js';

export function heartbeat004(payload: Buffer, maxBytes: number): IntakeParts {
  const parsed = parse004Object(payload, maxBytes, 'heartbeat', {});
  if (!parsed.ok) return whole(parsed.rejection);
  return {
    readings: [],
    rejected: [],
    registry: [{ kind: 'heartbeat' }, { kind: 'online', online: true }],
  };
}
