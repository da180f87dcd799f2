import { randomBytes, randomUUID } from 'node:crypto';
import { feedSecretOf, KEY_ID_HEADER, SIGNATURE_HEADER, signFeed, type SpotPriceTick } from '#contracts';
import { loadConfig } from '#platform';
import { sql } from './db.js';

/** A fresh provider id per test, so suites never see each other's rows on the shared stack. */
export function testProvider(label: string): string {
  return `test-${label}-${randomUUID().slice(0, 8)}`;
}

export interface TestKey {
  readonly keyId: string;
  readonly secret: string;
}

/** Issues a feed key for a provider straight into the test database (what an admin would do). */
export async function feedKey(providerId: string): Promise<TestKey> {
  const keyId = `fktest${randomBytes(6).toString('hex')}`;
  const key = { keyId, secret: feedSecretOf(loadConfig().FEED_SECRETS_KEY, keyId) };
  await sql('INSERT INTO gateway.feed_keys (key_id, provider_id) VALUES ($1, $2)', [key.keyId, providerId]);
  return key;
}

export function tick(providerId: string, seq: number, patch: Partial<SpotPriceTick> = {}): SpotPriceTick {
  const from = new Date(Date.UTC(2026, 10, 26, 10, 0, 0) + seq * 60_000);
  return {
    providerId,
    offerId: 'h100-use1',
    seq,
    instrument: 'gpu:h100',
    region: 'us-east-1',
    gridZone: 'PJM',
    price: `2.${String(seq % 10_000).padStart(4, '0')}`,
    currency: 'USD',
    energyKwhPerUnit: '0.7',
    energyIncluded: false,
    capacity: '64',
    validFrom: from.toISOString(),
    validUntil: new Date(from.getTime() + 3_600_000).toISOString(),
    attributes: { tier: 'spot', interruptible: true, dataPolicy: 'no-retention', hardware: 'H100-SXM' },
    publishedAt: from.toISOString(),
    ...patch,
  };
}

/** The Kafka record of a tick, signed with `key` (or unsigned without one). */
export function asRecord(t: SpotPriceTick, key?: TestKey) {
  const value = Buffer.from(JSON.stringify(t));
  return {
    key: `${t.providerId}:${t.offerId}`,
    value,
    headers: key === undefined ? {} : { [KEY_ID_HEADER]: key.keyId, [SIGNATURE_HEADER]: signFeed(value, key.secret) },
  };
}
