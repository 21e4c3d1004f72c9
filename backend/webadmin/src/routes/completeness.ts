import {
  ApiError,
  Completeness,
  CompletenessQuery,
  DeviceIdParams,
} from '@sensorfleet/shared/schemas/webadmin-api';
import type { FastifyPluginAsync } from 'fastify';
import type { Pool } from 'mariadb';
import { notFound } from '../errors.js';
import { deviceCompleteness } from '../queries/completeness-query.js';
import { timeRange } from './time-range.js';

const DAY = 86_400_000;

export const completenessRoutes: FastifyPluginAsync<{ pool: Pool }> = async (app, { pool }) => {
  app.get<{ Params: DeviceIdParams; Querystring: CompletenessQuery }>(
    '/api/devices/:id/completeness',
    {
      schema: {
        tags: ['readings'],
        summary: 'per UTC day: readings stored vs seqs issued, and each gap with its cause',
        params: DeviceIdParams,
        querystring: CompletenessQuery,
        response: { 200: Completeness, 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError },
      },
    },
    async (request) => {
      const q = request.query;
      const range = timeRange(q, 7 * DAY);
      const from = q.from === undefined ? new Date(Math.floor(range.from.getTime() / DAY) * DAY) : range.from;
      const result = await deviceCompleteness(pool, { deviceId: request.params.id, from, to: range.to });
      if (!result) throw notFound(`device ${request.params.id}`);
      return result;
    },
  );
};
