import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heapUsedAfterGc, runFuzz } from '@sensorfleet/tools/fuzz/fuzz-settings';
import { ApiTokenStore } from '../../src/auth/api-token-store.js';
import { WebadminRig, type Login } from '../support/webadmin-rig.js';

/*
 * Property-based fuzzing of the web admin's HTTP surface through fastify's inject, with the real schemas,
 * auth and handlers on a private MariaDB. Requests are generated from the app's own OpenAPI document (so
 * a new route is fuzzed without anyone adding it here): path and query parameters from their declared
 * schemas, mutated, plus undeclared ones; bodies from the declared body schema, mutated, or garbage with
 * any content type. Whatever comes in: no 5xx, an `{error, message}` JSON answer for every refusal, and
 * no unhandled rejection (vitest fails the run on one).
 */

interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  items?: JsonSchema;
  minItems?: number;
  maxItems?: number;
  enum?: unknown[];
  const?: unknown;
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  nullable?: boolean;
}
interface Operation {
  parameters?: { name: string; in: 'query' | 'path'; schema: JsonSchema }[];
  requestBody?: { content?: Record<string, { schema: JsonSchema }> };
}
type Method = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

const NASTY = [
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '../../etc/passwd',
  '%00',
  '\u0000',
  '𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  'a'.repeat(5000),
  '-1',
  '1e309',
  'NaN',
  '[]',
  '{}',
  'true',
  '',
  ' ',
  '2026-02-30T00:00:00Z',
  '9999-12-31T23:59:59.999999999+14:00',
];

/** Values a JSON schema accepts, roughly (fast-check's regex generator for patterns). */
function fromSchema(s: JsonSchema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!s || depth > 4) return fc.jsonValue({ maxDepth: 1 });
  const alts = s.anyOf ?? s.oneOf;
  if (alts) return fc.oneof(...alts.map((a) => fromSchema(a, depth + 1)));
  if (s.const !== undefined) return fc.constant(s.const);
  if (s.enum) return fc.constantFrom(...s.enum);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  const base = (() => {
    switch (type) {
      case 'string':
        if (s.pattern)
          return fc.stringMatching(new RegExp(s.pattern)).map((v) => v.slice(0, s.maxLength ?? 500));
        return fc.string({ minLength: s.minLength ?? 0, maxLength: Math.min(s.maxLength ?? 40, 300) });
      case 'integer':
        return fc.integer({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6 });
      case 'number':
        return fc.double({ min: s.minimum ?? -1e6, max: s.maximum ?? 1e6, noNaN: true });
      case 'boolean':
        return fc.boolean();
      case 'null':
        return fc.constant(null);
      case 'array':
        return fc.array(fromSchema(s.items, depth + 1), {
          minLength: s.minItems ?? 0,
          maxLength: Math.min(s.maxItems ?? 4, 6),
        });
      case 'object': {
        const props = s.properties ?? {};
        const model: Record<string, fc.Arbitrary<unknown>> = {};
        for (const [k, v] of Object.entries(props)) model[k] = fromSchema(v, depth + 1);
        return fc.record(model, { requiredKeys: (s.required ?? []).filter((k) => k in props) });
      }
      default:
        return fc.jsonValue({ maxDepth: 1 });
    }
  })();
  return s.nullable ? fc.oneof(base, fc.constant(null)) : base;
}

/** A value of the schema most of the time; otherwise something it should refuse. */
function mutatedFrom(s: JsonSchema | undefined): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 5, arbitrary: fromSchema(s) },
    fc.constantFrom(...NASTY),
    fc.jsonValue({ maxDepth: 2 }),
    fromSchema(s).chain((v) =>
      v && typeof v === 'object' && !Array.isArray(v)
        ? fc
            .tuple(
              fc.constantFrom(...Object.keys(v), 'extra', '__proto__', 'constructor'),
              fc.jsonValue({ maxDepth: 1 }),
            )
            .map(([k, x]) => ({ ...(v as object), [k]: x }))
        : fc.constant(v),
    ),
  );
}

let rig: WebadminRig;
let admin: Login;
let token: string;
const DEVICES = ['fz-1', 'fz-2'];

