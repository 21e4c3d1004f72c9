import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import type { Logger } from '@sensorfleet/shared';
import { Ajv } from 'ajv';
import Fastify, {
  LogController,
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyPluginAsync,
} from 'fastify';
import type { Pool } from 'mariadb';
import type { AuditLog } from './audit-log.js';
import { authPluginFp, type RouteAuth } from './auth/auth-plugin.js';
import type { AuthService } from './auth/auth-service.js';
import type { CommandService } from './commands/command-service.js';
import { trustProxyOption } from './config.js';
import { installErrorHandling } from './errors.js';
import { DOCS_CONTENT_SECURITY_POLICY } from './pages/security-headers.js';
import { installResponseHeaders } from './response-headers.js';
import type { LiveHub } from './live/live-hub.js';
import type { WebadminMetrics } from './metrics.js';
import type { WebhookAllowList } from './alerts/webhook-address-policy.js';
import { alertRoutes } from './routes/alerts.js';
import { commandRoutes } from './routes/commands.js';
import { completenessRoutes } from './routes/completeness.js';
import { deviceRoutes } from './routes/devices.js';
import { healthRoutes, type HealthProbe } from './routes/health.js';
import { ingestRoutes } from './routes/ingest.js';
import { readingsRoutes } from './routes/readings.js';
import { sessionRoutes } from './routes/session.js';
import { userRoutes } from './routes/users.js';
import { liveRoute } from './live/live-route.js';

export interface AppDeps {
  pool: Pool;
  log: Logger;
  auth: AuthService;
  audit: AuditLog;
  commands: CommandService;
  live: LiveHub;
  health: HealthProbe;
  metrics: WebadminMetrics;
  alerts: { mailConfigured: boolean; webhookAllow: WebhookAllowList };
  config: {
    PUBLIC_URL: string | undefined;
    TRUST_PROXY: string;
    SESSION_MAX_AGE: number;
  };
}

export interface BuildOptions {
  /** Plugins registered after the API (the pages plugin): they see the auth decorators. */
  extraPlugins?: FastifyPluginAsync[];
}

/** One registered route, as the auth matrix test and the docs see it. */
export interface RouteEntry {
  method: string;
  url: string;
  auth: RouteAuth | undefined;
  csrf: boolean;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route registered, with its access rule (collected by an onRoute hook). */
    routeTable: RouteEntry[];
  }
}

/**
 * Two Ajv instances: query strings and path parameters are text, so they are coerced (`?limit=10`); a JSON
 * body is not (`{"name": ""}` must not become null, `"5000"` is not a number). Neither drops unknown
 * fields: a misspelt `intervalMS` is an error, not "no interval".
 */
function validatorCompiler() {
  const common = { useDefaults: true, removeAdditional: false, allErrors: false, strict: false } as const;
  const text = new Ajv({ ...common, coerceTypes: 'array' });
  const json = new Ajv({ ...common, coerceTypes: false });
  return ({ schema, httpPart }: { schema: object; httpPart?: string }) =>
    (httpPart === 'body' ? json : text).compile(schema);
}

/** The fastify instance of the web admin, for main.ts (which listens) and inject tests (which do not). */
export async function buildApp(deps: AppDeps, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.log.child({ module: 'http' }) as FastifyBaseLogger,
    // Per-request lines would drown the log at 1,000 devices' worth of page traffic; metrics count them.
    logController: new LogController({ disableRequestLogging: true }),
    // A hop count is valid (fastify passes it to proxy-addr) though the option's type does not list it.
    trustProxy: trustProxyOption(deps.config.TRUST_PROXY) as boolean | string[],
    bodyLimit: 64 * 1024,
    routerOptions: { ignoreTrailingSlash: true },
  });
  const routeTable: RouteEntry[] = [];
  app.decorate('routeTable', routeTable);
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      if (method === 'HEAD') continue;
      const config = (route.config ?? {}) as { auth?: RouteAuth; csrf?: boolean };
      routeTable.push({ method, url: route.url, auth: config.auth, csrf: config.csrf !== false });
    }
  });
  installErrorHandling(app);
  installResponseHeaders(app);
  app.setValidatorCompiler(validatorCompiler());
  deps.metrics.instrument(app);

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'sensorfleet web admin',
        version: '1',
        description:
          'Every /api route but GET /api/health and POST /api/session needs a session cookie (state changes: ' +
          'the x-csrf-token header from GET /api/session and a same-origin Origin) or Authorization: Bearer.',
      },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          session: { type: 'apiKey', in: 'cookie', name: 'sf_session' },
        },
      },
      security: [{ bearer: [] }, { session: [] }],
    },
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs', staticCSP: DOCS_CONTENT_SECURITY_POLICY });
  await app.register(fastifyWebsocket, { options: { maxPayload: 64 * 1024 } });
  await app.register(authPluginFp, {
    auth: deps.auth,
    publicUrl: deps.config.PUBLIC_URL,
    sessionMaxAgeMs: deps.config.SESSION_MAX_AGE,
  });

  await app.register(healthRoutes, { health: deps.health });
  await app.register(sessionRoutes);
  await app.register(deviceRoutes, { pool: deps.pool, audit: deps.audit });
  await app.register(readingsRoutes, { pool: deps.pool, onCsvRows: (n) => deps.metrics.csvRows.inc(n) });
  await app.register(commandRoutes, { pool: deps.pool, commands: deps.commands });
  await app.register(ingestRoutes, { pool: deps.pool });
  await app.register(completenessRoutes, { pool: deps.pool });
  await app.register(userRoutes, { pool: deps.pool, audit: deps.audit });
  await app.register(alertRoutes, { pool: deps.pool, audit: deps.audit, ...deps.alerts });
  await app.register(liveRoute, { hub: deps.live });
  for (const plugin of opts.extraPlugins ?? []) await app.register(plugin);
  return app;
}
