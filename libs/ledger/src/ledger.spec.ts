import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Accounts, assertBalanced, creditBalance, reversalOf, USD, type LedgerTransaction, type Line } from './journal.js';
import { availableBalance, expireStale, HoldResolvedError, settle, voidHold, type Hold } from './holds.js';
import { invoiceLines, nextPeriod, roundInvoice, roundingTransaction, toMinor } from './invoice.js';
import { topUpTransaction, usageAmounts, usageBatchTransaction, usageTransaction, type UsageCharge } from './postings.js';

const charge = (patch: Partial<UsageCharge> = {}): UsageCharge => ({
  usageId: 'u1',
  allocationId: 'a1',
  jobId: 'j1',
  customerId: 'acme',
  providerId: 'gpu-co',
  consumed: { kind: 'gpu-seconds', seconds: 5_400n },
  computeNanoUsd: 2_000_000_000n,
  energyNanoUsd: 100_000_000n,
  feeBps: 200,
  ...patch,
});

/** A naive reference: exact rationals compared by cross-multiplication, rounded half-even. */
function referenceRound(num: bigint, den: bigint): bigint {
  const neg = num < 0n;
  const n = neg ? -num : num;
  let q = n / den;
  const twice = 2n * (n - q * den);
  if (twice > den || (twice === den && q % 2n === 1n)) q += 1n;
  return neg ? -q : q;
}

