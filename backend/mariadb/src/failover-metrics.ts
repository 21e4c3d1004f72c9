import { Counter, Gauge, type Logger, type Registry } from '@sensorfleet/shared';
import type { FailoverEvents } from './failover-pool.js';

/**
 * Prometheus metrics and log lines for a FailoverPool (DATABASE_URL list): which node takes the writes,
 * how often a node was given up on, and how many autocommit statements were run again after losing a
 * certification conflict. Pass the result to createPool.
 */
export function failoverMetrics(registry: Registry, log: Logger): FailoverEvents {
  const r = [registry];
  const nodeDown = new Counter({
    name: 'sensorfleet_db_node_failures_total',
    help: 'times a database node was given up on (unreachable, connection lost, not Primary), by node',
    labelNames: ['node'],
    registers: r,
  });
  const active = new Gauge({
    name: 'sensorfleet_db_active_node',
    help: '1 for the database node that takes this process’s statements (DATABASE_URL list), else 0',
    labelNames: ['node'],
    registers: r,
  });
  const conflictRetries = new Counter({
    name: 'sensorfleet_db_conflict_retries_total',
    help: 'autocommit statements run again after a certification conflict or deadlock',
    registers: r,
  });
  let current: string | undefined;
  return {
    onNodeDown(node, err) {
      nodeDown.inc({ node });
      log.warn({ node, err }, 'database node failed; using the next one in DATABASE_URL');
    },
    onActiveNode(node) {
      if (current !== undefined) active.set({ node: current }, 0);
      current = node;
      active.set({ node }, 1);
      log.info({ node }, 'database node in use');
    },
    onConflictRetry(err) {
      conflictRetries.inc();
      log.debug({ err }, 'statement lost a certification conflict; running it again');
    },
  };
}
