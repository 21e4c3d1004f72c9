import { badRequest } from '../errors.js';

/** `from` inclusive, `to` exclusive, ISO-8601 (validated by the schema); default the `defaultMs` before `to`. */
export function timeRange(
  q: { from?: string | undefined; to?: string | undefined },
  defaultMs = 86_400_000,
  now = Date.now(),
): { from: Date; to: Date } {
  const to = q.to !== undefined ? new Date(q.to) : new Date(now);
  if (Number.isNaN(to.getTime())) throw badRequest('querystring.to', 'is not a valid time');
  const from = q.from !== undefined ? new Date(q.from) : new Date(to.getTime() - defaultMs);
  if (Number.isNaN(from.getTime())) throw badRequest('querystring.from', 'is not a valid time');
  if (from.getTime() >= to.getTime()) throw badRequest('querystring.from', 'must be before to');
  return { from, to };
}
