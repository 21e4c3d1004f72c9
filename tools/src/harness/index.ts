/**
 * Real-server test harness: private Redis, Mosquitto and MariaDB instances from the system's binaries,
 * and our own services as real processes, on free ports, in temp dirs, that tests can stop, kill -9 and
 * restart. See managed-server.ts for the lifecycle, run-root.ts for cleanup, global-setup.ts for the
 * Vitest hooks. Tests of every package import it as `@sensorfleet/tools/harness`.
 */
export {
  ManagedServer,
  ServerStartError,
  type ServerOptions,
  type ServerPlacement,
  type SpawnSpec,
} from './managed-server.js';
export {
  AOF_DIRNAME,
  DEVICE_REDIS_CONF,
  RedisServer,
  redisCommand,
  type RedisServerOptions,
} from './redis.js';
export { commandLoggingClient } from './redis-command-log.js';
export { autogroupEnabled, autogroupOf, BULK_PATH_NICE, setCpuPriority } from './cpu-priority.js';
export { POWER_CUT_SOURCE, powerCutEnv, powerCutLibrary } from './power-cut.js';
export { MosquittoServer, mqttConnectProbe, type MosquittoServerOptions } from './mosquitto.js';
export { makeDevCerts, SecuredBroker, type SecuredBrokerOptions } from './secured-broker.js';
export {
  BROKER_ACL_FILE,
  BROKER_CONFIG_TEMPLATE,
  BROKER_DIR,
  renderBrokerConfig,
  renderShippedBrokerConfig,
  shippedBrokerLimits,
  type BrokerConfigOptions,
} from './broker-config.js';
export {
  GaleraCluster,
  GaleraNode,
  type GaleraClusterOptions,
  type GaleraNodeStatus,
  type GaleraPorts,
} from './galera.js';
export { MariaDbServer, ensureMariaDbTemplate, mariadbTemplateDir, mariadbVersion } from './mariadb.js';
export {
  httpGet,
  nodeFlagsOf,
  NodeService,
  type NodeServiceOptions,
  type ServiceName,
} from './node-service.js';
export { DeviceRig, type DeviceRigOptions } from './device-rig.js';
export { EntrypointServer, type EntrypointServerOptions } from './entrypoint-server.js';
export { findBinary } from './binaries.js';
export { NetworkNamespace, sweepStaleNamespaces, type NetworkNamespaceOptions } from './netns.js';
export { freePort } from './ports.js';
export { REPO_ROOT } from './repo-root.js';
export { harnessRoot, harnessBase, sweepStaleRuns } from './run-root.js';
export { sleep, waitFor } from './wait-for.js';
export { PrometheusServer, type PrometheusServerOptions, type PromSample } from './prometheus.js';
export { MysqldExporter, type MysqldExporterOptions } from './mysqld-exporter.js';
export { RabbitMqCluster, RabbitMqNode, type CliResult, type RabbitMqClusterOptions } from './rabbitmq.js';
