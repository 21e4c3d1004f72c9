import { defineConfig } from 'vitest/config';

// Unit tests are pure and fast; integration tests (*.int.test.ts) start real Redis / Mosquitto / MariaDB
// through tools/src/harness, so they get longer timeouts. Most integration files spend their time waiting
// on servers and timers, not on the CPU, so `npm test` (scripts/run-tests.mjs) runs two side by side. The
// heavy ones below put whole systems, clusters or long outages on the 2 cores, or measure something
// (memory, recovery, a benchmark's smoke run) that a neighbour's load would distort, so they run afterwards
// in two lanes, one file at a time in each: whole single-machine systems in one, the broker and database
// clusters in the other (the short Galera database test goes with the systems to even out the lanes).
// Two systems with network namespaces never run at once, nor the long cluster drills and benches; these
// tests judge correctness, not speed, and wait for outcomes rather than for fixed times (both lanes
// passed side by side with other sessions' benchmarks loading the machine).
const SYSTEMS_LANE = [
  'tools/test/drill.int.test.ts',
  'tools/test/netns-partition.int.test.ts',
  'tools/test/receiver-resilience.int.test.ts',
  'tools/test/system-bench.int.test.ts',
  'tools/test/galera-database.int.test.ts',
];
const CLUSTERS_LANE = [
  'tools/test/rabbitmq-*.int.test.ts',
  'tools/test/cluster-drill.int.test.ts',
  'tools/test/cluster-bench.int.test.ts',
  'tools/test/galera.int.test.ts',
  'tools/test/galera-receivers.int.test.ts',
  'backend/receiver/test/galera-writers.int.test.ts',
  'backend/webadmin/test/galera.int.test.ts',
  'backend/webadmin/test/broker-cluster.int.test.ts',
];
const RUN_ALONE = [...SYSTEMS_LANE, ...CLUSTERS_LANE];

const integration = {
  include: ['**/test/**/*.int.test.ts'],
  testTimeout: 180_000,
  hookTimeout: 120_000,
  pool: 'forks' as const,
};

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
          ...integration,
          name: 'integration',
          exclude: ['**/node_modules/**', ...RUN_ALONE],
        },
      },
      {
        extends: true,
        test: {
          ...integration,
          name: 'integration-systems',
          include: SYSTEMS_LANE,
          exclude: ['**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          ...integration,
          name: 'integration-clusters',
          include: CLUSTERS_LANE,
          exclude: ['**/node_modules/**'],
        },
      },
    ],
  },
});