describe('usage postings', () => {
  it('debits the customer compute, energy and fee, credits the provider and the platform, and sums to zero', () => {
    // 1.5 GPU-hours × $2.00 = $3.00; × $0.10 energy = $0.15; 2% fee on $3.15 = $0.063.
    const tx = usageTransaction(charge());
    expect(tx.lines).toEqual([
      { account: 'customer:acme', asset: USD, amount: 3_000_000_000n, kind: 'compute' },
      { account: 'customer:acme', asset: USD, amount: 150_000_000n, kind: 'energy' },
      { account: 'customer:acme', asset: USD, amount: 63_000_000n, kind: 'fee' },
      { account: 'provider:gpu-co', asset: USD, amount: -3_000_000_000n, kind: 'compute' },
      { account: 'provider:gpu-co', asset: USD, amount: -150_000_000n, kind: 'energy' },
      { account: Accounts.fees, asset: USD, amount: -63_000_000n, kind: 'fee' },
    ]);
    expect(tx.refs).toMatchObject({ jobId: 'j1', allocationId: 'a1', usageId: 'u1' });
  });

  it('prices tokens per million, and a negative energy price as a credit', () => {
    const a = usageAmounts(charge({ consumed: { kind: 'tokens', tokens: 250_000n }, computeNanoUsd: 600_000_000n, energyNanoUsd: -4_000_000n }));
    expect(a).toEqual({ compute: 150_000_000n, energy: -1_000_000n, fee: 2_980_000n });
  });

  it('posts usage that comes to nothing as its two compute lines at zero, so it still has a transaction', () => {
    expect(usageTransaction(charge({ consumed: { kind: 'gpu-seconds', seconds: 0n } })).lines).toEqual([
      { account: 'customer:acme', asset: USD, amount: 0n, kind: 'compute' },
      { account: 'provider:gpu-co', asset: USD, amount: 0n, kind: 'compute' },
    ]);
  });

  it('refuses an unbalanced transaction', () => {
    const bad: LedgerTransaction = { key: 'x', kind: 'grant', refs: {}, lines: [{ account: 'a', asset: USD, amount: 1n, kind: 'grant' }] };
    expect(() => assertBalanced(bad)).toThrow(/does not balance/);
  });

  it('property: any stream of usage, with duplicates and in any order, gives the reference balances, every transaction zero-sum', () => {
    const usage = fc.record({
      id: fc.integer({ min: 1, max: 40 }),
      customer: fc.constantFrom('c1', 'c2', 'c3'),
      provider: fc.constantFrom('p1', 'p2'),
      seconds: fc.bigInt({ min: 0n, max: 10_000_000n }),
      compute: fc.bigInt({ min: 0n, max: 50_000_000_000n }),
      energy: fc.bigInt({ min: -1_000_000_000n, max: 1_000_000_000n }),
    });
    fc.assert(
      fc.property(fc.array(usage, { maxLength: 60 }), fc.array(fc.nat(), { maxLength: 30 }), (events, dupIdx) => {
        // Usage ids identify an event: one body per id (the first), as a producer would send it.
        const byId = new Map<number, (typeof events)[number]>();
        for (const e of events) if (!byId.has(e.id)) byId.set(e.id, e);
        const unique = [...byId.values()];
        const stream = [...unique, ...dupIdx.flatMap((i) => (unique.length === 0 ? [] : [unique[i % unique.length]!]))].reverse();
        const applied = new Set<string>();
        const lines: Line[] = [];
        for (const e of stream) {
          const tx = usageTransaction(charge({ usageId: String(e.id), customerId: e.customer, providerId: e.provider, consumed: { kind: 'gpu-seconds', seconds: e.seconds }, computeNanoUsd: e.compute, energyNanoUsd: e.energy }));
          expect(tx.lines.reduce((s, l) => s + l.amount, 0n)).toBe(0n);
          if (applied.has(tx.key)) continue;
          applied.add(tx.key);
          lines.push(...tx.lines);
        }
        for (const c of ['c1', 'c2', 'c3']) {
          let expected = 0n;
          for (const e of unique.filter((u) => u.customer === c)) {
            const compute = referenceRound(e.seconds * e.compute, 3_600n);
            const energy = referenceRound(e.seconds * e.energy, 3_600n);
            const fee = compute + energy <= 0n ? 0n : referenceRound((compute + energy) * 200n, 10_000n);
            expected -= compute + energy + fee;
          }
          expect(creditBalance(lines, Accounts.customer(c))).toBe(expected);
        }
        expect(lines.reduce((s, l) => s + l.amount, 0n)).toBe(0n);
      }),
      { numRuns: 300 },
    );
  });

  it('property: a batch of one allocation\'s usage posts, per account and kind, exactly the sum of each event posted alone', () => {
    const event = fc.record({
      seconds: fc.bigInt({ min: 0n, max: 10_000_000n }),
      tokens: fc.bigInt({ min: 0n, max: 10_000_000n }),
      gpu: fc.boolean(),
    });
    const sums = (lines: readonly Line[]) => {
      const m = new Map<string, bigint>();
      for (const l of lines) m.set(`${l.account}|${l.kind}`, (m.get(`${l.account}|${l.kind}`) ?? 0n) + l.amount);
      return new Map([...m].filter(([, v]) => v !== 0n));
    };
    fc.assert(
      fc.property(
        fc.array(event, { minLength: 1, maxLength: 40 }),
        fc.bigInt({ min: 0n, max: 50_000_000_000n }),
        fc.bigInt({ min: -1_000_000_000n, max: 1_000_000_000n }),
        (events, compute, energy) => {
          const charges = events.map((e, i) =>
            charge({ usageId: `a1:${i}`, consumed: e.gpu ? { kind: 'gpu-seconds', seconds: e.seconds } : { kind: 'tokens', tokens: e.tokens }, computeNanoUsd: compute, energyNanoUsd: energy }),
          );
          const batch = usageBatchTransaction(charges);
          assertBalanced(batch);
          expect(sums(batch.lines)).toEqual(sums(charges.flatMap((c) => usageTransaction(c).lines)));
          expect(batch.refs).toMatchObject({ allocationId: 'a1', jobId: 'j1', customerId: 'acme', providerId: 'gpu-co' });
          expect(batch.key).toBe(charges.length === 1 ? 'usage:a1:0' : `usage:a1:0+${charges.length - 1}`);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('a batch is one allocation\'s: usage of another is refused', () => {
    expect(() => usageBatchTransaction([charge(), charge({ usageId: 'u2', allocationId: 'a2' })])).toThrow(/not of allocation a1/);
    expect(() => usageBatchTransaction([])).toThrow(/at least one/);
  });

  it('a reversal cancels its transaction line by line, once', () => {
    const tx = usageTransaction(charge());
    const rev = reversalOf(tx);
    expect(rev).toMatchObject({ key: 'reversal:usage:u1', reverses: 'usage:u1', kind: 'reversal' });
    const lines = [...tx.lines, ...rev.lines];
    for (const account of new Set(lines.map((l) => l.account))) expect(creditBalance(lines, account)).toBe(0n);
    expect(() => reversalOf(rev)).toThrow(/reverse the original/);
  });
});

describe('holds', () => {
  const hold: Hold = { holdId: 'h1', customerId: 'acme', amountNanoUsd: 1_000n, status: 'open', placedAt: 0, capturedNanoUsd: 0n };

  it('settles once: releases what usage did not take, reports what it exceeded', () => {
    expect(settle(hold, 700n)).toMatchObject({ released: 300n, excess: 0n, hold: { status: 'settled', capturedNanoUsd: 700n } });
    expect(settle(hold, 1_200n)).toMatchObject({ released: 0n, excess: 200n });
    expect(() => settle(settle(hold, 1n).hold, 1n)).toThrow(HoldResolvedError);
    expect(() => voidHold(voidHold(hold))).toThrow(HoldResolvedError);
  });

  it('expires stale open holds only, and counts open holds against the available balance', () => {
    const holds = [hold, { ...hold, holdId: 'h2', placedAt: 10 }, { ...hold, holdId: 'h3', status: 'settled' as const }];
    const later = expireStale(holds, 5, 5);
    expect(later.map((h) => h.status)).toEqual(['expired', 'open', 'settled']);
    expect(availableBalance(5_000n, 1_000n, later)).toBe(5_000n);
  });
});

describe('invoices', () => {
  it('rounds each line half-even to cents; the total is the sum of the lines; the rest goes to rounding', () => {
    const inv = roundInvoice([
      { description: 'compute', amountNanoUsd: 1_005_000_000n, priorPeriod: false }, // $1.005 → $1.00
      { description: 'energy', amountNanoUsd: 15_000_000n, priorPeriod: false }, // $0.015 → $0.02
      { description: 'late usage', amountNanoUsd: 4_999_999n, priorPeriod: true }, // → $0.00
    ]);
    expect(inv.lines.map((l) => l.amountMinor)).toEqual([100n, 2n, 0n]);
    expect(inv.totalMinor).toBe(102n);
    expect(inv.roundingNanoUsd).toBe(1_024_999_999n - 1_020_000_000n);
    const tx = roundingTransaction('inv-1', 'acme', inv);
    expect(tx?.lines.reduce((s, l) => s + l.amount, 0n)).toBe(0n);
  });

  it('property: total = sum of rounded lines, and the rounding is at most half a cent per line', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }), { maxLength: 30 }), (amounts) => {
        const inv = roundInvoice(amounts.map((a) => ({ description: 'x', amountNanoUsd: a, priorPeriod: false })));
        expect(inv.totalMinor).toBe(amounts.reduce((s, a) => s + toMinor(a), 0n));
        const bound = 5_000_000n * BigInt(amounts.length);
        expect(inv.roundingNanoUsd <= bound && inv.roundingNanoUsd >= -bound).toBe(true);
      }),
    );
  });

  it('top-ups credit the customer against funding', () => {
    const tx = topUpTransaction('t1', 'acme', 50n);
    expect(creditBalance(tx.lines, Accounts.customer('acme'))).toBe(50n);
    expect(() => topUpTransaction('t2', 'acme', 0n)).toThrow();
  });
});

describe('invoice lines', () => {
  it('lists this period first, then late usage marked with its month, each by job and kind, without zero lines', () => {
    const lines = invoiceLines('2026-12-01', [
      { jobId: 'j2', kind: 'fee', usagePeriod: '2026-12-01', amountNanoUsd: 5n },
      { jobId: 'j1', kind: 'compute', usagePeriod: '2026-11-01', amountNanoUsd: 7n },
      { jobId: 'j2', kind: 'compute', usagePeriod: '2026-12-01', amountNanoUsd: 9n },
      { jobId: 'j3', kind: 'energy', usagePeriod: '2026-12-01', amountNanoUsd: 0n },
    ]);
    expect(lines.map((l) => [l.jobId, l.kind, l.priorPeriod])).toEqual([
      ['j2', 'compute', false],
      ['j2', 'fee', false],
      ['j1', 'compute', true],
    ]);
    expect(lines[2]?.description).toBe('Compute, job j1 (used in 2026-11)');
  });

  it('steps to the next month, across the year', () => {
    expect(nextPeriod('2026-11-01')).toBe('2026-12-01');
    expect(nextPeriod('2026-12-01')).toBe('2027-01-01');
  });
});
