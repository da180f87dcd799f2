import { describe, expect, it } from '@jest/globals';
import { Effects, Market, type OfferQuote, type OrderSpec } from './market.js';
import { planOrder } from './policy.js';

// 2026-11-26T12:00:00Z, as a number: the core knows no clock, not even in its tests.
const T0 = 1_795_694_400_000;
const MIN = 60_000;
const rules = { amount: (q: bigint, p: bigint) => (q * p) / 1_000_000n, fee: (a: bigint) => a / 50n };

function quote(patch: Partial<OfferQuote> = {}): OfferQuote {
  return {
    providerId: 'acme',
    offerId: 'o1',
    instrument: 'gpu:h100',
    region: 'us-east-1',
    gridZone: 'PJM',
    computeNanoUsd: 2_000_000_000n,
    energyNanoUsd: 0n,
    effectiveNanoUsd: 2_000_000_000n,
    capacityMicro: 10_000_000n,
    tickSeq: 1,
    asOf: T0,
    validUntil: T0 + 120 * MIN,
    attributes: { tier: 'spot', interruptible: false, dataPolicy: 'no-retention' },
    ...patch,
  };
}

function order(jobId: string, patch: Partial<OrderSpec> = {}): OrderSpec {
  return {
    jobId,
    customerId: 'cust',
    instrument: 'gpu:h100',
    quantityMicro: 2_000_000n,
    limitNanoUsd: 3_000_000_000n,
    allowSplit: true,
    constraints: {},
    earliestStart: T0,
    latestStart: T0 + 60 * MIN,
    deadline: T0 + 61 * MIN,
    deferrable: true,
    forecast: [],
    submittedAt: T0,
    ...patch,
  };
}

