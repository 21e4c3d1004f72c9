export { migrate, migrateWhenReady, type MigrationResult } from './migrate.js';
export { migrations, type Migration } from './migrations.js';
export {
  connectorPoolConfig,
  createPool,
  parseDatabaseUrl,
  splitDatabaseUrls,
  type CreatePoolOptions,
} from './pool.js';
export { guardConnection, type GuardEvents } from './transaction-guard.js';
export { withTransaction, type ConnectionSource } from './with-transaction.js';
export { FailoverPool, type FailoverEvents, type FailoverNode } from './failover-pool.js';
export { isConflict, isNodeFailure } from './galera-errors.js';
export { queryIngestStats, type IngestStatsOptions, type Queryable } from './ingest-stats-query.js';
export { findMessageLog, type MessageLogQuery } from './message-log-query.js';
export { queryRollups, type RollupQuery } from './rollup-query.js';
export { failoverMetrics } from './failover-metrics.js';
