import type { Drill } from '../drill.js';
import type { DrillSystem } from '../drill-system.js';
import { runFault, seconds } from '../drill-steps.js';

/** Mosquitto stopped for the outage: devices keep measuring into their outboxes and replay after. */
export const brokerDown: Drill<DrillSystem> = {
  id: '1',
  name: 'broker down',
  quick: true,
  run: (system, scale, log) =>
    runFault(
      system,
      {
        id: '1',
        name: `broker down ${seconds(scale.outageMs)}`,
        fault: () => system.broker.server.stop(),
        faultMs: scale.outageMs,
        heal: () => system.broker.server.start(),
        brokerRestart: true,
      },
      log,
    ),
};
