import type { Drill } from '../drill.js';
import type { DrillSystem } from '../drill-system.js';
import { runFault, seconds } from '../drill-steps.js';

/** MariaDB stopped for the outage: nothing is acked meanwhile, the receivers pause, nothing is lost. */
export const mariadbDown: Drill<DrillSystem> = {
  id: '3',
  name: 'MariaDB down',
  quick: true,
  run: (system, scale, log) =>
    runFault(
      system,
      {
        id: '3',
        name: `MariaDB down ${seconds(scale.outageMs)}`,
        fault: () => system.db.stop(),
        faultMs: scale.outageMs,
        heal: () => system.db.start(),
        checks: async () => {
          const pids = system.receivers.map((r) => r.pid);
          return [{ ok: pids.every((p) => p !== undefined), note: 'both receivers survived the outage' }];
        },
      },
      log,
    ),
};
