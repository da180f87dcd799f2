import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { levelKey } from './ladder.js';
import { OrderBook } from './order-book.js';
import { ReferenceBook } from './reference.js';
import type { Ask, Bid, Constraints } from './types.js';

const attributes = { tier: 'spot', interruptible: true, dataPolicy: 'no-retention' } as const;
const ask = (id: string, price: bigint, quantity: bigint, patch: Partial<Ask> = {}): Ask => ({ id, providerId: 'p1', region: 'eu', price, quantity, validUntil: 1_000_000, attributes, ...patch });
const bid = (id: string, quantity: bigint, limit: bigint, patch: Partial<Bid> = {}): Bid => ({ id, quantity, limit, constraints: {}, allowSplit: true, ...patch });

describe('OrderBook', () => {
  it('fills at the ask price, cheapest first, then earliest at the same price', () => {
    const book = new OrderBook('gpu:h100');
    book.upsertAsk(ask('a', 30n, 5n), 0);
    book.upsertAsk(ask('b', 20n, 5n), 0);
    book.upsertAsk(ask('c', 20n, 5n), 0);
    const { fills, remaining } = book.submitBid(bid('j', 12n, 25n), 0);
    expect(fills.map((f) => [f.askId, f.price, f.quantity])).toEqual([['b', 20n, 5n], ['c', 20n, 5n]]);
    expect(remaining).toBe(2n); // a at 30 is above the limit
    expect(book.restingQuantity('j')).toBe(2n);
  });

  it('fills all-or-none bids completely or not at all', () => {
    const book = new OrderBook('gpu:h100');
    book.upsertAsk(ask('a', 10n, 5n), 0);
    expect(book.submitBid(bid('j', 6n, 10n, { allowSplit: false }), 0)).toEqual({ fills: [], remaining: 6n });
    // One more unit arrives: the resting bid now fills whole, across both asks.
    const fills = book.upsertAsk(ask('b', 9n, 1n, { providerId: 'p2' }), 0);
    expect(fills.map((f) => [f.askId, f.quantity])).toEqual([['b', 1n], ['a', 5n]]);
    expect(book.restingQuantity('j')).toBeUndefined();
  });

  it('re-matches a resting bid when a cheaper ask arrives, never above its limit', () => {
    const book = new OrderBook('gpu:h100');
    book.upsertAsk(ask('a', 50n, 5n), 0);
    expect(book.submitBid(bid('j', 3n, 40n), 0).fills).toEqual([]);
    expect(book.upsertAsk(ask('a', 45n, 5n), 0)).toEqual([]); // better, still above 40
    expect(book.upsertAsk(ask('a', 40n, 5n), 0).map((f) => [f.price, f.quantity])).toEqual([[40n, 3n]]);
  });

  it('keeps time priority when only the quantity falls, and loses it otherwise', () => {
    const book = new OrderBook('gpu:h100');
    book.upsertAsk(ask('a', 10n, 5n), 0);
    book.upsertAsk(ask('b', 10n, 5n), 0);
    book.upsertAsk(ask('a', 10n, 4n), 0); // smaller: stays first
    expect(book.submitBid(bid('j1', 1n, 10n), 0).fills[0]?.askId).toBe('a');
    book.upsertAsk(ask('a', 10n, 9n), 0); // larger: to the back
    expect(book.submitBid(bid('j2', 1n, 10n), 0).fills[0]?.askId).toBe('b');
  });

  it('matches a replacement kept in place by its new expiry and provider', () => {
    // Matching without constraints reads these from the resting node, not the order (decision 0006).
    const book = new OrderBook('gpu:h100');
    book.upsertAsk(ask('a', 10n, 5n, { validUntil: 1_000 }), 0);
    book.upsertAsk(ask('a', 10n, 4n, { validUntil: 50 }), 0); // smaller: same place, shorter life
    expect(book.submitBid(bid('j1', 1n, 10n), 50)).toEqual({ fills: [], remaining: 1n });
    const other = new OrderBook('gpu:h100');
    other.upsertAsk(ask('b', 10n, 5n), 0);
    other.upsertAsk(ask('b', 10n, 3n, { providerId: 'p9' }), 0);
    expect(other.submitBid(bid('j2', 1n, 10n), 50).fills.map((f) => [f.askId, f.providerId, f.region])).toEqual([['b', 'p9', 'eu']]);
  });

  it('honours region, provider and attribute constraints, and expiry', () => {
    const book = new OrderBook('gpu:h100');
    book.upsertAsk(ask('cheap-us', 5n, 10n, { region: 'us' }), 0);
    book.upsertAsk(ask('eu-p2', 7n, 10n, { providerId: 'p2' }), 0);
    book.upsertAsk(ask('eu-train', 6n, 10n, { attributes: { ...attributes, dataPolicy: 'training-allowed' } }), 0);
    book.upsertAsk(ask('eu-stale', 1n, 10n, { validUntil: 100 }), 0);
    const c: Constraints = { regions: ['eu'], excludeProviders: ['p2'], dataPolicies: ['no-retention'] };
    expect(book.submitBid(bid('j', 1n, 100n, { constraints: c }), 100, false)).toEqual({ fills: [], remaining: 1n });
    expect(book.submitBid(bid('k', 1n, 100n, { constraints: { regions: ['eu'] } }), 100).fills[0]?.askId).toBe('eu-train');
  });

  it('cancels by id, asks and bids', () => {
    const book = new OrderBook('gpu:h100');
    book.upsertAsk(ask('a', 10n, 5n), 0);
    expect(book.cancelAsk('a')).toBe(true);
    expect(book.cancelAsk('a')).toBe(false);
    book.submitBid(bid('j', 1n, 5n), 0);
    expect(book.cancelBid('j')).toBe(true);
    expect(book.upsertAsk(ask('b', 5n, 5n), 0)).toEqual([]);
  });

  describe('against the naive reference', () => {
    const ids = ['a1', 'a2', 'a3', 'a4', 'a5', 'a6'];
    const op = fc.oneof(
      { weight: 5, arbitrary: fc.record({ kind: fc.constant('ask' as const), id: fc.constantFrom(...ids), provider: fc.constantFrom('p1', 'p2', 'p3'), region: fc.constantFrom('eu', 'us', 'ap'), price: fc.bigInt({ min: 1n, max: 12n }), quantity: fc.bigInt({ min: 0n, max: 8n }), ttl: fc.constantFrom(5, 1_000), policy: fc.constantFrom('no-retention', 'training-allowed') as fc.Arbitrary<'no-retention' | 'training-allowed'>, interruptible: fc.boolean() }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel-ask' as const), id: fc.constantFrom(...ids) }) },
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('bid' as const), quantity: fc.bigInt({ min: 1n, max: 15n }), limit: fc.bigInt({ min: 1n, max: 12n }), split: fc.boolean(), rest: fc.boolean(), regions: fc.option(fc.subarray(['eu', 'us', 'ap'], { minLength: 1 }), { nil: undefined }), excludeProviders: fc.option(fc.subarray(['p1', 'p2', 'p3']), { nil: undefined }), interruptible: fc.option(fc.boolean(), { nil: undefined }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel-bid' as const), n: fc.nat(30) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('tick' as const), by: fc.integer({ min: 1, max: 4 }) }) },
    );

    it('gives the same fills for any sequence of operations, and keeps every invariant', () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 80 }), (ops) => {
          const book = new OrderBook('gpu:x');
          const ref = new ReferenceBook();
          const bids: Bid[] = [];
          const filledOf = new Map<string, bigint>();
          let now = 0;
          for (const o of ops) {
            switch (o.kind) {
              case 'ask': {
                const a = ask(o.id, o.price, o.quantity, { providerId: o.provider, region: o.region, validUntil: now + o.ttl, attributes: { tier: 'spot', interruptible: o.interruptible, dataPolicy: o.policy } });
                const got = book.upsertAsk(a, now);
                expect(got).toEqual(ref.upsertAsk(a, now));
                for (const f of got) filledOf.set(f.bidId, (filledOf.get(f.bidId) ?? 0n) + f.quantity);
                break;
              }
              case 'cancel-ask':
                expect(book.cancelAsk(o.id)).toBe(ref.cancelAsk(o.id));
                break;
              case 'bid': {
                const b = bid(`b${bids.length}`, o.quantity, o.limit, { allowSplit: o.split, constraints: { regions: o.regions, excludeProviders: o.excludeProviders, interruptible: o.interruptible } });
                bids.push(b);
                const got = book.submitBid(b, now, o.rest);
                expect(got).toEqual(ref.submitBid(b, now, o.rest));
                for (const f of got.fills) filledOf.set(f.bidId, (filledOf.get(f.bidId) ?? 0n) + f.quantity);
                break;
              }
              case 'cancel-bid': {
                const b = bids[o.n % Math.max(1, bids.length)];
                if (b !== undefined) expect(book.cancelBid(b.id)).toBe(ref.cancelBid(b.id));
                break;
              }
              case 'tick':
                now += o.by;
                break;
            }
          }
          for (const b of bids) {
            const filled = filledOf.get(b.id) ?? 0n;
            const resting = book.restingQuantity(b.id);
            expect(resting).toBe(ref.restingQuantity(b.id));
            // Every unit accounted for: filled + resting never exceeds the order.
            expect(filled + (resting ?? 0n) <= b.quantity).toBe(true);
            if (!b.allowSplit) expect(filled === 0n || filled === b.quantity).toBe(true);
          }
        }),
        { numRuns: 400 },
      );
    });

    it('never fills above a limit, and pays the ask price', () => {
      fc.assert(
        fc.property(fc.array(fc.tuple(fc.bigInt({ min: 1n, max: 50n }), fc.bigInt({ min: 1n, max: 5n })), { maxLength: 30 }), fc.bigInt({ min: 1n, max: 50n }), (asks, limit) => {
          const book = new OrderBook('gpu:x');
          asks.forEach(([p, q], i) => book.upsertAsk(ask(`a${i}`, p, q), 0));
          const { fills } = book.submitBid(bid('j', 40n, limit), 0);
          for (const f of fills) {
            expect(f.price <= limit).toBe(true);
            expect(f.price).toBe(asks[Number(f.askId.slice(1))]?.[0]);
          }
        }),
      );
    });
  });
});

describe('level keys', () => {
  it('are exact prices below 2^53 nano-USD, and one top level above (time priority among "no limit" bids)', () => {
    expect(levelKey(2_148_000_000n)).toBe(2_148_000_000);
    expect(levelKey(2n ** 53n - 1n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(levelKey(2n ** 62n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(levelKey(2n ** 53n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(levelKey(2n ** 53n + 1n)).toBe(Number.MAX_SAFE_INTEGER);
    expect(levelKey(-(2n ** 53n) - 1n)).toBe(-Number.MAX_SAFE_INTEGER);
    expect(levelKey(-(2n ** 62n))).toBe(-Number.MAX_SAFE_INTEGER);
  });
});
