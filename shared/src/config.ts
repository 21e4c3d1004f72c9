/**
 * Environment configuration: every service declares its variables once (name, type, default, description);
 * the same declaration validates at start, names the bad variable and why, and renders the README table.
 */
export interface EnvVar<T> {
  readonly description: string;
  readonly defaultText: string | undefined;
  readonly required: boolean;
  readonly secret: boolean;
  parse(raw: string | undefined): T;
}

export class ConfigError extends Error {
  constructor(readonly issues: { variable: string; reason: string }[]) {
    super(`invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.reason}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

class InvalidValue extends Error {}

interface Common<T> {
  description: string;
  default?: T;
  /** How the default is shown in docs when String(default) is not how people write it (e.g. `0x76`). */
  defaultText?: string;
  secret?: boolean;
}

function make<T>(o: Common<T>, convert: (raw: string) => T, optional = false): EnvVar<T> {
  return {
    description: o.description,
    defaultText: o.defaultText ?? (o.default === undefined ? undefined : String(o.default)),
    required: o.default === undefined && !optional,
    secret: o.secret ?? false,
    parse(raw) {
      if (raw === undefined || raw === '') {
        if (o.default !== undefined) return o.default;
        if (optional) return undefined as T;
        throw new InvalidValue('is required but not set');
      }
      return convert(raw.trim());
    },
  };
}

const shown = (raw: string) => JSON.stringify(raw.length > 80 ? `${raw.slice(0, 77)}...` : raw);

export const env = {
  string(o: Common<string> & { pattern?: RegExp; patternText?: string }): EnvVar<string> {
    return make(o, (raw) => {
      if (o.pattern && !o.pattern.test(raw)) {
        throw new InvalidValue(
          `must match ${o.patternText ?? o.pattern.source} (got ${o.secret ? '***' : shown(raw)})`,
        );
      }
      return raw;
    });
  },
  /** `check` returns why a set value is not acceptable, or undefined. */
  optionalString(
    o: Omit<Common<string>, 'default'> & { check?: (raw: string) => string | undefined },
  ): EnvVar<string | undefined> {
    return make<string | undefined>(
      o,
      (raw) => {
        const problem = o.check?.(raw);
        if (problem) throw new InvalidValue(problem);
        return raw;
      },
      true,
    );
  },
  int(o: Common<number> & { min?: number; max?: number }): EnvVar<number> {
    return make(o, (raw) => {
      const n = /^[+-]?(0x[0-9a-f]+|\d+)$/i.test(raw) ? Number(raw) : NaN;
      if (!Number.isSafeInteger(n)) throw new InvalidValue(`must be an integer (got ${shown(raw)})`);
      if (o.min !== undefined && n < o.min) throw new InvalidValue(`must be ≥ ${o.min} (got ${n})`);
      if (o.max !== undefined && n > o.max) throw new InvalidValue(`must be ≤ ${o.max} (got ${n})`);
      return n;
    });
  },
  bool(o: Common<boolean>): EnvVar<boolean> {
    return make(o, (raw) => {
      const v = raw.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new InvalidValue(`must be true or false (got ${shown(raw)})`);
    });
  },
  oneOf<const T extends string>(values: readonly T[], o: Common<T>): EnvVar<T> {
    return make(o, (raw) => {
      if (!(values as readonly string[]).includes(raw)) {
        throw new InvalidValue(`must be one of ${values.join(', ')} (got ${shown(raw)})`);
      }
      return raw as T;
    });
  },
  /** Milliseconds from `500ms`, `30s`, `15m`, `12h`, `7d`, or a bare number of `bareUnit`s; 0 allowed. */
  duration(o: Common<number> & { bareUnit?: 'ms' | 's'; min?: number; max?: number }): EnvVar<number> {
    return make(o, (raw) => {
      const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/i.exec(raw);
      if (!m)
        throw new InvalidValue(`must be a duration like 500ms, 30s, 15m, 12h or 7d (got ${shown(raw)})`);
      const unit = (m[2] ?? o.bareUnit ?? 'ms').toLowerCase();
      const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit] ?? 1;
      const ms = Math.round(Number(m[1]) * factor);
      if (o.min !== undefined && ms < o.min)
        throw new InvalidValue(`must be at least ${o.min} ms (got ${raw})`);
      if (o.max !== undefined && ms > o.max)
        throw new InvalidValue(`must be at most ${o.max} ms (got ${raw})`);
      return ms;
    });
  },
  url(o: Common<string> & { protocols: string[] }): EnvVar<string> {
    return make(o, (raw) => {
      checkUrl(raw, o.protocols, o.secret ?? false);
      return raw;
    });
  },
  urlList: (o: Common<string> & { protocols: string[] }): EnvVar<string[]> => urlListVar(o),
};

/** `parse` of a URL (a message naming the problem is thrown as InvalidValue). */
function checkUrl(raw: string, protocols: string[], secret: boolean): void {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new InvalidValue(
      `must be a URL like ${protocols[0]}//host:port (got ${secret ? '***' : shown(raw)})`,
    );
  }
  if (!protocols.includes(u.protocol)) {
    throw new InvalidValue(`must use ${protocols.join(' or ')} (got ${u.protocol})`);
  }
}

