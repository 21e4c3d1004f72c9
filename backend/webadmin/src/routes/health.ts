import type { HealthReport } from '@sensorfleet/shared';
import { Health } from '@sensorfleet/shared/schemas/webadmin-api';
import type { FastifyPluginAsync } from 'fastify';

export type HealthProbe = () => Promise<HealthReport> | HealthReport;

export const healthRoutes: FastifyPluginAsync<{ health: HealthProbe }> = async (app, opts) => {
  app.get(
    '/api/health',
    {
      config: { auth: false },
      schema: {
        tags: ['health'],
        summary: '200 when the database and broker connections are up, else 503',
        security: [],
        response: { 200: Health, 503: Health },
      },
    },
    async (_request, reply) => {
      const report = await opts.health();
      return reply.code(report.ok ? 200 : 503).send(report);
    },
  );
};
