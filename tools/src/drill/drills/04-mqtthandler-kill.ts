import type { Drill } from '../drill.js';
import type { DrillSystem } from '../drill-system.js';
import { runFault } from '../drill-steps.js';

/** Every device's mqtthandler killed -9 with batches in flight, restarted as balena would. */
export const mqtthandlerKill: Drill<DrillSystem> = {
  id: '4',
  name: 'mqtthandler kill -9',
  quick: true,
  run: (system, scale, log) =>
    runFault(
      system,
      {
        id: '4',
        name: 'mqtthandler kill -9 (every device)',
        fault: async () => {
          await Promise.all(system.devices.map((d) => d.mqtthandler.kill()));
        },
        faultMs: Math.min(scale.outageMs, 3000),
        heal: async () => {
          await Promise.all(system.devices.map((d) => d.mqtthandler.start()));
        },
      },
      log,
    ),
};
