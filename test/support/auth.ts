import { issueApiKey } from '../../apps/gateway/src/access/api-keys.js';
import { loadConfig } from '#platform';
import type { Role } from '#runtime';
import { sql } from './db.js';

export type AuthHeaders = { readonly authorization: string };

const issued = new Map<string, Promise<AuthHeaders>>();

/**
 * The Authorization header of a principal with this role and id, made straight in the test
 * database the first time it is asked for (what an admin does through `POST /v1/admin/principals`,
 * which the access suite exercises itself).
 */
export function auth(role: Role, id: string): Promise<AuthHeaders> {
  const cacheKey = `${role}/${id}`;
  let headers = issued.get(cacheKey);
  if (headers === undefined) {
    headers = (async () => {
      await sql(`INSERT INTO gateway.principals (principal_id, role, name) VALUES ($1, $2, $1) ON CONFLICT DO NOTHING`, [id, role]);
      const key = issueApiKey();
      await sql(`INSERT INTO gateway.api_keys (key_id, principal_id, digest, label) VALUES ($1, $2, $3, 'test')`, [key.keyId, id, key.digest]);
      return { authorization: `Bearer ${key.token}` };
    })();
    issued.set(cacheKey, headers);
  }
  return headers;
}

/** What Spotgrid services present to each other's internal routes (billing's funds and holds). */
export function serviceAuth(): AuthHeaders {
  return { authorization: `Bearer ${loadConfig().SERVICE_TOKEN}` };
}
