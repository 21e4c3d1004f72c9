import { ApiError, LoginBody, SessionInfo } from '@sensorfleet/shared/schemas/webadmin-api';
import type { FastifyPluginAsync } from 'fastify';
import { ApiFailure } from '../errors.js';

export const sessionRoutes: FastifyPluginAsync = async (app) => {
  app.post<{ Body: LoginBody }>(
    '/api/session',
    {
      config: { auth: 'optional' },
      schema: {
        tags: ['session'],
        summary: 'log in: sets the session cookie; 401 on a wrong name or password, 429 when rate limited',
        security: [],
        body: LoginBody,
        response: { 200: SessionInfo, 401: ApiError, 429: ApiError },
      },
    },
    async (request, reply) => {
      const session = await app.logIn(request, reply, request.body.username, request.body.password);
      return { username: session.username, role: session.role, csrfToken: session.csrfToken };
    },
  );

  app.get(
    '/api/session',
    {
      schema: { tags: ['session'], summary: 'who am I (and the CSRF token)', response: { 200: SessionInfo } },
    },
    async (request) => {
      const user = request.user;
      if (!user) throw new ApiFailure(401, 'unauthorized', 'not signed in');
      return { username: user.username, role: user.role, csrfToken: request.session?.csrfToken ?? '' };
    },
  );

  // Idempotent: logging out twice, or with a session that already ended, is still a 204.
  app.delete(
    '/api/session',
    {
      config: { auth: 'optional' },
      schema: {
        tags: ['session'],
        summary: 'log out (204, also when not signed in)',
        response: { 204: { type: 'null' } },
      },
    },
    async (request, reply) => {
      await app.logOut(request, reply);
      return reply.code(204).send();
    },
  );
};
