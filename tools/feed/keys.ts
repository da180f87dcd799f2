import { randomBytes } from 'node:crypto';
import pg from 'pg';

export interface IssuedKey {
  readonly keyId: string;
  readonly providerId: string;
  readonly secret: string;
}

/**
 * Issues a feed key for a provider: the secret is shown once, to whoever asked. Until the admin API
 * exists (access-control issue), operators and the replay tool issue keys here.
 */
export async function issueFeedKey(databaseUrl: string, providerId: string): Promise<IssuedKey> {
  const key: IssuedKey = {
    keyId: `fk_${randomBytes(9).toString('base64url')}`,
    providerId,
    secret: randomBytes(32).toString('base64url'),
  };
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('INSERT INTO market.feed_keys (key_id, provider_id, secret) VALUES ($1, $2, $3)', [key.keyId, key.providerId, key.secret]);
  } finally {
    await client.end();
  }
  return key;
}

/** Revokes a key: ticks signed with it are refused from the next chunk on. Returns false if unknown. */
export async function revokeFeedKey(databaseUrl: string, keyId: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('UPDATE market.feed_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL', [keyId]);
    return rowCount === 1;
  } finally {
    await client.end();
  }
}
