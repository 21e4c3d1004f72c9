import { createLogger, HealthEndpoint, loadConfig, redactConfig, runService } from '@sensorfleet/shared';
import { webadminEnv } from './config.js';
import { pagesPlugin } from './pages/index.js';
import { createWebadmin } from './webadmin-service.js';

const config = loadConfig('webadmin', webadminEnv);
const log = createLogger('webadmin', config.LOG_LEVEL);
log.info({ config: redactConfig(webadminEnv, config) }, 'starting');

const webadmin = await createWebadmin(config, log, { extraPlugins: [pagesPlugin] });
const { app } = webadmin;
// Healthy only once the HTTP port takes requests: the components before it (database, broker, alerts)
// may all be ready a moment earlier, and a load balancer must not send traffic to a closed port.
let listening = false;

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
        const report = JSON.parse(r.body) as { ok: boolean; checks: Record<string, { ok: boolean }> };
        return { ok: report.ok && listening, checks: { ...report.checks, http: { ok: listening } } };
      },
    }),
    ...webadmin.components,
    {
      name: 'http',
      start: async () => {
        await app.listen({ port: config.HTTP_PORT, host: config.HTTP_HOST });
        listening = true;
        log.info(
          { url: config.PUBLIC_URL ?? `http://${config.HTTP_HOST}:${config.HTTP_PORT}` },
          'web admin listening',
        );
      },
      // Stopped first: no new requests; open WebSockets are closed by the live hub after this.
      stop: () => {
        listening = false;
        return app.close();
      },
    },
  ],
});
