import { hash, verify, type Options } from '@node-rs/argon2';

/**
 * Password hashing: argon2id at OWASP's minimum (19 MiB, 2 passes, 1 lane). Hashes made with other
 * parameters still verify; `needsRehash` tells the login to store a fresh hash, so raising the parameters
 * here upgrades every account at its next login.
 */
export const ARGON2_PARAMS = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;

// Algorithm.Argon2id: the package's `const enum` is not importable as a value under every TS setting.
const OPTIONS: Options = { ...ARGON2_PARAMS, algorithm: 2 };

/** A hash that never verifies: spends the same time for an unknown user name as for a known one. */
let dummyHash: Promise<string> | undefined;

export function hashPassword(password: string): Promise<string> {
  return hash(password, OPTIONS);
}

export async function verifyPassword(storedHash: string | undefined, password: string): Promise<boolean> {
  if (storedHash === undefined) {
    dummyHash ??= hashPassword('not a password of anyone');
    await verify(await dummyHash, `${password}\u0000`).catch(() => false);
    return false;
  }
  try {
    return await verify(storedHash, password);
  } catch {
    return false; // a malformed stored hash is a refusal, not a crash
  }
}

/** True when the PHC string was made with other parameters (or another algorithm) than ARGON2_PARAMS. */
export function needsRehash(storedHash: string): boolean {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(storedHash);
  if (!m) return true;
  return (
    Number(m[1]) !== ARGON2_PARAMS.memoryCost ||
    Number(m[2]) !== ARGON2_PARAMS.timeCost ||
    Number(m[3]) !== ARGON2_PARAMS.parallelism
  );
}