/**
 * One URL or a comma-separated list of them (nodes of a cluster, tried in turn); each is checked like
 * `env.url`, and the problem names the position of a bad one.
 */
function urlListVar(o: Common<string> & { protocols: string[] }): EnvVar<string[]> {
  return make<string[]>(
    {
      ...o,
      default: o.default === undefined ? undefined : [o.default],
      defaultText: o.defaultText ?? o.default,
    },
    (raw) => {
      const urls = raw.split(',').map((u) => u.trim());
      urls.forEach((u, i) => {
        if (u === '') throw new InvalidValue(`entry ${i + 1} of the comma-separated list is empty`);
        try {
          checkUrl(u, o.protocols, o.secret ?? false);
        } catch (err) {
          if (urls.length === 1) throw err;
          throw new InvalidValue(`entry ${i + 1}: ${(err as Error).message}`);
        }
      });
      return urls;
    },
  );
}

export type EnvSpec = Record<string, EnvVar<unknown>>;
export type ConfigOf<S extends EnvSpec> = { [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never };

/** Parses all variables, collecting every problem before failing. */
export function parseEnv<S extends EnvSpec>(spec: S, source: NodeJS.ProcessEnv = process.env): ConfigOf<S> {
  const out: Record<string, unknown> = {};
  const issues: { variable: string; reason: string }[] = [];
  for (const [name, v] of Object.entries(spec)) {
    try {
      out[name] = v.parse(source[name]);
    } catch (err) {
      if (!(err instanceof InvalidValue)) throw err;
      issues.push({ variable: name, reason: err.message });
    }
  }
  if (issues.length) throw new ConfigError(issues);
  return out as ConfigOf<S>;
}

/** For main.ts: a bad configuration is reported on stderr and the process exits 1 (the container restarts). */
export function loadConfig<S extends EnvSpec>(service: string, spec: S, source = process.env): ConfigOf<S> {
  try {
    return parseEnv(spec, source);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${service}: ${err.message}\n`);
    process.exit(1);
  }
}

/** Markdown table of a spec, for README sections. */
export function envTable(spec: EnvSpec): string {
  const rows = Object.entries(spec).map(
    ([name, v]) =>
      `| \`${name}\` | ${v.defaultText === undefined ? (v.required ? '**required**' : '—') : `\`${v.defaultText}\``} | ${v.description} |`,
  );
  return ['| variable | default | meaning |', '|---|---|---|', ...rows].join('\n');
}

/** Values safe to log: secrets masked. */
export function redactConfig<S extends EnvSpec>(spec: S, config: ConfigOf<S>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(spec)) {
    const value = (config as Record<string, unknown>)[k];
    out[k] = v.secret && value !== undefined ? '***' : redactUrl(value);
  }
  return out;
}

function redactUrl(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactUrl);
  if (typeof value !== 'string' || !value.includes('://')) return value;
  try {
    const u = new URL(value);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return value;
  }
}
