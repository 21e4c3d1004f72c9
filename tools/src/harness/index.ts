/**
 * Real-server test harness: private Redis, Mosquitto and MariaDB instances from the system's binaries,
 * on free ports, in temp dirs, that tests can stop, kill -9 and restart. See managed-server.ts for the
 * lifecycle, run-root.ts for cleanup, global-setup.ts for the Vitest hooks.
 */
export { ManagedServer, ServerStartError, type ServerOptions, type SpawnSpec } from './managed-server.js';
export { RedisServer, redisCommand, type RedisServerOptions } from './redis.js';
export { MosquittoServer, mqttConnectProbe, type MosquittoServerOptions } from './mosquitto.js';
export { MariaDbServer, ensureMariaDbTemplate, mariadbTemplateDir, mariadbVersion } from './mariadb.js';
export { freePort } from './ports.js';
export { harnessRoot, harnessBase, sweepStaleRuns } from './run-root.js';
export { PrometheusServer, type PrometheusServerOptions, type PromSample } from './prometheus.js';
