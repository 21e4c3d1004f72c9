/**
 * Source 004's devices/{uuid}/status: a JSON object merged into last_report_data.status; its `status`
 * string (1–50 chars) becomes device_status, and "offline" also clears online (anything else sets it). A
 * `status` field that is not such a string changes no device status; the object is still merged.
 */
import { COMPAT004_MAX_DEVICE_STATUS_LENGTH } from '@sensorfleet/shared';
import type { IntakeParts } from '../ingest/ingest-item.js';
import { parse004Object, whole } from './payload.js';

export function status004(payload: Buffer, maxBytes: number): IntakeParts {
  const parsed = parse004Object(payload, maxBytes, 'status');
  if (!parsed.ok) return whole(parsed.rejection);
  const status = parsed.value;
  const s = status['status'];
  const deviceStatus =
    typeof s === 'string' && s.length > 0 && s.length <= COMPAT004_MAX_DEVICE_STATUS_LENGTH ? s : undefined;
  return {
    readings: [],
    rejected: [],
    registry: [
      { kind: 'online', online: deviceStatus?.toLowerCase() !== 'offline' },
      deviceStatus === undefined
        ? { kind: 'status004', status }
        : { kind: 'status004', status, deviceStatus },
    ],
  };
}
