import {
  ApiError,
  AuditPage,
  AuditQuery,
  NewToken,
  NewUser,
  TokenCreated,
  TokenIdParams,
  TokenList,
  UserChange,
  UserList,
  UsernameParams,
  UserSaved,
} from '@sensorfleet/shared/schemas/webadmin-api';
import type { Static } from '@sinclair/typebox';
import type { FastifyPluginAsync } from 'fastify';
import type { Pool } from 'mariadb';
import { listAudit, type AuditLog } from '../audit-log.js';
import { ApiTokenStore } from '../auth/api-token-store.js';
import { hashPassword } from '../auth/passwords.js';
import { LastAdminError, UserExistsError, UserStore } from '../auth/user-store.js';
import { generatePassword } from '../cli/user-cli.js';
import { ApiFailure, notFound } from '../errors.js';

const errors = { 400: ApiError, 401: ApiError, 403: ApiError, 404: ApiError, 409: ApiError };
const admin = { auth: 'admin' as const };

/**
 * Accounts, API tokens and the audit log for the `/users` page (admin). The same operations as the CLI;
 * a new or reset password can be generated and is then in the answer once. Removing or demoting the last
 * admin is refused (409).
 */
export const userRoutes: FastifyPluginAsync<{ pool: Pool; audit: AuditLog }> = async (
  app,
  { pool, audit },
) => {
  const users = new UserStore(pool);
  const tokens = new ApiTokenStore(pool);
  const view = async (username: string) => {
    const [u] = await users.list(username);
    if (!u) throw notFound(`user ${username}`);
    return u;
  };
  const lastAdmin = (err: unknown): never => {
    if (err instanceof LastAdminError)
      throw new ApiFailure(409, 'conflict', `${err.message}: make another admin first`);
    throw err;
  };

  app.get(
    '/api/users',
    {
      config: admin,
      schema: { tags: ['users'], summary: 'accounts (admin)', response: { 200: UserList, ...errors } },
    },
    async () => ({ users: await users.list() }),
  );

  app.post<{ Body: NewUser }>(
    '/api/users',
    {
      config: admin,
      schema: {
        tags: ['users'],
        summary: 'add an account (admin)',
        body: NewUser,
        response: { 201: UserSaved, ...errors },
      },
    },
    async (request, reply) => {
      const { username, role } = request.body;
      const generated = request.body.password === undefined ? generatePassword() : undefined;
      try {
        await users.add(username, await hashPassword(request.body.password ?? generated!), role);
      } catch (err) {
        if (err instanceof UserExistsError)
          throw new ApiFailure(409, 'conflict', `user ${username} exists`, 'body.username');
        throw err;
      }
      await audit.record({
        actor: request.user!.username,
        action: 'user_add',
        target: username,
        ip: request.ip,
        detail: { role },
      });
      return reply
        .code(201)
        .send({ user: await view(username), ...(generated ? { generatedPassword: generated } : {}) });
    },
  );

  app.patch<{ Params: UsernameParams; Body: UserChange }>(
    '/api/users/:username',
    {
      config: admin,
      schema: {
        tags: ['users'],
        summary: 'change role and/or password (admin); a new password ends the user’s sessions',
        params: UsernameParams,
        body: UserChange,
        response: { 200: UserSaved, ...errors },
      },
    },
    async (request) => {
      const { username } = request.params;
      await view(username);
      const { role, password } = request.body;
      if (role !== undefined) {
        await users.changeGuarded(username, { role }).catch(lastAdmin);
        await audit.record({
          actor: request.user!.username,
          action: 'user_role',
          target: username,
          ip: request.ip,
          detail: { role },
        });
      }
      let generated: string | undefined;
      if (password !== undefined) {
        generated = password === 'generate' ? generatePassword() : undefined;
        await users.setPassword(username, await hashPassword(generated ?? password), { endSessions: true });
        await audit.record({
          actor: request.user!.username,
          action: 'user_reset',
          target: username,
          ip: request.ip,
        });
      }
      return { user: await view(username), ...(generated ? { generatedPassword: generated } : {}) };
    },
  );

  app.delete<{ Params: UsernameParams }>(
    '/api/users/:username',
    {
      config: admin,
      schema: {
        tags: ['users'],
        summary: 'remove an account with its sessions and tokens (admin)',
        params: UsernameParams,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (request, reply) => {
      const { username } = request.params;
      if (!(await users.changeGuarded(username, { remove: true }).catch(lastAdmin)))
        throw notFound(`user ${username}`);
      await audit.record({
        actor: request.user!.username,
        action: 'user_remove',
        target: username,
        ip: request.ip,
      });
      return reply.code(204).send();
    },
  );

  app.get<{ Params: UsernameParams }>(
    '/api/users/:username/tokens',
    {
      config: admin,
      schema: {
        tags: ['users'],
        summary: 'API tokens of a user (admin)',
        params: UsernameParams,
        response: { 200: TokenList, ...errors },
      },
    },
    async (request) => {
      await view(request.params.username);
      return { tokens: await tokens.list(request.params.username) };
    },
  );

  app.post<{ Params: UsernameParams; Body: Static<typeof NewToken> }>(
    '/api/users/:username/tokens',
    {
      config: admin,
      schema: {
        tags: ['users'],
        summary: 'a new API token for a user (admin): the token is in this answer only',
        params: UsernameParams,
        body: NewToken,
        response: { 201: TokenCreated, ...errors },
      },
    },
    async (request, reply) => {
      const { username } = request.params;
      await view(username);
      const created = await tokens.create(username, request.body.label);
      await audit.record({
        actor: request.user!.username,
        action: 'token_add',
        target: username,
        ip: request.ip,
        detail: { id: created.id },
      });
      return reply.code(201).send(created);
    },
  );

  app.delete<{ Params: Static<typeof TokenIdParams> }>(
    '/api/tokens/:id',
    {
      config: admin,
      schema: {
        tags: ['users'],
        summary: 'revoke an API token (admin)',
        params: TokenIdParams,
        response: { 204: { type: 'null' }, ...errors },
      },
    },
    async (request, reply) => {
      if (!(await tokens.revoke(request.params.id))) throw notFound(`token ${request.params.id}`);
      await audit.record({
        actor: request.user!.username,
        action: 'token_revoke',
        target: request.params.id,
        ip: request.ip,
      });
      return reply.code(204).send();
    },
  );

  app.get<{ Querystring: Static<typeof AuditQuery> }>(
    '/api/audit-log',
    {
      config: admin,
      schema: {
        tags: ['users'],
        summary: 'who did what: logins, commands, account changes, newest first (admin)',
        querystring: AuditQuery,
        response: { 200: AuditPage, ...errors },
      },
    },
    async (request) => {
      const limit = request.query.limit ?? 100;
      const entries = await listAudit(pool, {
        limit: limit + 1,
        beforeId: request.query.cursor !== undefined ? Number(request.query.cursor) : undefined,
        actor: request.query.actor,
        action: request.query.action,
      });
      const page = entries.slice(0, limit);
      return {
        entries: page,
        next: entries.length > limit && page.length ? String(page[page.length - 1]!.id) : null,
      };
    },
  );
};
