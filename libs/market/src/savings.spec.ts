import type { SnapshotOffer } from './snapshot.js';
import { baselinesOf, savingsOf } from './savings.js';

const offer = (id: string, ask: { effective: bigint; compute: bigint; priority: number; available?: bigint; validUntil?: number } | undefined): SnapshotOffer => ({
  providerId: `p-${id}`,
  offerId: id,
  instrument: 'gpu:h100',
  region: 'us-east-1',
  gridZone: 'PJM',
  validUntil: 10_000,
  attributes: { tier: 'spot', interruptible: false, dataPolicy: 'no-retention' },
  price: '1',
  currency: 'USD',
  energyKwhPerUnit: '0.7',
  energyIncluded: false,
  ask:
    ask === undefined
      ? undefined
      : { effectiveNanoUsd: ask.effective, computeNanoUsd: ask.compute, priority: ask.priority, availableMicro: ask.available ?? 1_000_000n, validUntil: ask.validUntil ?? 10_000 },
});

describe('savings baselines', () => {
  it('takes the oldest ask as first-listed and the lowest compute price as cheapest ignoring energy, each at its effective price', () => {
    const offers = [
      offer('late-cheap-compute', { effective: 2_600_000_000n, compute: 1_900_000_000n, priority: 7 }),
      offer('first', { effective: 3_000_000_000n, compute: 2_900_000_000n, priority: 2 }),
      offer('best-effective', { effective: 2_200_000_000n, compute: 2_000_000_000n, priority: 5 }),
      offer('no-ask', undefined),
      offer('sold-out', { effective: 1n, compute: 1n, priority: 1, available: 0n }),
      offer('expired', { effective: 1n, compute: 1n, priority: 0, validUntil: 500 }),
    ];
    expect(baselinesOf(offers, 1_000)).toEqual({ firstListedNanoUsd: 3_000_000_000n, cheapestIgnoringEnergyNanoUsd: 2_600_000_000n });
    expect(baselinesOf([], 1_000)).toEqual({ firstListedNanoUsd: undefined, cheapestIgnoringEnergyNanoUsd: undefined });
  });

  it('prices the filled quantity at each baseline and says what was saved (negative when the job paid more)', () => {
    // 2.5 units filled for $5.50; first-listed at $3.00/unit = $7.50, cheapest-compute at $2.00/unit = $5.00.
    const s = savingsOf(2_500_000n, 5_500_000_000n, { firstListedNanoUsd: 3_000_000_000n, cheapestIgnoringEnergyNanoUsd: 2_000_000_000n });
    expect(s).toEqual({
      paidNanoUsd: 5_500_000_000n,
      firstListedNanoUsd: 7_500_000_000n,
      cheapestIgnoringEnergyNanoUsd: 5_000_000_000n,
      savedVsFirstListedNanoUsd: 2_000_000_000n,
      savedVsCheapestIgnoringEnergyNanoUsd: -500_000_000n,
    });
    expect(savingsOf(1_000_000n, 1n, { firstListedNanoUsd: undefined, cheapestIgnoringEnergyNanoUsd: undefined }).savedVsFirstListedNanoUsd).toBeUndefined();
  });
});
