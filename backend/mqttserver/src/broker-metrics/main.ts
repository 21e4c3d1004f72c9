import {
  createLogger,
  createMetricsRegistry,
  HealthEndpoint,
  loadConfig,
  redactConfig,
  runService,
} from '@sensorfleet/shared';
import { BrokerStats } from './broker-stats.js';
import { brokerMetricsEnv } from './config.js';
import { SysSubscriber } from './sys-subscriber.js';

/**
 * The broker's `$SYS` statistics as Prometheus metrics (`sensorfleet_broker_*`), from the `monitor`
 * account. It runs from the mqttserver image with another command (docker-compose.backend.yml).
 */
const config = loadConfig('broker-metrics', brokerMetricsEnv);
const log = createLogger('broker-metrics', config.LOG_LEVEL);
log.info({ config: redactConfig(brokerMetricsEnv, config) }, 'starting');

const registry = createMetricsRegistry('broker-metrics');
const url = new URL(config.MQTT_URL);
const stats = new BrokerStats(registry, url.host);
const subscriber = new SysSubscriber({
  url: config.MQTT_URL,
  username: config.MQTT_USERNAME,
  password: config.MQTT_PASSWORD,
  caFile: config.MQTT_CA_FILE,
  stats,
  log,
});

await runService({
  name: 'broker-metrics',
  log,
  components: [
    subscriber,
    new HealthEndpoint({
      port: config.METRICS_PORT,
      host: config.METRICS_HOST,
      registry,
      log,
      health: () => {
        const ageMs = stats.ageMs();
        const fresh = ageMs <= config.BROKER_METRICS_STALE_S * 1000;
        return {
          ok: subscriber.connected && fresh,
          checks: {
            mqtt: { ok: subscriber.connected },
            sys: { ok: fresh, detail: { ageS: Number.isFinite(ageMs) ? Math.round(ageMs / 1000) : null } },
          },
        };
      },
    }),
  ],
});
