import { defineConfig } from 'vitest/config';

// Unit tests are pure and fast; integration tests (*.int.test.ts) start real Redis / Mosquitto / MariaDB
// through tools/src/harness, so they get longer timeouts and fewer parallel workers on a 2-core machine.
export default defineConfig({
  test: {
    reporters: ['default', './vitest.summary-reporter.js'],
    globalSetup: ['./tools/dist/harness/global-setup.js'],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['**/test/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['**/test/**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 180_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
    ],
  },
});
