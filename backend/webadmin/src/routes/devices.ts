import {
  ApiError,
  DeviceIdParams,
  DeviceList,
  DeviceListQuery,
  DeviceSummary,
  RenameBody,
} from '@sensorfleet/shared/schemas/webadmin-api';
import type { FastifyPluginAsync } from 'fastify';
import type { Pool } from 'mariadb';
import type { AuditLog } from '../audit-log.js';
import { badRequest, notFound } from '../errors.js';
import { findDevice, listDevices, renameDevice } from '../queries/device-queries.js';

const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError };

export const deviceRoutes: FastifyPluginAsync<{ pool: Pool; audit: AuditLog }> = async (
  app,
  { pool, audit },
) => {
  app.get<{ Querystring: DeviceListQuery }>(
    '/api/devices',
    {
      schema: {
        tags: ['devices'],
        summary: 'the fleet: one page of devices with their reported state and latest values',
        querystring: DeviceListQuery,
        response: { 200: DeviceList, ...errors },
      },
    },
    async (request) => {
      const q = request.query;
      try {
        return await listDevices(pool, {
          search: q.search,
          online: q.online,
          sort: q.sort ?? 'id',
          limit: q.limit ?? 100,
          cursor: q.cursor,
        });
      } catch (err) {
        if (err instanceof RangeError) throw badRequest('querystring.cursor', 'is not a cursor of this list');
        throw err;
      }
    },
  );

  app.get<{ Params: DeviceIdParams }>(
    '/api/devices/:id',
    {
      schema: {
        tags: ['devices'],
        summary: 'one device',
        params: DeviceIdParams,
        response: { 200: DeviceSummary, ...errors },
      },
    },
    async (request) => {
      const device = await findDevice(pool, request.params.id);
      if (!device) throw notFound(`device ${request.params.id}`);
      return device;
    },
  );

  app.patch<{ Params: DeviceIdParams; Body: RenameBody }>(
    '/api/devices/:id',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['devices'],
        summary: 'rename (operator); `name: null` clears the name',
        params: DeviceIdParams,
        body: RenameBody,
        response: { 200: DeviceSummary, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!(await renameDevice(pool, id, request.body.name))) throw notFound(`device ${id}`);
      await audit.record({
        actor: request.user!.username,
        action: 'rename',
        target: id,
        ip: request.ip,
        detail: { name: request.body.name },
      });
      return (await findDevice(pool, id))!;
    },
  );
};
