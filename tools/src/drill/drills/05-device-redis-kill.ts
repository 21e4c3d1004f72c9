import type { Drill } from '../drill.js';
import type { DrillSystem } from '../drill-system.js';
import { runFault } from '../drill-steps.js';

/**
 * The device Redis killed -9 and restarted, on the devices with the given `appendfsync`. The sensor
 * keeps measuring into memory meanwhile and appends when Redis is back. A kill -9 keeps what Redis
 * wrote to the page cache, so both policies must lose nothing here; with everysec a power cut may lose
 * up to 1 s, which the drill allows as long as every lost seq is counted (redisLostAppends).
 */
function redisKill(fsync: 'always' | 'everysec', id: string): Drill<DrillSystem> {
  return {
    id,
    name: `device Redis kill -9 (appendfsync ${fsync})`,
    quick: true,
    run: async (system, scale, log) => {
      const devices = system.devices.filter((d) => d.redisServer.appendfsync === fsync);
      if (devices.length === 0) throw new Error(`no device with appendfsync ${fsync} (DRILL_DEVICES ≥ 2)`);
      const perSecond = 1000 / system.intervalMs;
      return runFault(
        system,
        {
          id,
          name: `device Redis kill -9, appendfsync ${fsync}`,
          deviceIds: devices.map((d) => d.id),
          with004: false,
          allowedLoss: fsync === 'always' ? 0 : Math.ceil(perSecond) * devices.length,
          fault: async () => {
            await Promise.all(devices.map((d) => d.redisServer.kill()));
          },
          faultMs: Math.min(scale.outageMs, 3000),
          heal: async () => {
            await Promise.all(devices.map((d) => d.redisServer.start()));
          },
          notes: [`${devices.length} device(s): ${devices.map((d) => d.id).join(', ')}`],
        },
        log,
      );
    },
  };
}

export const redisKillAlways = redisKill('always', '5a');
export const redisKillEverysec = redisKill('everysec', '5b');
