import type { FastifyRequest } from 'fastify';
import type { PageUser, UserResolver } from './page-user.js';

/**
 * The signed-in user of a page request, from the auth plugin. Kept in this one place so the pages depend
 * on one small thing of the auth plugin's surface.
 */
export const sessionUserResolver: UserResolver = async (request: FastifyRequest) => {
  const r = request as unknown as { user?: PageUser };
  return r.user;
};
