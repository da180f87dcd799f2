import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { feedSecretOf } from '#contracts';

export interface IssuedKey {
  readonly keyId: string;
  readonly providerId: string;
  readonly secret: string;
}

/**
 * Issues a feed key for a provider straight into the database, for the replay tool on the local
 * stack (the admin API, `POST /v1/admin/providers/:id/feed-keys`, is the way for everyone else).
 * The secret is derived from the key id with FEED_SECRETS_KEY; nothing secret is stored.
 */
export async function issueFeedKey(databaseUrl: string, feedSecretsKey: string, providerId: string): Promise<IssuedKey> {
  const keyId = `fk${randomBytes(9).toString('hex')}`;
  const key: IssuedKey = { keyId, providerId, secret: feedSecretOf(feedSecretsKey, keyId) };
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    await client.query('INSERT INTO gateway.feed_keys (key_id, provider_id) VALUES ($1, $2)', [key.keyId, key.providerId]);
  } finally {
    await client.end();
  }
  return key;
}
