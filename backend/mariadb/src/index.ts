export { migrate, migrateWhenReady, type MigrationResult } from './migrate.js';
export { migrations, type Migration } from './migrations.js';
export { createPool, parseDatabaseUrl } from './pool.js';
export { queryIngestStats, type IngestStatsOptions, type Queryable } from './ingest-stats-query.js';
export { findMessageLog, type MessageLogQuery } from './message-log-query.js';
export { queryRollups, type RollupQuery } from './rollup-query.js';
