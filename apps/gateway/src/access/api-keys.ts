import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { API_KEY_PATTERN } from '#platform';

/**
 * API keys: `sgk_<keyId>_<secret>`, 96 random bits of key id and 256 of secret. The key id is
 * the lookup prefix (the primary key of `api_keys`); the database keeps a SHA-256 digest of the
 * whole key, never the key.
 *
 * Why SHA-256 and not a password hash (bcrypt, scrypt, argon2): those are slow on purpose, to
 * make guessing a low-entropy password from its hash expensive. A 256-bit random secret cannot be
 * guessed whatever the hash costs, so slowness would buy nothing and would spend milliseconds of
 * CPU on every request. A stolen digest table is as useless as a stolen salted-hash table; the
 * comparison is constant-time.
 */
export interface IssuedApiKey {
  readonly keyId: string;
  /** The whole key: shown to its owner once, never stored. */
  readonly token: string;
  readonly digest: Buffer;
}

export function issueApiKey(): IssuedApiKey {
  const keyId = randomBytes(12).toString('hex').slice(0, 16);
  const token = `sgk_${keyId}_${randomBytes(32).toString('base64url')}`;
  return { keyId, token, digest: digestOf(token) };
}

export function digestOf(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}

/** The key id of a well-formed key, or undefined (a malformed key is not looked up at all). */
export function keyIdOf(token: string): string | undefined {
  return API_KEY_PATTERN.exec(token)?.[1];
}

export function digestMatches(token: string, digest: Buffer): boolean {
  const d = digestOf(token);
  return d.length === digest.length && timingSafeEqual(d, digest);
}
