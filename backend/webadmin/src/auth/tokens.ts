import { createHash, randomBytes } from 'node:crypto';

/** 32 random bytes, base64url: session ids, CSRF tokens and the secret part of API tokens. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * What the database keeps of a session id or an API token. A plain SHA-256 is enough: the input is 256
 * random bits, so there is nothing to brute-force, and a lookup by hash stays one indexed read.
 */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** API tokens read `sft_<id>_<secret>` so a leaked one is recognisable (secret scanners, logs). */
export const API_TOKEN_PREFIX = 'sft_';
