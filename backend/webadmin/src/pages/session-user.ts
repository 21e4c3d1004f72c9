import type { FastifyRequest } from 'fastify';
import type { UserResolver } from './page-user.js';

/**
 * The signed-in user of a page request, from the auth plugin. Kept in this one place so the pages depend
 * on one small thing of the auth plugin's surface.
 */
export const sessionUserResolver: UserResolver = async (request: FastifyRequest) => {
  // The auth plugin's onRequest hook loads `request.user` for every route (auth 'optional' for pages).
  const user = request.user;
  return user ? { username: user.username, role: user.role } : undefined;
};
