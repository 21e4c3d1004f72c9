import { Readable } from 'node:stream';
import {
  ApiError,
  CsvQuery,
  DeviceIdParams,
  ReadingsHistory,
  ReadingsQuery,
} from '@sensorfleet/shared/schemas/webadmin-api';
import type { FastifyPluginAsync } from 'fastify';
import type { Pool } from 'mariadb';
import { badRequest, notFound } from '../errors.js';
import { csvChunks } from '../queries/csv-export.js';
import { deviceExists } from '../queries/device-queries.js';
import { readingsHistory, TooManyPoints } from '../queries/history-query.js';
import { timeRange } from './time-range.js';

const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError };

export const readingsRoutes: FastifyPluginAsync<{ pool: Pool; onCsvRows?: (n: number) => void }> = async (
  app,
  { pool, onCsvRows },
) => {
  app.get<{ Params: DeviceIdParams; Querystring: ReadingsQuery }>(
    '/api/devices/:id/readings',
    {
      schema: {
        tags: ['readings'],
        summary: 'chart data of one sensor: the finest resolution with at most maxPoints points',
        params: DeviceIdParams,
        querystring: ReadingsQuery,
        response: { 200: ReadingsHistory, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      const { from, to } = timeRange(request.query);
      if (!(await deviceExists(pool, id))) throw notFound(`device ${id}`);
      try {
        return await readingsHistory(pool, {
          deviceId: id,
          sensor: request.query.sensor,
          from,
          to,
          maxPoints: request.query.maxPoints ?? 1000,
        });
      } catch (err) {
        if (err instanceof TooManyPoints)
          throw badRequest(
            'querystring.maxPoints',
            `too small for this range (${err.message}); ask for more or a shorter range`,
          );
        throw err;
      }
    },
  );

  app.get<{ Params: DeviceIdParams; Querystring: CsvQuery }>(
    '/api/devices/:id/readings.csv',
    {
      schema: {
        tags: ['readings'],
        summary: 'every reading in the range as CSV (streamed): seq,measured_at,<sensor>,… (ISO-8601 UTC)',
        params: DeviceIdParams,
        querystring: CsvQuery,
        produces: ['text/csv'],
        response: { 200: { type: 'string', description: 'text/csv' }, ...errors },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const { from, to } = timeRange(request.query);
      if (!(await deviceExists(pool, id))) throw notFound(`device ${id}`);
      const sensors = request.query.sensors?.split(',');
      const stamp = (d: Date) =>
        d
          .toISOString()
          .replace(/[-:]/g, '')
          .replace(/\.\d+Z$/, 'Z');
      let lines = 0;
      const stream = Readable.from(
        (async function* () {
          for await (const chunk of csvChunks(pool, { deviceId: id, from, to, sensors })) {
            for (let i = chunk.indexOf('\n'); i !== -1; i = chunk.indexOf('\n', i + 1)) lines++;
            yield chunk;
          }
          onCsvRows?.(Math.max(0, lines - 1));
        })(),
        { objectMode: false },
      );
      stream.on('error', (err) => request.log.error({ err, deviceId: id }, 'CSV export failed mid-stream'));
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="${id}_${stamp(from)}_${stamp(to)}.csv"`)
        .header('cache-control', 'no-store')
        .send(stream);
    },
  );
};
