import type { Static, TSchema } from '@sinclair/typebox';
import { TypeCompiler } from '@sinclair/typebox/compiler';

export type Decoded<T> = { ok: true; value: T } | { ok: false; reason: DecodeFailure; error: string };
export type DecodeFailure = 'oversized' | 'malformed_json' | 'schema';

export interface MessageDecoder<T> {
  /** Parses and validates a payload; never throws. */
  decode(payload: Buffer | string): Decoded<T>;
  /** Validates an already parsed value; never throws. */
  check(value: unknown): Decoded<T>;
}

/**
 * One compiled validator per schema. Errors name the offending path and rule (first error only: the
 * message log keeps the raw payload for anything deeper; for a union, the first error of its first variant).
 */
export function createDecoder<S extends TSchema>(
  schema: S,
  opts: { maxBytes?: number } = {},
): MessageDecoder<Static<S>> {
  const compiled = TypeCompiler.Compile(schema);
  const maxBytes = opts.maxBytes ?? Infinity;
  const check = (value: unknown): Decoded<Static<S>> => {
    if (compiled.Check(value)) return { ok: true, value };
    let first = compiled.Errors(value).First();
    // A union only says "Expected union value": name what is wrong for its first (the usual) variant.
    for (let sub = first?.errors[0]?.First(); sub; sub = sub.errors[0]?.First()) first = sub;
    const where = first?.path ? first.path : '/';
    return { ok: false, reason: 'schema', error: `${where}: ${first?.message ?? 'invalid'}` };
  };
  return {
    check,
    decode(payload) {
      const size = typeof payload === 'string' ? Buffer.byteLength(payload) : payload.length;
      if (size > maxBytes) {
        return {
          ok: false,
          reason: 'oversized',
          error: `payload of ${size} bytes exceeds the limit of ${maxBytes}`,
        };
      }
      let value: unknown;
      try {
        value = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
      } catch (err) {
        return { ok: false, reason: 'malformed_json', error: `malformed JSON: ${(err as Error).message}` };
      }
      return check(value);
    },
  };
}