describe('Market (the matching core)', () => {
  it('matches a job on arrival: pay-as-ask, one allocation, queued then matched', () => {
    const m = new Market(rules);
    const fx = new Effects();
    m.applyQuote(quote(), T0, fx);
    m.submit(order('j1'), T0, fx);
    expect(fx.allocations).toEqual([
      expect.objectContaining({ allocationId: 'j1.1', providerId: 'acme', quantityMicro: 2_000_000n, effectiveNanoUsd: 2_000_000_000n, amountNanoUsd: 4_000_000_000n, feeNanoUsd: 80_000_000n }),
    ]);
    expect(fx.steps.map((s) => [s.stepId, s.type, s.status])).toEqual([
      ['j1.1', 'queued', 'queued'],
      ['j1.2', 'matched', 'matched'],
    ]);
    expect(fx.offers.get('acme\u0000o1')?.allocatedMicro).toBe(2_000_000n);
  });

  it('keeps what was matched off a re-priced quote of the same tick, and trusts a new tick afresh', () => {
    const m = new Market(rules);
    const fx = new Effects();
    m.applyQuote(quote({ capacityMicro: 3_000_000n }), T0, fx);
    m.submit(order('j1'), T0, fx);
    // A tariff change re-prices the same tick: 1 unit is left, not 3.
    m.applyQuote(quote({ capacityMicro: 3_000_000n, asOf: T0 + MIN, effectiveNanoUsd: 1_900_000_000n }), T0 + MIN, fx);
    m.submit(order('j2'), T0 + MIN, fx);
    expect(fx.allocations.filter((a) => a.jobId === 'j2').map((a) => a.quantityMicro)).toEqual([1_000_000n]);
    // The provider's next tick states its free capacity: the rest of j2 fills.
    m.applyQuote(quote({ capacityMicro: 5_000_000n, tickSeq: 2, asOf: T0 + 2 * MIN }), T0 + 2 * MIN, fx);
    expect(fx.allocations.filter((a) => a.jobId === 'j2').map((a) => a.quantityMicro)).toEqual([1_000_000n, 1_000_000n]);
  });

  it('ignores a quote that is not newer than the last (a redelivery)', () => {
    const m = new Market(rules);
    const fx = new Effects();
    m.applyQuote(quote({ asOf: T0 + MIN }), T0, fx);
    const before = new Effects();
    m.applyQuote(quote({ asOf: T0 + MIN, effectiveNanoUsd: 1n }), T0, before);
    m.applyQuote(quote({ asOf: T0, effectiveNanoUsd: 1n }), T0, before);
    expect(before.empty).toBe(true);
  });

  it('defers to a cheaper forecast slot, wakes there, and matches what the book then holds', () => {
    const m = new Market(rules);
    const fx = new Effects();
    m.applyQuote(quote({ effectiveNanoUsd: 3_000_000_000n, validUntil: T0 + 30 * MIN }), T0, fx);
    const forecast = [{ start: T0 + 30 * MIN, end: T0 + 60 * MIN, price: 2_100_000_000n }];
    m.submit(order('j1', { limitNanoUsd: 5_000_000_000n, forecast }), T0, fx);
    expect(fx.steps.at(-1)).toMatchObject({ type: 'deferred', status: 'deferred', until: T0 + 30 * MIN });
    expect(m.nextWakeAt()).toBe(T0 + 30 * MIN);
    m.advance(T0 + 30 * MIN, fx);
    // The old price stopped holding at the slot boundary: the job rests until the new quote.
    expect(fx.allocations).toEqual([]);
    m.applyQuote(quote({ effectiveNanoUsd: 2_100_000_000n, asOf: T0 + 30 * MIN }), T0 + 30 * MIN + 50, fx);
    expect(fx.allocations.map((a) => a.effectiveNanoUsd)).toEqual([2_100_000_000n]);
    expect(fx.steps.map((s) => s.type)).toEqual(['queued', 'deferred', 'queued', 'matched']);
  });

  it('expires what is left at the latest start, and keeps a partly filled job matched', () => {
    const m = new Market(rules);
    const fx = new Effects();
    m.applyQuote(quote({ capacityMicro: 1_000_000n }), T0, fx);
    m.submit(order('j1', { deferrable: false }), T0, fx);
    m.advance(T0 + 60 * MIN, fx);
    expect(fx.steps.map((s) => [s.type, s.status])).toEqual([
      ['queued', 'queued'],
      ['filled', 'queued'],
      ['expired', 'matched'],
    ]);
    expect(m.openOrders).toBe(0);
  });

  it('records a cancel that arrives before its job, so the job is never matched', () => {
    const m = new Market(rules);
    const fx = new Effects();
    m.cancelUnseen(order('j1'), 'cancelled by the customer', T0, fx);
    expect(fx.orders.get('j1')?.status).toBe('cancelled');
    expect(fx.steps).toEqual([expect.objectContaining({ type: 'cancelled', status: 'cancelled' })]);
  });

  it('rebuilt from its records, decides exactly as the book it replaced', () => {
    const live = new Market(rules);
    const fx = new Effects();
    live.applyQuote(quote({ offerId: 'a', effectiveNanoUsd: 2_000_000_000n, capacityMicro: 1_000_000n }), T0, fx);
    live.applyQuote(quote({ offerId: 'b', effectiveNanoUsd: 2_000_000_000n, capacityMicro: 1_000_000n }), T0, fx);
    live.submit(order('rest', { limitNanoUsd: 1_000_000_000n, deferrable: false }), T0, fx);
    const rebuilt = new Market(rules);
    rebuilt.load([...fx.offers.values()], [...fx.orders.values()].filter((o) => o.status === 'open'), T0, new Effects());
    const a = new Effects();
    const b = new Effects();
    for (const [mk, e] of [[live, a], [rebuilt, b]] as const) {
      mk.submit(order('next', { quantityMicro: 1_500_000n, deferrable: false }), T0 + 1, e);
      mk.applyQuote(quote({ offerId: 'c', effectiveNanoUsd: 900_000_000n, capacityMicro: 2_000_000n }), T0 + 2, e);
    }
    expect(b.allocations).toEqual(a.allocations);
    expect(b.steps).toEqual(a.steps);
  });
});

