import { sleep, waitFor } from '../../harness/index.js';
import type { Drill } from '../drill.js';
import type { DrillSystem } from '../drill-system.js';
import { runFault } from '../drill-steps.js';

/**
 * The outbox bound: a device with a small OUTBOX_MAX_READINGS while the broker is away until the cap is
 * passed. The oldest readings go, and exactly the number missing in MariaDB is counted, in the device's
 * Redis (`dropped`), in its reported state and in the web admin's device detail. The broker goes while
 * readings are on their way: some are stored but their ack is lost, then the bound drops them; the device
 * asks the backend about those (docs/design.md#outbox-drop-count) and counts none of them.
 */
export const outboxCap: Drill<DrillSystem> = {
  id: '9',
  name: 'outbox cap reached',
  quick: true,
  run: async (system, scale, log) => {
    const cap = scale.quick ? 50 : 300;
    const id = 'drill-cap';
    const device = await system.addDevice(id, { sensorEnv: { OUTBOX_MAX_READINGS: String(cap) } });
    try {
      let redisDropped = 0;
      let apiDropped: unknown;
      return await runFault(
        system,
        {
          id: '9',
          name: `outbox cap ${cap} reached (broker away)`,
          deviceIds: [id],
          with004: false,
          // The device is new: its window is its whole life, so every dropped seq is one of its own.
          fromZero: true,
          allowedLoss: Number.POSITIVE_INFINITY,
          fault: async () => {
            // Measuring goes on: readings are in flight when the broker goes, and acks go with it.
            await system.broker.server.stop();
          },
          faultMs: 0,
          heal: async () => {
            await waitFor('the cap to be passed', 120_000, async () => (await device.counters()).dropped > 0);
            await sleep(Math.min(scale.outageMs, 3000));
            await system.broker.server.start();
          },
          checks: async (window) => {
            const counters = await device.counters();
            redisDropped = counters.dropped;
            const probed = await device.probedDrops();
            const produced = window.end!.counters.get(id)!.lastSeq;
            await waitFor('the web admin to show the drops', 30_000, async () => {
              const r = await system.api('GET', `/api/devices/${id}`);
              apiDropped = (r.body as { state?: { dropped?: unknown } })?.state?.dropped;
              return apiDropped === redisDropped;
            }).catch(() => undefined);
            return [
              { ok: redisDropped > 0, note: `the outbox dropped ${redisDropped} reading(s) (Redis dropped)` },
              {
                ok: counters.dropsUnconfirmed === 0,
                note: `${counters.dropsUnconfirmed} dropped sent reading(s) left unsettled (dropped:unconfirmed)`,
              },
              {
                ok: apiDropped === redisDropped,
                note: `web admin device detail state.dropped = ${String(apiDropped)} (device: ${redisDropped})`,
              },
              { ok: produced > cap, note: `${produced} produced with a cap of ${cap}` },
              {
                ok: true,
                note:
                  `dropped after being sent, settled by probe: ${probed.stored} stored (not counted),` +
                  ` ${probed.unknown} not stored (counted)`,
              },
            ];
          },
        },
        log,
      );
    } finally {
      await system.removeDevice(id);
    }
  },
};
