import type { FastifyError, FastifyInstance } from 'fastify';

/**
 * The error catalogue of the API. Every error answer is `{error, message}` (+ `field` for bad input), as
 * JSON, never HTML: `error` is a stable code for scripts, `message` is for people.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthorized'
  | 'login_failed'
  | 'forbidden'
  | 'csrf'
  | 'not_found'
  | 'rate_limited'
  | 'conflict'
  | 'unavailable'
  | 'internal';

/** An expected refusal, thrown from hooks and handlers and answered by the error handler. */
export class ApiFailure extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ApiFailure';
  }
}

export const notFound = (what: string): ApiFailure => new ApiFailure(404, 'not_found', `${what} not found`);
export const badRequest = (field: string, message: string): ApiFailure =>
  new ApiFailure(400, 'bad_request', `${field}: ${message}`, field);

interface AjvIssue {
  instancePath?: string;
  message?: string;
  keyword?: string;
  params?: Record<string, unknown>;
}

/** `body.intervalMs: must be >= 100`, from Ajv's first issue and the part of the request it was in. */
export function describeValidation(
  context: string | undefined,
  issues: AjvIssue[],
): { field: string; message: string } {
  const issue = issues[0] ?? {};
  const path = (issue.instancePath ?? '')
    .split('/')
    .filter(Boolean)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  const params = issue.params ?? {};
  if (typeof params.missingProperty === 'string') path.push(params.missingProperty);
  if (typeof params.additionalProperty === 'string') path.push(params.additionalProperty);
  const field = [context ?? 'request', ...path].join('.');
  let text = issue.message ?? 'is invalid';
  if (issue.keyword === 'additionalProperties') text = 'is not a known field';
  else if (issue.keyword === 'required') text = 'is required';
  else if (Array.isArray(params.allowedValues)) text = `must be one of ${params.allowedValues.join(', ')}`;
  else if (issue.keyword === 'pattern') text = 'has the wrong format';
  return { field, message: `${field}: ${text}` };
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError | ApiFailure, request, reply) => {
    if (err instanceof ApiFailure) {
      return reply
        .code(err.statusCode)
        .type('application/json; charset=utf-8')
        .send({ error: err.code, message: err.message, ...(err.field ? { field: err.field } : {}) });
    }
    if (err.validation) {
      // Union schemas report one issue per branch; the enum-like `anyOf` of literals reads better as one.
      const issues = err.validation as AjvIssue[];
      const literal = issues.filter((i) => i.keyword === 'const').map((i) => i.params?.allowedValue);
      const { field, message } =
        literal.length > 1
          ? describeValidation(err.validationContext, [
              { ...issues[0], keyword: 'enum', params: { allowedValues: literal } },
            ])
          : describeValidation(err.validationContext, issues);
      return reply.code(400).send({ error: 'bad_request', message, field });
    }
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      request.log.error({ err }, 'request failed');
      return reply.code(500).send({ error: 'internal', message: 'internal error (see the server log)' });
    }
    // fastify's own 4xx (bad JSON, too large, unsupported media type): keep the status and its message.
    return reply
      .code(status)
      .send({ error: status === 404 ? 'not_found' : 'bad_request', message: err.message });
  });
  app.setNotFoundHandler((request, reply) => {
    void reply
      .code(404)
      .send({ error: 'not_found', message: `no route ${request.method} ${request.url.split('?')[0]}` });
  });
}