describe('Market.requeue (work a provider did not finish)', () => {
  /** A job filled on acme, whose record is then what the shell would read back from storage. */
  function filledOnAcme() {
    const m = new Market(rules);
    const fx = new Effects();
    m.applyQuote(quote({ effectiveNanoUsd: 1_000_000_000n }), T0, fx);
    m.applyQuote(quote({ providerId: 'beta', offerId: 'b1', effectiveNanoUsd: 1_500_000_000n }), T0, fx);
    m.submit(order('j1'), T0, fx);
    const stored = fx.orders.get('j1');
    if (stored === undefined) throw new Error('no record');
    return { m, stored: { ...stored } };
  }

  it('re-places the remainder on the next-cheapest offer, never on the provider that stopped, with fresh ids', () => {
    const { m, stored } = filledOnAcme();
    expect(stored.status).toBe('filled');
    const fx = new Effects();
    const spec = { jobId: 'j1', allocationId: 'j1.1', remainderMicro: 500_000n, excludeProvider: 'acme', reason: 'preempted' };
    expect(m.requeue(stored, spec, T0 + MIN, fx)).toBe(true);
    expect(fx.allocations).toEqual([expect.objectContaining({ allocationId: 'j1.2', providerId: 'beta', quantityMicro: 500_000n, effectiveNanoUsd: 1_500_000_000n })]);
    expect(fx.steps.map((s) => [s.stepId, s.type, s.status, s.allocationIds])).toEqual([
      ['j1.3', 'requeued', 'queued', ['j1.1']],
      ['j1.4', 'matched', 'matched', ['j1.2']],
    ]);
    const after = fx.orders.get('j1');
    expect(after?.constraints.excludeProviders).toEqual(['acme']);
    expect(after?.requeued).toEqual(['j1.1']);
    expect(after?.filledMicro).toBe(2_000_000n);
    // The same remainder again (a redelivery) changes nothing.
    const again = new Effects();
    expect(m.requeue(after, spec, T0 + 2 * MIN, again)).toBe(false);
    expect(again.steps).toEqual([]);
  });

  it('expires the remainder when nothing else is within the limit, keeping the job matched for what ran', () => {
    const m = new Market(rules);
    const fx = new Effects();
    m.applyQuote(quote({ effectiveNanoUsd: 1_000_000_000n }), T0, fx);
    m.submit(order('j1', { limitNanoUsd: 1_200_000_000n }), T0, fx);
    const stored = fx.orders.get('j1');
    const later = new Effects();
    m.requeue(stored, { jobId: 'j1', allocationId: 'j1.1', remainderMicro: 1_000_000n, excludeProvider: 'acme', reason: 'provider failed' }, T0 + 61 * MIN, later);
    expect(later.allocations).toEqual([]);
    expect(later.steps.map((s) => [s.type, s.status, s.filledMicro])).toEqual([
      ['requeued', 'queued', 1_000_000n],
      ['expired', 'matched', 1_000_000n],
    ]);
  });

  it('gives the remainder the share of the runtime it needs: its latest start moves later', () => {
    const { m, stored } = filledOnAcme();
    const fx = new Effects();
    // Half the work back: it needs half of the 1-minute runtime, so it may start until 30 s before the deadline.
    m.requeue(stored, { jobId: 'j1', allocationId: 'j1.1', remainderMicro: 1_000_000n, excludeProvider: 'acme', reason: 'x' }, T0, fx);
    expect(fx.orders.get('j1')?.latestStart).toBe(T0 + 61 * MIN - 30_000);
  });
});

describe('planOrder (deferral)', () => {
  const w = { earliestStart: T0, latestStart: T0 + 60 * MIN, limit: 5n, deferrable: true, forecast: [{ start: T0 + 30 * MIN, end: T0 + 60 * MIN, price: 2n }] };

  it('waits for a predicted cheaper slot that starts by the latest start', () => {
    expect(planOrder(w, 4n, T0)).toMatchObject({ kind: 'wait', until: T0 + 30 * MIN });
  });

  it('never waits past the latest feasible start', () => {
    expect(planOrder({ ...w, latestStart: T0 + 29 * MIN }, 4n, T0)).toEqual({ kind: 'trade' });
  });

  it('trades now when nothing is on offer (resting beats waiting), when not deferrable, or when the saving is too small', () => {
    expect(planOrder(w, undefined, T0)).toEqual({ kind: 'trade' });
    expect(planOrder({ ...w, deferrable: false }, 4n, T0)).toEqual({ kind: 'trade' });
    expect(planOrder({ ...w, forecast: [{ ...w.forecast[0]!, price: 1_000n }] }, 1_005n, T0)).toEqual({ kind: 'trade' });
  });

  it('waits for the earliest start, and expires once the latest start has passed', () => {
    expect(planOrder({ ...w, earliestStart: T0 + MIN }, 4n, T0)).toMatchObject({ kind: 'wait', until: T0 + MIN });
    expect(planOrder(w, 4n, T0 + 61 * MIN)).toMatchObject({ kind: 'expire' });
  });
});
