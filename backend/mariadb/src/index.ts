export { migrate, type MigrationResult } from './migrate.js';
export { migrations, type Migration } from './migrations.js';
export { createPool, parseDatabaseUrl } from './pool.js';
