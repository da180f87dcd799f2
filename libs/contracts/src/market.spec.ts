import { describe, expect, it } from '@jest/globals';
import { contractOf } from './registry.js';
import { Topic } from './topics.js';
import { spotPriceTickSchema } from './market.js';

export const validTick = {
  providerId: 'acme',
  offerId: 'h100-use1',
  seq: 7,
  instrument: 'gpu:h100',
  region: 'us-east-1',
  gridZone: 'PJM',
  price: '2.4900',
  currency: 'USD',
  energyKwhPerUnit: '0.7',
  energyIncluded: false,
  capacity: '128',
  validFrom: '2026-11-26T10:00:00Z',
  validUntil: '2026-11-26T11:00:00Z',
  attributes: { tier: 'spot', interruptible: true, dataPolicy: 'no-retention', hardware: 'H100-SXM' },
  publishedAt: '2026-11-26T09:59:58Z',
};

describe('market.spot-prices.v1', () => {
  it('accepts a well-formed tick and derives its key and identity', () => {
    const tick = spotPriceTickSchema.parse(validTick);
    const contract = contractOf(Topic.SpotPrices);
    expect(contract.key(tick)).toBe('acme:h100-use1');
    expect(contract.messageId(tick)).toBe('acme:h100-use1:7');
  });

  it.each([
    ['a float price', { price: 2.49 }],
    ['a negative compute price', { price: '-1' }],
    ['an exponent', { price: '1e3' }],
    ['an unknown instrument kind', { instrument: 'tpu:v5' }],
    ['an unknown field', { surprise: true }],
    ['an empty window', { validUntil: '2026-11-26T10:00:00Z' }],
    ['a lower-case currency', { currency: 'usd' }],
    ['a fractional seq', { seq: 1.5 }],
  ])('rejects %s', (_, patch) => {
    expect(spotPriceTickSchema.safeParse({ ...validTick, ...patch }).success).toBe(false);
  });
});
