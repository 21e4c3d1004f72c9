import {
  ApiError,
  CommandAccepted,
  CommandIdParams,
  CommandList,
  CommandListQuery,
  CommandRequest,
  CommandView,
  DeviceIdParams,
} from '@sensorfleet/shared/schemas/webadmin-api';
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Pool } from 'mariadb';
import type { CommandService } from '../commands/command-service.js';
import { notFound } from '../errors.js';
import { deviceExists } from '../queries/device-queries.js';

const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError };

export const commandRoutes: FastifyPluginAsync<{ pool: Pool; commands: CommandService }> = async (
  app,
  { pool, commands },
) => {
  app.post<{ Params: DeviceIdParams; Body: CommandRequest }>(
    '/api/devices/:id/commands',
    {
      config: { auth: 'operator' },
      schema: {
        tags: ['commands'],
        summary:
          'send a command (operator): stored pending, delivered when the device is online, never after expiresAt',
        params: DeviceIdParams,
        body: CommandRequest,
        response: { 202: CommandAccepted, ...errors },
      },
    },
    async (request, reply) => {
      const view = await commands.create(request.params.id, request.body, {
        username: request.user!.username,
        ip: request.ip,
      });
      return reply.code(202).send({ id: view.id, status: view.status });
    },
  );

  app.get<{ Params: DeviceIdParams; Querystring: Static<typeof CommandListQuery> }>(
    '/api/devices/:id/commands',
    {
      schema: {
        tags: ['commands'],
        summary: 'command history of a device, newest first',
        params: DeviceIdParams,
        querystring: CommandListQuery,
        response: { 200: CommandList, ...errors },
      },
    },
    async (request) => {
      const { id } = request.params;
      if (!(await deviceExists(pool, id))) throw notFound(`device ${id}`);
      return commands.list(id, request.query.limit ?? 50, request.query.cursor);
    },
  );

  app.get<{ Params: Static<typeof CommandIdParams> }>(
    '/api/commands/:id',
    {
      schema: {
        tags: ['commands'],
        summary: 'one command and what became of it',
        params: CommandIdParams,
        response: { 200: CommandView, ...errors },
      },
    },
    async (request) => {
      const view = await commands.get(request.params.id);
      if (!view) throw notFound(`command ${request.params.id}`);
      return view;
    },
  );
};
