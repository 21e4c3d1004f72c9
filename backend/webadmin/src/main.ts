import { createLogger, HealthEndpoint, loadConfig, redactConfig, runService } from '@sensorfleet/shared';
import { webadminEnv } from './config.js';
import { pagesPlugin } from './pages/index.js';
import { createWebadmin } from './webadmin-service.js';

const config = loadConfig('webadmin', webadminEnv);
const log = createLogger('webadmin', config.LOG_LEVEL);
log.info({ config: redactConfig(webadminEnv, config) }, 'starting');

const webadmin = await createWebadmin(config, log, { extraPlugins: [pagesPlugin] });
const { app } = webadmin;

await runService({
  name: 'webadmin',
  log,
  components: [
    new HealthEndpoint({
      port: config.METRICS_PORT,
      host: config.METRICS_HOST,
      registry: webadmin.registry,
      log,
      health: async () => {
        const r = await app.inject({ method: 'GET', url: '/api/health' });
        return JSON.parse(r.body) as { ok: boolean; checks: Record<string, { ok: boolean }> };
      },
    }),
    ...webadmin.components,
    {
      name: 'http',
      start: async () => {
        await app.listen({ port: config.HTTP_PORT, host: config.HTTP_HOST });
        log.info(
          { url: config.PUBLIC_URL ?? `http://${config.HTTP_HOST}:${config.HTTP_PORT}` },
          'web admin listening',
        );
      },
      // Stopped first: no new requests; open WebSockets are closed by the live hub after this.
      stop: () => app.close(),
    },
  ],
});
