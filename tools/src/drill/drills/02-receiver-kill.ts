import { sleep } from '../../harness/index.js';
import type { Drill } from '../drill.js';
import type { DrillSystem } from '../drill-system.js';
import { runFault } from '../drill-steps.js';

/**
 * A receiver killed -9 while it has batches open (native telemetry and source-004 messages stream to
 * both replicas), restarted after a few seconds: what it had taken but not committed comes again (native:
 * the devices resend; 004: its broker session still holds what it had not PUBACKed).
 */
export const receiverKill: Drill<DrillSystem> = {
  id: '2',
  name: 'receiver kill -9 mid-batch',
  quick: true,
  run: async (system, scale, log) => {
    const receiver = system.receivers[0]!;
    const before = await system.receiverMessages(0);
    return runFault(
      system,
      {
        id: '2',
        name: 'receiver kill -9 mid-batch (native + 004)',
        fault: async () => {
          // Kill while it is taking messages (its counter moves), so there is an open batch to lose.
          for (let i = 0; i < 50 && (await system.receiverMessages(0)) === before; i++) await sleep(100);
          await receiver.kill();
        },
        faultMs: Math.min(scale.outageMs, 5000),
        heal: () => receiver.start(),
        checks: async (window) => [
          {
            ok: (await system.receiverMessages(0)) > 0,
            note: 'the restarted replica takes messages again',
          },
          {
            ok: window.with004,
            note: 'source-004 traffic was part of the window',
          },
        ],
      },
      log,
    );
  },
};
