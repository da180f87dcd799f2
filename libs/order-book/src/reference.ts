import { eligible } from './order-book.js';
import type { Ask, Bid, Fill, MatchResult } from './types.js';

interface RefAsk {
  ask: Ask;
  remaining: bigint;
  seq: number;
}

interface RefBid {
  bid: Bid;
  remaining: bigint;
  seq: number;
}

const byPriceTime = (a: RefAsk, b: RefAsk) => (a.ask.price < b.ask.price ? -1 : a.ask.price > b.ask.price ? 1 : a.seq - b.seq);
const byLimitTime = (a: RefBid, b: RefBid) => (a.bid.limit > b.bid.limit ? -1 : a.bid.limit < b.bid.limit ? 1 : a.seq - b.seq);

/**
 * The order book's rules, written as plainly as possible: arrays, filtered and sorted on every
 * call. Slow on purpose; the property tests hold the real book to it.
 */
export class ReferenceBook {
  private asks: RefAsk[] = [];
  private bids: RefBid[] = [];
  private seq = 0;

  upsertAsk(ask: Ask, now: number): Fill[] {
    const existing = this.asks.find((a) => a.ask.id === ask.id);
    if (existing !== undefined) {
      if (existing.ask.price === ask.price && existing.ask.region === ask.region && ask.quantity <= existing.remaining && ask.quantity > 0n) {
        existing.ask = ask;
        existing.remaining = ask.quantity;
        return [];
      }
      this.asks = this.asks.filter((a) => a !== existing);
    }
    if (ask.quantity <= 0n) return [];
    this.asks.push({ ask, remaining: ask.quantity, seq: (this.seq += 1) });
    const fills: Fill[] = [];
    for (const b of [...this.bids].sort(byLimitTime)) {
      if (b.bid.limit < ask.price) break;
      const got = this.match(b.bid, b.remaining, now);
      for (const f of got) b.remaining -= f.quantity;
      fills.push(...got);
    }
    this.bids = this.bids.filter((b) => b.remaining > 0n);
    return fills;
  }

  cancelAsk(id: string): boolean {
    const before = this.asks.length;
    this.asks = this.asks.filter((a) => a.ask.id !== id);
    return this.asks.length < before;
  }

  submitBid(bid: Bid, now: number, rest = true): MatchResult {
    const fills = this.match(bid, bid.quantity, now);
    const remaining = bid.quantity - fills.reduce((s, f) => s + f.quantity, 0n);
    if (remaining > 0n && rest) this.bids.push({ bid, remaining, seq: (this.seq += 1) });
    return { fills, remaining };
  }

  cancelBid(id: string): boolean {
    const before = this.bids.length;
    this.bids = this.bids.filter((b) => b.bid.id !== id);
    return this.bids.length < before;
  }

  restingQuantity(id: string): bigint | undefined {
    return this.bids.find((b) => b.bid.id === id)?.remaining;
  }

  private match(bid: Bid, quantity: bigint, now: number): Fill[] {
    const candidates = this.asks.filter((a) => a.ask.price <= bid.limit && eligible(a.ask, bid.constraints, now)).sort(byPriceTime);
    const available = candidates.reduce((s, a) => s + a.remaining, 0n);
    if (!bid.allowSplit && available < quantity) return [];
    const fills: Fill[] = [];
    let remaining = quantity;
    for (const a of candidates) {
      if (remaining === 0n) break;
      const take = a.remaining < remaining ? a.remaining : remaining;
      fills.push({ bidId: bid.id, askId: a.ask.id, providerId: a.ask.providerId, region: a.ask.region, price: a.ask.price, quantity: take });
      a.remaining -= take;
      remaining -= take;
    }
    this.asks = this.asks.filter((a) => a.remaining > 0n);
    return fills;
  }
}
