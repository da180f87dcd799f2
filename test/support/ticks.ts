import { randomUUID } from 'node:crypto';
import type { SpotPriceTick } from '#contracts';

/** A fresh provider id per test, so suites never see each other's rows on the shared stack. */
export function testProvider(label: string): string {
  return `test-${label}-${randomUUID().slice(0, 8)}`;
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

export function asRecord(t: SpotPriceTick) {
  return { key: `${t.providerId}:${t.offerId}`, value: JSON.stringify(t) };
}
