import { describe, expect, it } from '@jest/globals';
import type { UsageMetered } from '#contracts';
import { payloadHash } from './usage-posting.js';

describe('payloadHash', () => {
  const usage: UsageMetered = {
    usageId: 'u-1',
    allocationId: 'a-1',
    jobId: '2f1c3a4e-8b5d-4c6e-9f70-1a2b3c4d5e6f',
    customerId: 'acme',
    providerId: 'prov',
    instrument: 'gpu:h100',
    inputTokens: null,
    outputTokens: null,
    gpuSeconds: '3600',
    energyKwh: null,
    startedAt: '2026-11-27T10:00:00.000Z',
    endedAt: '2026-11-27T11:00:00.000Z',
  };

  it('is the same for the same event with its fields in another order (as a jsonb column gives them back)', () => {
    const reordered = Object.fromEntries(Object.entries(usage).reverse()) as UsageMetered;
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(usage));
    expect(payloadHash(reordered)).toBe(payloadHash(usage));
  });

  it('differs when any field says something else', () => {
    for (const [field, value] of [
      ['gpuSeconds', '3601'],
      ['energyKwh', '1.5'],
      ['endedAt', '2026-11-27T11:00:01.000Z'],
    ] as const) {
      expect(payloadHash({ ...usage, [field]: value })).not.toBe(payloadHash(usage));
    }
  });
});
