/** The device shapes of the API (GET /api/devices, GET /api/devices/{id}) and of /ws `device` messages. */
export interface SensorStatus {
  status?: string;
  driver?: string;
  model?: string;
  lastError?: string;
  errors?: number;
  redisLostAppends?: number;
  clockJumps?: number;
  lastClockJump?: { at?: string; byMs?: number } | null;
}

export interface DeviceState {
  running?: boolean;
  intervalMs?: number;
  backlog?: number;
  oldestUnackedTs?: string | null;
  lastSeq?: number;
  dropped?: number;
  /** Dropped by the bound after being sent: not counted until the backend says it lacks them. */
  dropsUnconfirmed?: number;
  rejected?: number;
  seqConflicts?: number;
  sensor?: SensorStatus;
  version?: string;
  uptimeS?: number;
  ts?: string;
}

export interface Device {
  id: string;
  name?: string | null;
  online: boolean;
  lastSeen?: string | null;
  state?: DeviceState | null;
  latest?: Record<string, { value: number; ts: string }> | null;
}

/**
 * Folds a live message into the device. `device` messages carry what changed (online, state, lastSeen);
 * `reading` messages the newest values, which also prove the device is up.
 */
export function applyLive(d: Device, msg: Record<string, unknown>): boolean {
  if (msg.type === 'reading') {
    const ts = String(msg.ts);
    const values = (msg.values ?? {}) as Record<string, number>;
    d.latest = { ...(d.latest ?? {}) };
    for (const [k, v] of Object.entries(values)) {
      const prev = d.latest[k];
      if (!prev || prev.ts <= ts) d.latest[k] = { value: v, ts };
    }
    if (!d.lastSeen || d.lastSeen < ts) d.lastSeen = ts;
    d.online = true;
    return true;
  }
  if (msg.type === 'device') {
    const src = (typeof msg.device === 'object' && msg.device ? msg.device : msg) as Partial<Device>;
    if (typeof src.online === 'boolean') d.online = src.online;
    if (src.state && typeof src.state === 'object') d.state = { ...(d.state ?? {}), ...src.state };
    if (typeof src.lastSeen === 'string') d.lastSeen = src.lastSeen;
    if (typeof src.name === 'string' || src.name === null) d.name = src.name;
    return true;
  }
  return false;
}
