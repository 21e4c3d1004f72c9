import { createLogger, env, loadConfig } from '@sensorfleet/shared';
import { migrate } from './migrate.js';
import { createPool } from './pool.js';

/** `npm start --workspace=backend/mariadb`: run the migrations once and exit (an init container / job). */
const config = loadConfig('mariadb-migrate', {
  DATABASE_URL: env.urlList({
    protocols: ['mariadb:', 'mysql:'],
    description: 'database to migrate; a comma-separated list of URLs for a Galera cluster',
    secret: true,
  }),
  LOG_LEVEL: env.string({ default: 'info', description: 'pino log level' }),
});
const log = createLogger('mariadb-migrate', config.LOG_LEVEL);
const pool = createPool(config.DATABASE_URL, { connectionLimit: 1 });
try {
  const result = await migrate(pool);
  log.info(result, 'schema up to date');
} catch (err) {
  log.fatal({ err }, 'migration failed');
  process.exitCode = 1;
} finally {
  await pool.end();
}
