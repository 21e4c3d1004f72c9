import type { FastifyInstance } from 'fastify';
import { NON_PAGE_HEADERS, PAGE_HEADERS } from './pages/security-headers.js';

/**
 * Security headers on every answer, including those no page code writes: the API docs (served by
 * @fastify/swagger-ui), 404s, errors and the API's JSON and CSV. HTML gets the pages' policy (our own
 * files only), anything else a policy that allows nothing. Headers a route set itself are kept.
 */
export function installResponseHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_request, reply, payload) => {
    const html = String(reply.getHeader('content-type') ?? '').startsWith('text/html');
    for (const [name, value] of Object.entries(html ? PAGE_HEADERS : NON_PAGE_HEADERS)) {
      if (!reply.hasHeader(name)) void reply.header(name, value);
    }
    return payload;
  });
}
