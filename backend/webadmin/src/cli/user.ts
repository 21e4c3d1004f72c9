import { createPool, migrate } from '@sensorfleet/mariadb';
import { env, loadConfig } from '@sensorfleet/shared';
import { runUserCli, UsageError, USAGE } from './user-cli.js';

/** `npm run user -- …`: accounts and API tokens of the web admin (see README "CLI"). */
const config = loadConfig('user', {
  DATABASE_URL: env.urlList({
    default: 'mariadb://sensorfleet:sensorfleet@localhost:3306/sensorfleet',
    protocols: ['mariadb:', 'mysql:'],
    description: 'MariaDB of the backend (one URL, or a comma-separated list for a Galera cluster)',
    secret: true,
  }),
});
const argv = process.argv.slice(2);
if (!argv.length || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
  process.stderr.write(`${USAGE}\n`);
  process.exit(argv.length ? 0 : 2);
}
const pool = createPool(config.DATABASE_URL, { connectionLimit: 1 });
try {
  await migrate(pool); // the CLI may come before the service's first start
  process.exitCode = await runUserCli(argv, pool, {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
  });
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`user: ${err.message}\n${USAGE}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`user: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
} finally {
  await pool.end();
}
