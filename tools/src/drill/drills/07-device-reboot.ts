import { sleep, waitFor } from '../../harness/index.js';
import type { Drill } from '../drill.js';
import type { DrillSystem } from '../drill-system.js';
import { runFault } from '../drill-steps.js';

/**
 * A reboot during a replay: the broker is away long enough for a backlog to build, comes back, and while
 * the devices replay it every device process (Redis, sensor, mqtthandler) is killed -9 at once; then
 * they boot again and finish the replay.
 */
/** Readings per device appended to the outbox while the broker is away (as the sensor would append them). */
const REPLAY_BACKLOG = 5000;

export const deviceReboot: Drill<DrillSystem> = {
  id: '7',
  name: 'every device process killed during a replay',
  quick: true,
  run: async (system, scale, log) => {
    let replaying = false;
    return runFault(
      system,
      {
        id: '7',
        name: 'reboot (all device processes -9) during a replay',
        fault: async () => {
          await system.broker.server.stop();
          await sleep(Math.max(10_000, scale.outageMs / 2));
          // A backlog the replay needs seconds for, whatever the outage: with a few seconds' worth of
          // readings the replay could end before the kill (the drill's own precondition failed then).
          await Promise.all(system.devices.map((d) => d.appendBacklog(REPLAY_BACKLOG)));
          await system.broker.server.start();
          // Mid-replay: the backlog has started to shrink but is not gone.
          const first = await Promise.all(system.devices.map((d) => d.counters()));
          await waitFor(
            'the replay to start',
            30_000,
            async () => {
              const now = await Promise.all(system.devices.map((d) => d.counters()));
              return now.some((c, i) => c.backlog < first[i]!.backlog);
            },
            10,
          );
          const left = await Promise.all(system.devices.map((d) => d.counters()));
          replaying = left.some((c) => c.backlog > 5);
          log(`  killing every device process, backlogs ${left.map((c) => c.backlog).join(', ')}`);
          await Promise.all(system.devices.map((d) => d.killAll()));
        },
        faultMs: 2000,
        brokerRestart: true,
        heal: async () => {
          await Promise.all(system.devices.map((d) => d.boot()));
        },
        checks: async () => [{ ok: replaying, note: 'the kill came while a backlog was being replayed' }],
      },
      log,
    );
  },
};
