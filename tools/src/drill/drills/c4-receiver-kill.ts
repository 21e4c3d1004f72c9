import type { Drill } from '../drill.js';
import { INTAKE_QUEUE, type ClusterSystem } from '../cluster-system.js';
import { runClusterFault, timeUntil } from '../cluster-steps.js';

/**
 * kill -9 of a receiver with deliveries unacked: the quorum queue hands them to the other replica once
 * the dead one's connection is gone, every seq is stored once (the inserts are idempotent).
 */
export const clusterReceiverKill: Drill<ClusterSystem> = {
  id: 'c4',
  name: 'receiver kill -9',
  quick: false,
  run: async (system, scale, log) => {
    const receiver = system.receivers[0]!;
    return runClusterFault(
      system,
      {
        id: 'c4',
        name: 'receiver kill -9',
        kill: () => receiver.kill(),
        failover: async (killedAt) => {
          const ms = await timeUntil('the dead receiver gone from the queue', killedAt, async () => {
            const out = await system.rabbit.ctl([
              'list_queues',
              '-q',
              'name',
              'consumers',
              '--formatter',
              'json',
            ]);
            const rows = JSON.parse(out) as { name: string; consumers?: number }[];
            return rows.some((r) => r.name === INTAKE_QUEUE && r.consumers === 1);
          });
          return `the queue down to 1 consumer ${ms} ms after the kill`;
        },
        restart: async () => {
          await receiver.start();
          await system.waitReceiverHealthy(0);
        },
      },
      scale,
      log,
    );
  },
};
