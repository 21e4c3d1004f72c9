import type { Drill } from '../drill.js';
import { INTAKE_QUEUE, type ClusterSystem } from '../cluster-system.js';
import { runClusterFault, timeUntil } from '../cluster-steps.js';
import type { RabbitMqNode } from '../../harness/index.js';

/**
 * kill -9 of the RabbitMQ node that leads the intake quorum queue: the followers elect a new leader,
 * the receivers consuming through that node reconnect to the next one, the devices on it move on with
 * their persistent sessions (quorum session queues). Nothing the queue confirmed is lost.
 */
export const queueLeaderKill: Drill<ClusterSystem> = {
  id: 'c1',
  name: 'intake queue leader node kill -9',
  quick: true,
  run: async (system, scale, log) => {
    let leader: RabbitMqNode | undefined;
    return runClusterFault(
      system,
      {
        id: 'c1',
        name: 'intake queue leader node kill -9',
        choose: async () => {
          leader = await system.rabbit.queueLeader(INTAKE_QUEUE);
          if (!leader) throw new Error(`queue ${INTAKE_QUEUE} has no leader`);
          log(`  the leader is ${leader.nodeName}`);
        },
        kill: async () => leader!.kill(),
        failover: async (killedAt) => {
          const ms = await timeUntil('a new intake queue leader', killedAt, async () => {
            const now = await system.rabbit.queueLeader(INTAKE_QUEUE);
            return now !== undefined && now !== leader;
          });
          return `new leader elected ${ms} ms after the kill (polled with rabbitmqctl, ~1 s a poll)`;
        },
        restart: async () => {
          await leader!.start();
          await system.rabbit.waitForMembers(3);
        },
      },
      scale,
      log,
    );
  },
};