/** The request arbitrary, built from the OpenAPI document. */
function requests(paths: Record<string, Record<string, Operation>>) {
  const ops: fc.Arbitrary<{
    method: Method;
    url: string;
    body?: string;
    contentType?: string;
    auth: 'token' | 'cookie' | 'none';
  }>[] = [];
  for (const [template, methods] of Object.entries(paths)) {
    for (const [m, op] of Object.entries(methods)) {
      const method = m.toUpperCase() as Method;
      const params = op.parameters ?? [];
      const pathValue = (name: string, schema: JsonSchema) =>
        fc.oneof(
          {
            weight: 6,
            arbitrary: fc.constantFrom(...(name === 'username' ? ['viewer', 'fz-user', 'nobody'] : DEVICES)),
          },
          mutatedFrom(schema).map((v) => (typeof v === 'string' ? v : (JSON.stringify(v) ?? ''))),
        );
      const pathArb = fc
        .tuple(
          ...params
            .filter((p) => p.in === 'path')
            .map((p) => pathValue(p.name, p.schema).map((v) => [p.name, v] as const)),
        )
        .map((pairs) => {
          const values = Object.fromEntries(pairs) as Record<string, string>;
          return template.replace(/\{(\w+)\}/g, (_x, n: string) => encodeURIComponent(values[n] ?? 'x'));
        });
      const query = params.filter((p) => p.in === 'query');
      const queryArb = fc
        .tuple(
          fc.tuple(
            ...query.map((p) =>
              fc.option(mutatedFrom(p.schema), { nil: undefined, freq: 2 }).map((v) => [p.name, v] as const),
            ),
          ),
          fc.array(
            fc.tuple(
              fc.oneof(fc.constantFrom(...query.map((p) => p.name), 'x'), fc.string({ maxLength: 5 })),
              fc.string({ maxLength: 10 }),
            ),
            { maxLength: 2 },
          ),
        )
        .map(([declared, extra]) => {
          const q = new URLSearchParams();
          for (const [k, v] of declared) if (v !== undefined) q.append(k, asQueryValue(v));
          for (const [k, v] of extra) q.append(k, v);
          return q.toString();
        });
      const bodySchema = op.requestBody?.content?.['application/json']?.schema;
      const bodyArb =
        method === 'GET' || method === 'DELETE'
          ? fc.constant(undefined)
          : fc.oneof(
              {
                weight: 6,
                arbitrary: mutatedFrom(bodySchema).map((b) => ({
                  body: JSON.stringify(b) ?? 'null',
                  contentType: 'application/json',
                })),
              },
              fc.record({
                body: fc.oneof(
                  fc.string({ maxLength: 60 }),
                  fc.constantFrom('{', '{"a":', '[1,2', 'null', '\u0000', '{"__proto__":{"x":1}}'),
                ),
                contentType: fc.constantFrom(
                  'application/json',
                  'text/plain',
                  'application/x-www-form-urlencoded',
                  'application/json; charset=latin1',
                  'multipart/form-data',
                ),
              }),
            );
      ops.push(
        fc
          .record({
            path: pathArb,
            qs: queryArb,
            body: bodyArb,
            auth: fc.constantFrom('token', 'token', 'token', 'cookie', 'none'),
          })
          .map(({ path, qs, body, auth }) => ({
            method,
            url: qs ? `${path}?${qs}` : path,
            ...(body ?? {}),
            auth: auth as 'token' | 'cookie' | 'none',
          })),
      );
    }
  }
  return fc.oneof(...ops);
}

let heapBefore = 0;
const statuses = new Map<number, number>();

async function send(req: {
  method: Method;
  url: string;
  body?: string;
  contentType?: string;
  auth: 'token' | 'cookie' | 'none';
}) {
  const headers: Record<string, string> = {};
  if (req.auth === 'token') headers.authorization = `Bearer ${token}`;
  if (req.auth === 'cookie') Object.assign(headers, { cookie: admin.cookie }); // no CSRF token: state changes → 403
  if (req.contentType) headers['content-type'] = req.contentType;
  const res = await rig.app.inject({
    method: req.method,
    url: req.url,
    headers,
    ...(req.body !== undefined ? { payload: req.body } : {}),
  });
  statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
  if (res.statusCode >= 500)
    throw new Error(`${req.method} ${req.url} → ${res.statusCode} ${res.body.slice(0, 300)}`);
  if (res.statusCode >= 400) {
    const body = res.json() as { error?: unknown; message?: unknown };
    if (typeof body.error !== 'string' || typeof body.message !== 'string') {
      throw new Error(
        `${req.method} ${req.url} → ${res.statusCode} without {error, message}: ${res.body.slice(0, 200)}`,
      );
    }
  }
}

beforeAll(async () => {
  rig = await WebadminRig.start();
  for (const d of DEVICES) await rig.addDevice(d, { online: false });
  await rig.addUser('admin', 'admin');
  await rig.addUser('viewer', 'viewer');
  admin = await rig.login('admin');
  token = (await new ApiTokenStore(rig.pool).create('admin', 'fuzz')).token;
});

afterAll(async () => {
  console.log(`[fuzz] web admin HTTP statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort()))}`);
  await rig?.close();
});

/**
 * A generated value as a query string would carry it. String() throws on objects without a prototype
 * (fast-check makes those), which a browser would have sent as "[object Object]".
 */
function asQueryValue(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}

describe('web admin HTTP under fuzzed requests', () => {
  it('answers every request below 500 with a JSON refusal or an answer', { timeout: 120_000 }, async () => {
    const doc = (await rig.app.inject({ url: '/docs/json' })).json() as {
      paths: Record<string, Record<string, Operation>>;
    };
    const arb = requests(doc.paths);
    await fc.assert(fc.asyncProperty(arb, send), { numRuns: 300, seed: 1 }); // warm-up
    heapBefore = heapUsedAfterGc();
    await runFuzz('web admin HTTP', 3000, (p) => fc.assert(fc.asyncProperty(arb, send), p));
    const ok = [...statuses].filter(([s]) => s < 300).reduce((n, [, c]) => n + c, 0);
    expect(ok, 'the generators must reach the handlers too, not only the validation').toBeGreaterThan(150);
  });

  it('keeps the heap flat', () => {
    const grown = heapUsedAfterGc() - heapBefore;
    console.log(`[fuzz] web admin HTTP: heap ${(grown / 1048576).toFixed(1)} MiB after vs before`);
    expect(grown).toBeLessThan(32 * 1024 * 1024);
  });
});
